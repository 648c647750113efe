"""What a profile may contain: every content rule and size limit, as pydantic constraints.

A submitted profile is described by two models:

- the wire model `ProfileSubmitted` (events.py) checks only the shape (JSON types, the tenant and
  the person). It is what the profiles service parses off Kafka, so that bad *content* is
  answered with `profiles.rejected` rather than dead-lettered;
- `ProfileContent` (here) holds the rules. The profiles service validates every submission with
  it and turns its `ValidationError` into the rejection. The JSON Schema and AsyncAPI entry of
  `profiles.submitted` are this model's (`ProfileSubmission`), so a frontend sees every limit.

Cross-field rules are field validators raising `PydanticCustomError`, whose message is the
plain-English text a person reads; the built-in constraint errors are worded by the profiles
service. Time and zone parsing is `shared.contract.timefmt`'s.
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shared.contract import limits as L
from shared.contract.envelope import Event
from shared.contract.timefmt import HHMM_PATTERN, minutes_of, zone_of

CareerStage = Literal["early", "mid", "senior", "executive"]
MeetingMode = Literal["in_person", "video", "phone", "chat"]
Channel = Literal["email", "webhook", "inbox"]
DEFAULT_MEETING_MODES: tuple[MeetingMode, ...] = ("video",)
DEFAULT_CHANNELS: tuple[Channel, ...] = ("email", "inbox")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

NONBLANK = r"\S"
"""At least one character that is not white space."""
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _known_zone(name: str) -> str:
    if zone_of(name) is None:
        raise PydanticCustomError(
            "unknown_time_zone", "'{zone}' is not a known IANA time zone (for example Europe/London)", {"zone": name}
        )
    return name


RequiredName = Annotated[str, Field(min_length=1, max_length=L.NAME_MAX, pattern=NONBLANK)]
Skill = Annotated[str, Field(min_length=1, max_length=L.SKILL_MAX, pattern=NONBLANK, examples=["social media"])]
Ref = Annotated[str, Field(max_length=L.ID_MAX)]
"""The id of something else: a program, a manager."""
Tag = Annotated[str, Field(max_length=L.LANGUAGE_MAX)]
ClockTime = Annotated[str, Field(pattern=HHMM_PATTERN, description="HH:MM (00:00 to 24:00) in the person's own zone.")]
TimeZone = Annotated[
    str,
    Field(max_length=L.TIMEZONE_MAX, description="IANA time zone, e.g. Europe/London."),
    AfterValidator(_known_zone),
]


class Content(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OfferContent(Content):
    model_config = ConfigDict(title="Offer")

    skill: Skill
    level: int = Field(default=3, ge=L.LEVEL_MIN, le=L.LEVEL_MAX, description="1 (basic) to 5 (expert).")
    note: str | None = Field(default=None, max_length=L.NOTE_MAX)


class WantContent(Content):
    model_config = ConfigDict(title="Want")

    skill: Skill
    goal: str = Field(
        min_length=1, max_length=L.GOAL_MAX, pattern=NONBLANK, examples=["lead my first team meeting"],
        description="The concrete goal this want serves; session agendas are built from it.",
    )
    priority: int = Field(
        default=2, ge=L.PRIORITY_MIN, le=L.PRIORITY_MAX, description="1 (nice to have) to 3 (must have)."
    )

    @field_validator("goal", mode="wrap")
    @classmethod
    def _goal_given(cls, goal: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> str:
        try:
            given: str = handler(goal)
            return given
        except ValidationError as exc:
            if any(e["type"] == "string_too_long" for e in exc.errors()):
                raise
            skill = info.data.get("skill")
            raise PydanticCustomError(
                "goal_missing", "say what you want to achieve with '{skill}'", {"skill": skill or "this skill"}
            ) from None


class WindowContent(Content):
    model_config = ConfigDict(title="Window")

    weekday: Weekday
    start: ClockTime = Field(examples=["09:00"])
    end: ClockTime = Field(examples=["12:30"], description="HH:MM after the start, in the person's own zone.")

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None and minutes_of(end) <= minutes_of(start):
            raise PydanticCustomError("end_not_after_start", "must be after the start ({start})", {"start": start})
        return end


class ProfileContent(Content):
    """What a person tells us about themselves, with every rule a profile must meet."""

    person_id: Annotated[str, Field(min_length=1, max_length=L.ID_MAX)]
    program_ids: list[Ref] = Field(min_length=1, max_length=L.PROGRAMS_MAX)
    display_name: RequiredName
    email: str = Field(max_length=L.EMAIL_MAX, pattern=EMAIL_PATTERN, examples=["ana@example.com"])
    department: RequiredName
    site: str = Field(default="", max_length=L.NAME_MAX)
    timezone: TimeZone = "UTC"
    languages: list[Tag] = Field(default_factory=lambda: ["en"], min_length=1, max_length=L.LANGUAGES_MAX)
    locale: Tag = "en"
    career_stage: CareerStage = "mid"
    manager_id: Ref | None = Field(default=None, description="Not the person themselves.")
    offers: list[OfferContent] = Field(min_length=1, max_length=L.OFFERS_MAX)
    wants: list[WantContent] = Field(min_length=1, max_length=L.WANTS_MAX)
    interests: list[Annotated[str, Field(max_length=L.SKILL_MAX)]] = Field(
        default_factory=list, max_length=L.INTERESTS_MAX
    )
    meeting_modes: list[MeetingMode] = Field(
        default_factory=lambda: list(DEFAULT_MEETING_MODES), min_length=1, max_length=L.MEETING_MODES_MAX
    )
    availability: list[WindowContent] = Field(
        min_length=1, max_length=L.WINDOWS_MAX, description="Weekly windows in the person's own time zone."
    )
    max_partners: int = Field(default=1, ge=L.PARTNERS_MIN, le=L.PARTNERS_MAX)
    channels: list[Channel] = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS), max_length=L.CHANNELS_MAX,
        description="Notification channels the person wants.",
    )
    webhook_url: str | None = Field(
        default=None, max_length=L.URL_MAX, validate_default=True,
        description="Required, as an http(s) URL, when the webhook channel is chosen.",
    )

    @field_validator("manager_id")
    @classmethod
    def _not_own_manager(cls, manager_id: str | None, info: ValidationInfo) -> str | None:
        if manager_id is not None and manager_id == info.data.get("person_id"):
            raise PydanticCustomError("own_manager", "a person cannot be their own manager")
        return manager_id

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_given(cls, url: str | None, info: ValidationInfo) -> str | None:
        if "webhook" in info.data.get("channels", ()) and not (url or "").startswith(("https://", "http://")):
            raise PydanticCustomError(
                "webhook_url_required", "is required, as an http(s) URL, when the webhook channel is chosen"
            )
        return url


class ProfileSubmission(Event, ProfileContent):
    """A frontend submitted (created or replaced) a person's profile: the contract, with every limit.

    A well-formed submission that breaks a rule is answered with `profiles.rejected`."""

    model_config = ConfigDict(title="ProfileSubmitted")
    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.submitted"] = "profiles.submitted"
