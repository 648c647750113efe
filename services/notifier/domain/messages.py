"""Who hears about an event, and the personal message each of them gets."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifier.domain import wording
from services.notifier.domain.invites import DEFAULT_ORGANIZER, schedule_invite
from services.notifier.domain.links import RATINGS, LinkIssuer
from services.notifier.domain.model import Contact, Message
from services.notifier.domain.reasons import withdrawal_reasons
from shared.contract.envelope import Event
from shared.contract.events import (
    CheckInRequested,
    MatchAccepted,
    MatchDeclined,
    MatchOutcome,
    MatchProposed,
    MatchWithdrawn,
    PartnershipFlagged,
    ProfileRejected,
    ScheduleCreated,
    ScheduleUnschedulable,
    ScheduleUpdated,
    Session,
    SessionUpcoming,
    Teaching,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
environment.filters["words"] = wording.join_words

MODES = {"in_person": "in person", "video": "video call", "phone": "phone call", "chat": "chat"}
PAIR_EVENTS = (
    MatchProposed, MatchOutcome, ScheduleCreated, ScheduleUpdated, ScheduleUnschedulable, SessionUpcoming,
    CheckInRequested, PartnershipFlagged,
)


def recipients(event: Event) -> list[str]:
    if isinstance(event, ProfileRejected):
        return [event.person_id]
    if isinstance(event, PAIR_EVENTS):
        return list(dict.fromkeys([event.person_a, event.person_b]))
    return []


@dataclass(frozen=True)
class Background:
    """What the notifier knows beyond the event itself."""

    organizer: str = DEFAULT_ORGANIZER  # the invite ORGANIZER: the mail sender, "Name <address>" or an address
    partnership: bool = False  # a withdrawn match had been accepted by both: a partnership ended
    session: Session | None = None  # the reminded session, from the latest schedule
    links: LinkIssuer | None = None  # signs the one-click links; None: messages without links
    mentoring_url: str | None = None  # the recipient's "my mentoring" page in the web console


@dataclass
class _Draft:
    kind: str
    context: dict[str, Any]
    data: dict[str, Any]
    calendar: bytes | None = None
    calendar_method: str | None = None


def render(
    event: Event, recipient: Contact, contacts: Mapping[str, Contact], background: Background = Background()
) -> Message | None:
    """The message for one recipient, or None if the event is not theirs to hear about or they have withdrawn."""
    build = _BUILDERS.get(type(event))
    if build is None or not recipient.active or recipient.person_id not in recipients(event):
        return None
    if recipient.org_id != event.org_id:
        return None
    draft = build(event, recipient, contacts, background)
    context = {"name": recipient.display_name.strip(), "mentoring_url": background.mentoring_url, **draft.context}
    text_module = environment.get_template(f"{draft.kind}.txt").make_module(context)
    html = environment.get_template(f"{draft.kind}.html").render(context)
    return Message(
        person_id=recipient.person_id,
        kind=draft.kind,
        subject=" ".join(str(text_module.subject).split()),  # type: ignore[attr-defined]  # set by the template
        text=str(text_module),
        html=html,
        calendar=draft.calendar,
        calendar_method=draft.calendar_method,
        data={"event_type": event.event_type, **draft.data,
              **({"mentoring_url": background.mentoring_url} if background.mentoring_url else {})},
    )


# --- per event ------------------------------------------------------------------------------

Builder = Callable[[Any, Contact, Mapping[str, Contact], Background], _Draft]


def _partner(event: Any, recipient: Contact, contacts: Mapping[str, Contact]) -> tuple[str, str]:
    partner_id = event.person_b if recipient.person_id == event.person_a else event.person_a
    partner = contacts.get(partner_id)
    if partner is not None and partner.org_id == event.org_id:
        return partner_id, partner.name
    return partner_id, partner_id


def _sides(event: MatchProposed | MatchOutcome, recipient: Contact) -> tuple[list[Teaching], list[Teaching]]:
    """(what the recipient teaches, what the recipient learns)."""
    if recipient.person_id == event.person_a:
        return list(event.a_teaches_b), list(event.b_teaches_a)
    return list(event.b_teaches_a), list(event.a_teaches_b)


def _teachings(items: list[Teaching]) -> list[dict[str, str]]:
    return [{"skill": t.skill, "goal": t.goal} for t in items]


TENSES = {"match_declined": "conditional", "match_withdrawn": "conditional", "partnership_ended": "past"}


def _match(
    event: MatchProposed | MatchOutcome, recipient: Contact, contacts: Mapping[str, Contact], kind: str
) -> _Draft:
    partner_id, partner = _partner(event, recipient, contacts)
    you_teach, you_learn = _sides(event, recipient)
    context = {
        "partner": partner,
        "match_id": event.match_id,
        "teach_skills": wording.skills(you_teach),
        "learn_skills": wording.skills(you_learn),
        "tense": TENSES.get(kind, "future"),
        "you_teach": _teachings(you_teach),
        "you_learn": _teachings(you_learn),
    }
    data = {
        "match_id": event.match_id,
        "program_id": event.program_id,
        "partner_id": partner_id,
        "you_teach": _teachings(you_teach),
        "you_learn": _teachings(you_learn),
    }
    return _Draft(kind, context, data)


def _proposed(
    event: MatchProposed, recipient: Contact, contacts: Mapping[str, Contact], background: Background
) -> _Draft:
    draft = _match(event, recipient, contacts, "match_proposed")
    draft.context["expires"] = wording.local_time(event.expires_at, recipient.zone)
    draft.data["expires_at"] = event.expires_at.isoformat()
    links = background.links and background.links.respond(
        event.org_id, recipient.person_id, event.match_id, event.expires_at
    )
    draft.context["links"] = links
    if links:
        draft.data["links"] = links
    return draft


def _outcome(kind: str) -> Builder:
    def build(event: MatchOutcome, recipient: Contact, contacts: Mapping[str, Contact], _: Background) -> _Draft:
        # A decline's reason is the other person's own words and is never passed on.
        return _match(event, recipient, contacts, kind)

    return build


def _withdrawn(
    event: MatchWithdrawn, recipient: Contact, contacts: Mapping[str, Contact], background: Background
) -> _Draft:
    """A proposal withdrawn, or, if both had accepted it, a partnership ended; the matcher's reason in plain words."""
    draft = _match(event, recipient, contacts, "partnership_ended" if background.partnership else "match_withdrawn")
    partner_id, partner = _partner(event, recipient, contacts)
    reasons = withdrawal_reasons(
        event.reason, locale=recipient.locale, you=recipient.person_id, partner_id=partner_id, partner_name=partner
    )
    draft.context["reasons"] = reasons
    draft.data["reasons"] = reasons
    return draft


def _session_view(session: Session, recipient: Contact, partner: str) -> dict[str, Any]:
    if session.kind == "kickoff" or session.teacher is None:
        role = "Kickoff: ground rules and both your goals"
    elif session.teacher == recipient.person_id:
        role = f"You teach {partner}"
    else:
        role = f"{partner} teaches you"
    return {
        "number": session.number,
        "when": wording.local_span(session.starts_at, session.ends_at, recipient.zone),
        "mode": MODES.get(session.mode, session.mode),
        "role": role,
        "agenda": list(session.agenda),
        "flagged": session.flagged or "",
    }


def _session_numbers(sessions: list[Session], person_id: str, role: str) -> list[str]:
    return [str(s.number) for s in sessions if s.kind == "teaching" and getattr(s, role) == person_id]


def _schedule(
    event: ScheduleCreated | ScheduleUpdated,
    recipient: Contact,
    contacts: Mapping[str, Contact],
    background: Background,
) -> _Draft:
    partner_id, partner = _partner(event, recipient, contacts)
    cancelled = isinstance(event, ScheduleUpdated) and event.cancelled
    updated = isinstance(event, ScheduleUpdated)
    kind = "schedule_cancelled" if cancelled else ("schedule_updated" if updated else "schedule_created")
    sessions = sorted(event.sessions, key=lambda s: (s.starts_at, s.number))
    context: dict[str, Any] = {
        "partner": partner,
        "match_id": event.match_id,
        "teach_sessions": _session_numbers(sessions, recipient.person_id, "teacher"),
        "learn_sessions": _session_numbers(sessions, recipient.person_id, "learner"),
        "sessions": [_session_view(s, recipient, partner) for s in sessions],
        "zone": recipient.zone.key,
    }
    data: dict[str, Any] = {
        "schedule_id": event.schedule_id,
        "match_id": event.match_id,
        "program_id": event.program_id,
        "partner_id": partner_id,
        "version": event.version,
        "cancelled": cancelled,
        "sessions": [
            {
                "session_id": s.session_id,
                "number": s.number,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "local_starts_at": s.starts_at.astimezone(recipient.zone).isoformat(),
            }
            for s in sessions
        ],
    }
    draft = _Draft(kind, context, data)
    end_link = None
    if background.links and not cancelled:
        last_end = max((s.ends_at for s in sessions), default=event.occurred_at)
        end_link = background.links.end(
            event.org_id, recipient.person_id, event.match_id, max(last_end, event.occurred_at)
        )
        data["links"] = {"end": end_link}
    context["end_link"] = end_link
    if cancelled or sessions:
        method: Literal["REQUEST", "CANCEL"] = "CANCEL" if cancelled else "REQUEST"
        draft.calendar = schedule_invite(
            event, recipient, contacts, method=method, sequence=event.version, organizer=background.organizer
        )
        draft.calendar_method = method
    return draft


def _unschedulable(
    event: ScheduleUnschedulable, recipient: Contact, contacts: Mapping[str, Contact], _: Background
) -> _Draft:
    partner_id, partner = _partner(event, recipient, contacts)
    context = {"partner": partner, "match_id": event.match_id, "reason": event.reason, "suggestion": event.suggestion}
    data = {"match_id": event.match_id, "partner_id": partner_id, "reason": event.reason,
            "suggestion": event.suggestion}
    return _Draft("schedule_unschedulable", context, data)


def _upcoming(
    event: SessionUpcoming, recipient: Contact, contacts: Mapping[str, Contact], background: Background
) -> _Draft:
    """The reminder; with the session from the latest schedule it also says who teaches whom, and the agenda."""
    partner_id, partner = _partner(event, recipient, contacts)
    session = background.session
    if session is not None and session.session_id != event.session_id:
        session = None
    view = _session_view(session, recipient, partner) if session else None
    context = {
        "partner": partner,
        "match_id": event.match_id,
        "when": wording.local_time(event.starts_at, recipient.zone),
        "hours_before": event.hours_before,
        "session": view,
    }
    data = {
        "session_id": event.session_id,
        "match_id": event.match_id,
        "partner_id": partner_id,
        "starts_at": event.starts_at.isoformat(),
        "hours_before": event.hours_before,
    }
    if session:
        data |= {"number": session.number, "kind": session.kind, "teacher": session.teacher,
                 "learner": session.learner, "agenda": list(session.agenda)}
    return _Draft("session_upcoming", context, data)


def _checkin_requested(
    event: CheckInRequested, recipient: Contact, contacts: Mapping[str, Contact], background: Background
) -> _Draft:
    """Ask how a session went: one link per 'did it happen' answer, leading to the ratings and a private note."""
    partner_id, partner = _partner(event, recipient, contacts)
    if event.teacher is None:
        role = "It was your kickoff."
    elif event.teacher == recipient.person_id:
        role = f"You taught {partner}."
    else:
        role = f"{partner} taught you."
    links = background.links and background.links.check_in(
        event.org_id, recipient.person_id, event.match_id, event.session_id, event.occurred_at
    )
    rating_links = {q: [(n, links[f"{q}-{n}"]) for n in RATINGS] for q in ("learned", "helped")} if links else {}
    context = {"partner": partner, "match_id": event.match_id, "role": role, "links": links,
               "rating_links": rating_links, "when": wording.local_span(event.starts_at, event.ends_at, recipient.zone)}
    data: dict[str, Any] = {"match_id": event.match_id, "session_id": event.session_id, "partner_id": partner_id,
            "starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat()}
    if links:
        data["links"] = links
    return _Draft("checkin_requested", context, data)


def _flagged(
    event: PartnershipFlagged, recipient: Contact, contacts: Mapping[str, Contact], background: Background
) -> _Draft:
    """The nudge: for a one-sided partnership, who teaches next and which goals; for a fizzling one,
    meet again or end it."""
    partner_id, partner = _partner(event, recipient, contacts)
    neglected = event.neglected if event.kind == "one_sided" else None
    you_teach_next = neglected is not None and neglected.teacher == recipient.person_id
    end_link = None
    if event.kind == "fizzling" and background.links:
        end_link = background.links.end(event.org_id, recipient.person_id, event.match_id, event.occurred_at)
    context = {"partner": partner, "match_id": event.match_id, "flag": event.kind, "swapped": neglected is not None,
               "you_teach_next": you_teach_next, "goals": list(event.neglected_goals), "end_link": end_link}
    data: dict[str, Any] = {
        "match_id": event.match_id, "program_id": event.program_id, "partner_id": partner_id, "flag": event.kind,
        "next_teacher": neglected.teacher if neglected else None, "goals": list(event.neglected_goals),
    }
    if end_link:
        data["links"] = {"end": end_link}
    return _Draft(f"partnership_{event.kind}", context, data)


def _rejected(event: ProfileRejected, recipient: Contact, contacts: Mapping[str, Contact], _: Background) -> _Draft:
    errors = [{"field": wording.field_in_words(e.field), "message": e.message} for e in event.errors]
    data = {
        "rejected_event_id": event.rejected_event_id,
        "errors": [{"field": e.field, "message": e.message} for e in event.errors],
    }
    return _Draft("profile_rejected", {"errors": errors}, data)


_BUILDERS: dict[type, Builder] = {
    MatchProposed: _proposed,
    MatchAccepted: _outcome("match_accepted"),
    MatchDeclined: _outcome("match_declined"),
    MatchWithdrawn: _withdrawn,
    ScheduleCreated: _schedule,
    ScheduleUpdated: _schedule,
    ScheduleUnschedulable: _unschedulable,
    SessionUpcoming: _upcoming,
    ProfileRejected: _rejected,
    CheckInRequested: _checkin_requested,
    PartnershipFlagged: _flagged,
}
