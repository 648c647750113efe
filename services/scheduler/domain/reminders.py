"""When `sessions.upcoming` is due for each session."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from services.scheduler.domain.model import as_utc
from shared.contract.events import Session


def reminder_due_at(session: Session, hours_before: int = 24) -> datetime:
    return session.starts_at - timedelta(hours=hours_before)


def pending_reminders(sessions: Iterable[Session], *, now: datetime,
                      hours_before: int = 24) -> list[tuple[str, datetime]]:
    """(session_id, due_at) for every session still ahead; a reminder whose due time has
    already passed is still pending, so it fires at once."""
    now = as_utc(now)
    return [(s.session_id, reminder_due_at(s, hours_before)) for s in sessions if s.starts_at > now]
