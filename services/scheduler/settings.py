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
    retention_schedules_days: float = Field(
        default=365.0, gt=0, description="Cancelled schedules (a partnership that ended), after the cancellation."
    )
    retention_timers_days: float = Field(default=30.0, gt=0, description="Reminder timers, after they fired.")
