from typing import Self

from pydantic import Field, SecretStr, model_validator

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_s: float = 15.0
    smtp_keepalive_s: float = Field(
        default=10.0, ge=0, description="How long an idle SMTP connection is kept open for the next message; "
        "0 opens one connection per message."
    )
    mail_from: str = "Reciprocal <mentoring@reciprocal.local>"
    message_id_domain: str = "reciprocal.local"
    webhook_secrets: dict[str, SecretStr] = Field(default_factory=dict, description="org_id -> HMAC secret (JSON).")
    webhook_timeout_s: float = 10.0
    retention_deliveries_days: float = Field(default=90.0, gt=0, description="Finished deliveries (sent, failed, "
                                             "suppressed) are deleted this long after they finished.")
    retention_inbox_days: float = Field(default=365.0, gt=0, description="Inbox entries are deleted this long "
                                        "after they were created.")
    delivery_attempts: int = Field(default=8, ge=1, description="Tries per delivery before notifications.failed.")
    delivery_backoff_s: float = Field(default=1.0, gt=0, description="First retry backoff; doubles, plus jitter.")
    delivery_backoff_max_s: float = Field(default=300.0, gt=0, description="Longest wait between tries.")
    delivery_concurrency: int = Field(default=8, ge=1, description="Sends in flight at once, per replica.")
    delivery_send_timeout_s: float = Field(default=30.0, gt=0, description="Longest one send may take in all.")
    delivery_lease_s: float = Field(
        default=60.0, gt=0, description="How long a claim keeps other replicas off a delivery; longer than a send."
    )
    delivery_poll_s: float = Field(
        default=1.0, gt=0, description="How often the delivery loop scans the database for due deliveries that "
        "this process did not record (other replicas', earlier runs', abandoned claims)."
    )
    delivery_queue_size: int = Field(
        default=20_000, ge=1, description="Due delivery ids the delivery loop keeps in memory; beyond it, the "
        "periodic scan finds the rest."
    )
    delivery_backlog_ready_s: float = Field(
        default=120.0, gt=0, description="/readyz fails once a due delivery has waited this long for a sender."
    )

    public_url: str | None = Field(
        default=None, description="Base URL of the one-click links in messages; default this service's own HTTP URL."
    )
    link_secret: SecretStr | None = Field(
        default=None, description="Signs the one-click links. Required: the service refuses to start without it."
    )
    link_lifetime_days: float = Field(default=14, gt=0, description="How long check-in and end links stay valid.")
    console_url: str | None = Field(
        default=None, description="Base URL of the web console: every message links to the recipient's "
        "\"my mentoring\" page there (`/me`); unset, messages carry no such link.",
    )

    @property
    def links_base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
        return f"http://{host}:{self.http_port}"

    def require_link_secret(self) -> str:
        """The link secret, or a clear refusal: a generated one would not survive a restart, and links
        signed by one replica would fail on another."""
        secret = self.link_secret.get_secret_value() if self.link_secret else ""
        if len(secret) < 16:
            raise ValueError(
                "RECIPROCAL_LINK_SECRET must be set to a random secret of at least 16 characters, the same for "
                "every notifier replica (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return secret

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Self:
        if self.smtp_starttls and self.smtp_use_tls:
            raise ValueError(
                "RECIPROCAL_SMTP_STARTTLS and RECIPROCAL_SMTP_USE_TLS are mutually exclusive: use SMTP_USE_TLS for "
                "implicit TLS (usually port 465) or SMTP_STARTTLS to upgrade a plain connection (usually port 587)"
            )
        return self

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Self:
        if self.delivery_lease_s <= self.delivery_send_timeout_s:
            raise ValueError(
                "RECIPROCAL_DELIVERY_LEASE_S must be longer than RECIPROCAL_DELIVERY_SEND_TIMEOUT_S: a claim whose "
                "lease runs out while its send may still be going lets another replica send the same message"
            )
        return self
