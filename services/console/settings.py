"""The console's configuration, from RECIPROCAL_* environment variables (12-factor)."""

from datetime import datetime

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECIPROCAL_", extra="ignore")

    http_host: str = "0.0.0.0"
    http_port: int = 8080
    log_level: str = "INFO"
    kafka_bootstrap: str = "127.0.0.1:9092"
    embedded: bool = False
    clock_speed: float = Field(default=1.0, gt=0, description="As every service's (shared.clock): embedded only.")
    clock_epoch: datetime | None = None

    console_profiles_url: str = "http://profiles:8080"
    console_matcher_url: str = "http://matcher:8080"
    console_scheduler_url: str = "http://scheduler:8080"
    console_notifier_url: str = "http://notifier:8080"
    console_progress_url: str = "http://progress:8080"
    console_http_timeout_s: float = Field(default=10.0, gt=0)

    console_session_secret: str = Field(default="", description="Signs the session cookie; required, 32+ chars.")
    console_session_max_age_s: int = Field(default=8 * 3600, gt=0)
    console_cookie_secure: bool = Field(
        default=True, description="Send the session cookie only over HTTPS. Turn off only for plain-http "
        "development on localhost (the embedded stack does).")

    console_oidc_metadata_url: str = Field(
        default="", description="The issuer's OpenID Provider metadata, "
        "e.g. https://login.example.com/.well-known/openid-configuration.")
    console_oidc_client_id: str = ""
    console_oidc_client_secret: str = ""
    console_oidc_scope: str = "openid profile email"
    console_oidc_token: str = Field(
        default="access_token", description="Which token of the sign-in is forwarded to the services "
        "as the bearer token: access_token (its audience must be the services' RECIPROCAL_AUTH_AUDIENCE) or id_token.")

    console_dev_signin: bool = Field(
        default=False, description="The development sign-in (pick org, role and person): embedded mode only.")
    console_dev_signing_key: str = Field(default="", description="PEM private key file the development sign-in "
                                         "signs tokens with (the embedded stack's).")
    console_live_poll_ms: int = Field(default=2000, ge=250, description="How often open pages refresh their data.")

    @model_validator(mode="after")
    def _safe(self) -> "ConsoleSettings":
        if len(self.console_session_secret) < 32:
            raise ValueError("RECIPROCAL_CONSOLE_SESSION_SECRET must be set (at least 32 characters)")
        if self.console_dev_signin and not (self.embedded and self.console_dev_signing_key):
            raise ValueError(
                "the development sign-in needs RECIPROCAL_EMBEDDED=1 and RECIPROCAL_CONSOLE_DEV_SIGNING_KEY")
        if self.console_oidc_metadata_url and not self.console_oidc_client_id:
            raise ValueError("RECIPROCAL_CONSOLE_OIDC_CLIENT_ID is required with RECIPROCAL_CONSOLE_OIDC_METADATA_URL")
        if self.console_oidc_token not in ("access_token", "id_token"):
            raise ValueError("RECIPROCAL_CONSOLE_OIDC_TOKEN must be access_token or id_token")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.console_oidc_metadata_url)

    def service_urls(self) -> dict[str, str]:
        return {"profiles": self.console_profiles_url, "matcher": self.console_matcher_url,
                "scheduler": self.console_scheduler_url, "notifier": self.console_notifier_url,
                "progress": self.console_progress_url}
