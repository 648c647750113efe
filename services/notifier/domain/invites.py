"""iCalendar (RFC 5545) invites for a schedule, sent as iTIP (RFC 5546) REQUEST or CANCEL.

Shape of the invite: the whole series is ONE calendar event, named by `shared.calendar_identity`
exactly as the scheduler's .ics feed names it (so a calendar holding both shows each session once):

- the master VEVENT is the first session (DTSTART/DTEND) and lists every later session start in RDATE;
- each later session is an override VEVENT (same UID, RECURRENCE-ID = its own start) carrying its
  own end, summary and agenda.

So there is exactly one VEVENT per session, in time order, and each one's DTSTART/DTEND equals that
session's UTC times. An update re-sends the whole series with a higher SEQUENCE, which calendar
clients apply as a replacement (moved, added and dropped sessions included). CANCEL sends the
master alone with STATUS:CANCELLED, which cancels the whole series.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

from services.notifier.domain.model import Contact
from shared.calendar_identity import occurrences, rdates, series_uid
from shared.contract.events import ScheduleCreated, ScheduleUpdated, Session

PRODID = "-//Reciprocal//Notifier//EN"
DEFAULT_ORGANIZER = "Reciprocal <mentoring@reciprocal.local>"
MODES = {"in_person": "In person", "video": "Video call", "phone": "Phone call", "chat": "Chat"}


def schedule_invite(
    schedule_event: ScheduleCreated | ScheduleUpdated,
    recipient: Contact,
    contacts: Mapping[str, Contact],
    *,
    method: Literal["REQUEST", "CANCEL"],
    sequence: int,
    organizer: str = DEFAULT_ORGANIZER,
) -> bytes:
    """`organizer` is the mail sender, "Name <address>" or a bare address."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    if sequence < 0:
        raise ValueError("SEQUENCE must not be negative")
    series = occurrences(schedule_event.sessions)
    sessions = [o.session for o in series]
    if method == "REQUEST" and not sessions:
        raise ValueError("a REQUEST needs at least one session")

    partner_id = schedule_event.person_b if recipient.person_id == schedule_event.person_a else schedule_event.person_a
    partner = contacts.get(partner_id)
    if partner is not None and partner.org_id != schedule_event.org_id:
        partner = None
    partner_name = partner.name if partner else partner_id
    people = [recipient, partner] if partner else [recipient]
    series_summary = f"Reciprocal mentoring with {partner_name}"

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)

    def component(session: Session | None) -> Event:
        vevent = Event()
        vevent.add("uid", series_uid(schedule_event.org_id, schedule_event.schedule_id))
        vevent.add("sequence", sequence)
        vevent.add("dtstamp", schedule_event.occurred_at.astimezone(UTC))
        vevent.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
        vevent.add("organizer", _organizer(organizer))
        for person in people:
            if person.email:
                vevent.add("attendee", _attendee(person))
        if session is not None:
            vevent.add("dtstart", _utc(session.starts_at))
            vevent.add("dtend", _utc(session.ends_at))
            vevent.add("summary", series_summary if method == "CANCEL" else _summary(session, recipient, partner_name))
            vevent.add("description", _description(session, max(s.number for s in sessions)))
            vevent.add("location", MODES.get(session.mode, session.mode))
            vevent.add("x-reciprocal-session-id", session.session_id)
        else:
            vevent.add("summary", series_summary)
        return vevent

    master = component(sessions[0] if sessions else None)
    if len(series) > 1:
        master.add("rdate", rdates(series))
    cal.add_component(master)
    if method == "REQUEST":
        for occurrence in series[1:]:
            override = component(occurrence.session)
            override.add("recurrence-id", occurrence.recurrence_id)
            cal.add_component(override)
    return bytes(cal.to_ical())


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _address(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    return address


def _organizer(sender: str) -> vCalAddress:
    name, email = parseaddr(sender)
    if "@" not in email:
        name, email = parseaddr(DEFAULT_ORGANIZER)
    return _address(email, name or "Reciprocal")


def _attendee(person: Contact) -> vCalAddress:
    address = _address(person.email, person.name)
    address.params["ROLE"] = "REQ-PARTICIPANT"
    address.params["PARTSTAT"] = "NEEDS-ACTION"
    address.params["RSVP"] = "FALSE"
    return address


def _summary(session: Session, recipient: Contact, partner: str) -> str:
    if session.kind == "kickoff" or session.teacher is None:
        return f"Mentoring kickoff with {partner}"
    if session.teacher == recipient.person_id:
        return f"Mentoring: you teach {partner}"
    return f"Mentoring: {partner} teaches you"


def _description(session: Session, total: int) -> str:
    lines = [f"Session {session.number} of {total}."]
    if session.agenda:
        lines += ["", "Agenda:", *(f"- {item}" for item in session.agenda)]
    return "\n".join(lines)
