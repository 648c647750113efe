from pydantic import Field

from shared.settings import ServiceSettings


class ProgressSettings(ServiceSettings):
    timer_poll_s: float = 5.0
    """How often due check-in requests are fired (RECIPROCAL_TIMER_POLL_S, as the scheduler's reminders)."""
    retention_partnerships_days: float = Field(
        default=365.0, gt=0, description="Ended partnerships (sessions, check-ins, balance), after their end."
    )
    retention_timers_days: float = Field(default=30.0, gt=0, description="Check-in timers, after they fired.")
