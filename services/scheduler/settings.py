from pydantic import Field

from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    timer_poll_s: float = 5.0
    reminder_hours_before: int = Field(default=24, ge=1, description="sessions.upcoming fires this long before.")
    feed_url: str | None = Field(
        default=None,
        description="The public base URL of the secret calendar feeds (`{feed_url}/calendar/<token>.ics`); "
        "without it the feed address is given as a path.",
    )
