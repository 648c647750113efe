"""12-factor configuration: every setting comes from a RECIPROCAL_* environment variable."""

import os
import socket
from datetime import datetime

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECIPROCAL_", extra="ignore")

    service: str = Field(default="", description="Set by the service itself, not by the environment.")
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_db: str = ""
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    log_level: str = "INFO"
    max_attempts: int = Field(default=5, ge=1, description="Tries per message before it goes to the DLQ.")
    retry_initial_s: float = 0.5
    outbox_poll_s: float = 0.5
    partitions: int = Field(default=3, ge=1, description="Partitions for topics this service creates.")

    consumer_group: str = Field(default="", description="Override the consumer group, e.g. to replay a topic.")
    instance_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        description="Names this replica. A replica restarted under the same id resumes its own unfinished work "
        "at once instead of waiting for its old leases to expire.",
    )
    outbox_lease_s: float = Field(default=10.0, gt=0, description="How long an outbox relay leads without renewing.")
    clock_speed: float = Field(default=1.0, gt=0, description="Virtual seconds per real second (see shared.clock); "
                               "anything but 1 needs RECIPROCAL_EMBEDDED=1.")
    clock_epoch: datetime | None = Field(default=None, description="RFC 3339: where virtual and real time coincide "
                                         "(the embedded stack's start). Required when clock_speed is not 1.")
    embedded: bool = Field(default=False, description="Set by the embedded stack; allows an accelerated clock.")

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"reciprocal-{self.service}"

    @property
    def database(self) -> str:
        return self.mongo_db or f"reciprocal_{self.service}"
