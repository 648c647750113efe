"""The progress service's pure logic: the partnership aggregate, its balance, its flags, outcomes."""

from services.progress.domain.balance import direction_balance, ledger, worked_on
from services.progress.domain.flags import findings, fizzling, one_sided
from services.progress.domain.outcomes import persistent_flags, program_outcomes
from services.progress.domain.partnership import Partnership, check_in_errors
from services.progress.domain.records import (
    BOTH_LEARNING_MIN,
    PERSISTENT_AFTER_SESSIONS,
    RATING_GAP,
    CheckIn,
    CheckInRefused,
    Finding,
    Flag,
    Goal,
    IllegalTransition,
    PartnershipStatus,
    PlannedSession,
    Thresholds,
    as_utc,
)

__all__ = [
    "BOTH_LEARNING_MIN", "PERSISTENT_AFTER_SESSIONS", "RATING_GAP", "CheckIn", "CheckInRefused", "Finding", "Flag",
    "Goal", "IllegalTransition", "Partnership", "PartnershipStatus", "PlannedSession", "Thresholds", "as_utc",
    "check_in_errors", "direction_balance", "findings", "fizzling", "ledger", "one_sided", "persistent_flags",
    "program_outcomes", "worked_on",
]
