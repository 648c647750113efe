from datetime import UTC, datetime
from typing import ClassVar, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.clock import service_now


def utcnow() -> datetime:
    """Now, on the service clock: an event's default `occurred_at`."""
    return service_now()


class Event(BaseModel):
    """The flat envelope every event carries; payload fields sit beside it, at the same level.

    Subclasses declare `event_type` as a Literal of their topic name and set `key_field`,
    the payload field whose value is the Kafka key.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    key_field: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4, description="Unique per event; consumers de-duplicate on it.")
    event_type: str = Field(description="Equal to the topic name.")
    schema_version: int = Field(default=1, ge=1)
    occurred_at: AwareDatetime = Field(default_factory=lambda: utcnow(), description="RFC 3339, UTC.")
    org_id: str = Field(min_length=1, max_length=128, description="The tenant. No data ever crosses tenants.")
    correlation_id: str | None = Field(
        default=None, max_length=128, description="Optional from frontends, propagated downstream."
    )

    @field_validator("occurred_at")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @classmethod
    def topic(cls) -> str:
        return str(cls.model_fields["event_type"].default)

    @property
    def key(self) -> str:
        return str(getattr(self, self.key_field))

    def caused(self, event_cls: "type[E]", **fields: object) -> "E":
        """An event caused by this one: same tenant, same correlation."""
        return event_cls(org_id=self.org_id, correlation_id=self.correlation_id or str(self.event_id), **fields)


E = TypeVar("E", bound=Event)
