"""A person's sessions as an RFC 5545 calendar feed."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event

from services.scheduler.domain.model import as_utc
from shared.calendar_identity import occurrences, rdates, series_uid
from shared.contract.events import Session

PRODID = "-//Reciprocal//Scheduler//EN"


@dataclass(frozen=True)
class FeedSeries:
    """One schedule as the feed shows it: its sessions and the version that is their SEQUENCE."""

    org_id: str
    schedule_id: str
    version: int
    sessions: Sequence[Session]


def sessions_calendar(person_id: str, display_name: str, series: Iterable[FeedSeries], *,
                      summary_for: Callable[[Session], str], stamp: datetime | None = None) -> bytes:
    """Each schedule of this person as one recurring event (sessions rendered for others are skipped),
    named by `shared.calendar_identity` exactly as the emailed invites name it: the first session is
    the master with every later start in RDATE, each later session an instance (RECURRENCE-ID).
    SEQUENCE is the schedule's version. `stamp` (DTSTAMP) defaults to now."""
    stamp = as_utc(stamp) or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Reciprocal sessions: {display_name or person_id}")
    components = []
    for one in series:
        mine = [s for s in one.sessions if not s.local_times or person_id in {lt.person_id for lt in s.local_times}]
        uid, occurring = series_uid(one.org_id, one.schedule_id), occurrences(mine)
        for occurrence in occurring:
            event = _event(uid, occurrence.session, summary_for(occurrence.session), one.version, stamp)
            if occurrence.recurrence_id is None:
                if len(occurring) > 1:
                    event.add("rdate", rdates(occurring))
            else:
                event.add("recurrence-id", occurrence.recurrence_id)
            components.append((occurrence.session.starts_at, uid, event))
    for *_, event in sorted(components, key=lambda c: c[:2]):
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _event(uid: str, session: Session, summary: str, sequence: int, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", _description(session))
    event.add("sequence", sequence)
    event.add("status", "TENTATIVE" if session.flagged else "CONFIRMED")
    event.add("categories", [session.kind])
    event.add("x-reciprocal-session-id", session.session_id)
    if session.mode == "in_person":
        event.add("location", "In person")
    return event


def _description(session: Session) -> str:
    lines = list(session.agenda)
    lines += [f"{lt.person_id}: {lt.starts_at} ({lt.timezone})" for lt in session.local_times]
    if session.flagged:
        lines.append(f"Note: {session.flagged}")
    return "\n".join(lines)
