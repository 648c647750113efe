from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    timer_poll_s: float = 5.0
