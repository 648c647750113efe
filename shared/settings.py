"""12-factor configuration: every setting comes from a RECIPROCAL_* environment variable."""

import os
import socket
from datetime import datetime

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.egress import EgressPolicy
from shared.store import Retention


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
    outbox_lease_s: float = Field(
        default=10.0, gt=0, description="How long an outbox relay's lease lasts; the leader renews it after a third."
    )
    outbox_backoff_max_s: float = Field(
        default=30.0, gt=0, description="Longest wait between relay passes while publishing keeps failing."
    )
    shutdown_grace_s: float = Field(
        default=20.0, gt=0,
        description="Longest graceful stop: a stop still under way after this (its broker or database gone) ends "
        "the process, which is then as if it had crashed (nothing is lost: what it had not published is in its "
        "outbox, what it had not committed is consumed again).",
    )
    outbox_lag_ready_s: float = Field(
        default=60.0, gt=0, description="/readyz fails while the oldest unpublished outbox row is older than this."
    )
    max_message_bytes: int = Field(
        default=512 * 1024, gt=0,
        description="Largest consumed or published message (key, value and headers). A larger consumed message "
        "goes to <topic>.dlq unparsed; a larger outgoing event is moved to outbox_dead.",
    )
    kafka_max_request_bytes: int = Field(
        default=1024 * 1024, gt=0,
        description="The producer's max_request_size; keep it at or below the broker's message.max.bytes.",
    )
    fetch_max_wait_ms: int = Field(
        default=20, ge=0, description="How long the broker may hold a consumer's fetch when nothing is there."
    )
    batch_max_records: int = Field(
        default=200, ge=1, description="Most records a batch handler takes in one transaction."
    )
    batch_max_wait_ms: int = Field(
        default=20, ge=1,
        description="How long a batch consumer's poll waits for records when none are buffered (it never waits to "
        "fill a batch: whatever has arrived is taken at once, and an empty poll is followed by the next at once).",
    )
    batch_linger_ms: int = Field(
        default=100, ge=0, le=5_000,
        description="How long a bulk lane that is behind (it found several records buffered when it asked) lets "
        "the batch grow before handling it: fewer, larger transactions under load. A lane that keeps up takes "
        "each record as it arrives. 0 turns it off.",
    )

    @model_validator(mode="after")
    def _ledger_outlives_the_topics(self) -> "ServiceSettings":
        if self.retention_ledger_days < self.kafka_retention_days:
            raise ValueError("retention_ledger_days must be at least kafka_retention_days: a redelivered event the "
                             "ledger has forgotten would take effect twice")
        return self

    @model_validator(mode="after")
    def _dead_letters_fit(self) -> "ServiceSettings":
        if self.max_message_bytes >= self.kafka_max_request_bytes:
            raise ValueError("max_message_bytes must stay below kafka_max_request_bytes, so dead letters still fit")
        return self
    clock_speed: float = Field(default=1.0, gt=0, description="Virtual seconds per real second (see shared.clock); "
                               "anything but 1 needs RECIPROCAL_EMBEDDED=1.")
    clock_epoch: datetime | None = Field(default=None, description="RFC 3339: where virtual and real time coincide "
                                         "(the embedded stack's start). Required when clock_speed is not 1.")
    embedded: bool = Field(default=False, description="Set by the embedded stack; allows an accelerated clock "
                           "and loopback webhooks.")
    kafka_retention_days: float = Field(
        default=7.0, gt=0, description="How long the Kafka topics keep messages (`retention.ms`); the ledger must "
        "keep processed events at least this long, or a redelivery after it forgot them would act again.",
    )
    program_copy_warm_s: float = Field(
        default=5.0, gt=0,
        description="How often a service pulls its copy of every program's documents that the console's figures "
        "are computed from (`shared.pulled`; the matcher's matches, progress's partnerships), so that no page "
        "waits for a whole-program read.",
    )
    program_copy_overlap_s: float = Field(
        default=10.0, ge=0, description="How far back each pull of a program's changed documents reaches beyond "
        "the last one: covers transactions that commit late and clocks that differ a little between replicas.",
    )
    program_copy_full_every_s: float = Field(
        default=300.0, gt=0, description="A program's copy is read again in full this often, in the background: "
        "catches a transaction that committed later than the overlap, and deletions.",
    )
    retention_ledger_days: float = Field(default=30.0, gt=0, description="Processed-event ledger entries.")
    retention_outbox_days: float = Field(
        default=7.0, gt=0,
        description="Outbox rows marked published by an earlier version; the relay now deletes what it publishes.",
    )
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list, description="JSON list of internal host names webhooks may reach (see shared.egress)."
    )

    @property
    def retention(self) -> Retention:
        return Retention(ledger_days=self.retention_ledger_days, outbox_days=self.retention_outbox_days)

    @property
    def egress(self) -> EgressPolicy:
        """Where webhooks may go: public https addresses, the allowed hosts, and loopback when embedded."""
        return EgressPolicy.of(self.webhook_allowed_hosts, embedded=self.embedded)

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"reciprocal-{self.service}"

    @property
    def database(self) -> str:
        return self.mongo_db or f"reciprocal_{self.service}"
