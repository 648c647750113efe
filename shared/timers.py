"""The lifecycle of a stored timer (the scheduler's reminders, the progress service's check-in
requests): written pending; closed once, by the replica whose guarded update wins, as fired or,
when what it was for no longer holds, cancelled."""

from enum import StrEnum


class TimerStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"

