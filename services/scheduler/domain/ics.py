"""A person's sessions as an RFC 5545 calendar feed."""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from icalendar import Calendar, Event

from shared.contract.events import Session
from services.scheduler.domain.model import as_utc

PRODID = "-//Reciprocal//Scheduler//EN"


def session_uid(session: Session) -> str:
    return f"{session.session_id}@reciprocal"


def sessions_calendar(person_id: str, display_name: str, sessions: Iterable[Session], *,
                      summary_for: Callable[[Session], str], sequence: int = 0,
                      sequence_for: Callable[[Session], int] | None = None,
                      stamp: datetime | None = None) -> bytes:
    """One VEVENT per session of this person (sessions rendered for others are skipped).
    SEQUENCE is the version of the session's schedule: `sequence_for(session)` when sessions come
    from several schedules, else `sequence`. `stamp` (DTSTAMP) defaults to now."""
    stamp = as_utc(stamp) or datetime.now(UTC)
    sequence_for = sequence_for or (lambda _: sequence)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Reciprocal sessions: {display_name or person_id}")
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.session_id)):
        if session.local_times and person_id not in {lt.person_id for lt in session.local_times}:
            continue
        calendar.add_component(_event(session, summary_for(session), sequence_for(session), stamp))
    return calendar.to_ical()


def _event(session: Session, summary: str, sequence: int, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", session_uid(session))
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", _description(session))
    event.add("sequence", sequence)
    event.add("status", "TENTATIVE" if session.flagged else "CONFIRMED")
    event.add("categories", [session.kind])
    if session.mode == "in_person":
        event.add("location", "In person")
    return event


def _description(session: Session) -> str:
    lines = list(session.agenda)
    lines += [f"{lt.person_id}: {lt.starts_at} ({lt.timezone})" for lt in session.local_times]
    if session.flagged:
        lines.append(f"Note: {session.flagged}")
    return "\n".join(lines)
