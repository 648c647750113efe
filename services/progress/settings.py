from shared.settings import ServiceSettings


class ProgressSettings(ServiceSettings):
    timer_poll_s: float = 5.0
    """How often due check-in requests are fired (RECIPROCAL_TIMER_POLL_S, as the scheduler's reminders)."""
