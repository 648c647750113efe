from pydantic import Field

from shared.settings import ServiceSettings


class MatcherSettings(ServiceSettings):
    expiry_poll_s: float = 30.0
    pool_refresh_overlap_s: float = Field(
        default=5.0, ge=0,
        description="How far back each pool-cache refresh re-reads changed people, beyond its last refresh: "
        "covers transactions that commit late and small clock differences between replicas.",
    )
