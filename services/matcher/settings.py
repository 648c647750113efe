from shared.settings import ServiceSettings


class MatcherSettings(ServiceSettings):
    expiry_poll_s: float = 30.0
