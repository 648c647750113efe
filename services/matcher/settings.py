from pydantic import Field

from shared.settings import ServiceSettings

BATCH_QUIET_S = 10.0


class MatcherSettings(ServiceSettings):
    expiry_poll_s: float = 30.0
    batch_poll_s: float = Field(default=1.0, gt=0, description="How often due batch windows are looked for (service "
                                "clock): a batch starts at most this long after its window ends.")
    batch_quiet_s: float = Field(
        default=BATCH_QUIET_S, ge=0,
        description="A batch whose window has ended waits until nobody has arrived for this long (service "
        "clock; at most the program's window, and at most one more window in all), so that an import "
        "that outlasts the window is matched as one batch.",
    )
    retention_reports_days: float = Field(default=365.0, gt=0, description="Cohort reports are deleted this long "
                                          "after their run.")
    retention_previews_days: float = Field(default=90.0, gt=0, description="Cohort previews are deleted this long "
                                           "after they were made (an approved one's proposals stay).")
    pool_refresh_overlap_s: float = Field(
        default=5.0, ge=0,
        description="How far back each pool-cache refresh re-reads changed people, beyond its last refresh: "
        "covers transactions that commit late and small clock differences between replicas.",
    )
    profiles_per_transaction: int = Field(
        default=50, ge=1,
        description="Most profiles.changed one transaction rematches (a consumed batch of up to "
        "batch_max_records is split): keeps each transaction well inside the database's 60 s lifetime "
        "and the batch inside max_poll_interval_ms.",
    )
