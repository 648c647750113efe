from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_s: float = 15.0
    mail_from: str = "Reciprocal <mentoring@reciprocal.local>"
    message_id_domain: str = "reciprocal.local"
    webhook_secrets: dict[str, SecretStr] = Field(default_factory=dict, description="org_id -> HMAC secret (JSON).")
    webhook_timeout_s: float = 10.0
    delivery_attempts: int = Field(default=5, ge=1, description="Tries per delivery before notifications.failed.")
    delivery_backoff_s: float = 0.5
    delivery_lease_s: float = 60.0
    delivery_poll_s: float = 1.0
