"""Why a pair cannot be scheduled, and the smallest change that would fix it, in words."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from services.scheduler.domain.changes import Ranked, best_change
from services.scheduler.domain.model import Participant
from services.scheduler.domain.slots import availability
from shared.availability import WEEKDAYS, Interval, intersection
from shared.contract.timefmt import zone_of

DAY_NAMES = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
REMOTE_MODES = ("video", "phone", "chat")


def no_shared_mode(a: Participant, b: Participant) -> tuple[str, str]:
    reason = f"{a.name} and {b.name} share no meeting mode"
    if "in_person" in a.meeting_modes and "in_person" in b.meeting_modes:
        reason += (f" (in person needs the same site; {a.name} is at {a.site or 'no site'},"
                   f" {b.name} at {b.site or 'no site'})")
    for mode in REMOTE_MODES:
        has_a, has_b = mode in a.meeting_modes, mode in b.meeting_modes
        if has_a != has_b:
            lacking, other = (b, a) if has_a else (a, b)
            return reason + ".", (f"If {lacking.name} could also meet by {mode}, as {other.name} does,"
                                  " they could be scheduled.")
    return reason + ".", f"If {a.name} and {b.name} could both meet by video, they could be scheduled."


def unknown_zone(person: Participant) -> tuple[str, str]:
    return (f"{person.name}'s time zone {person.timezone!r} is not a known IANA time zone.",
            f"If {person.name} could set an IANA time zone such as Europe/London, they could be scheduled.")


def no_overlap(a: Participant, b: Participant, minutes: int, spans: Sequence[Interval]) -> tuple[str, str]:
    """`spans` are the weeks (UTC) that would have had a session."""
    reason = (f"{a.name} ({a.timezone}) and {b.name} ({b.timezone}) have no {minutes}-minute overlap "
              "in their weekly availability.")
    ranked = best_change(a, b, timedelta(minutes=minutes), spans)
    return reason, (_describe(ranked, minutes) if ranked else _together(a, b, minutes, spans[0]))


def _describe(ranked: Ranked, minutes: int) -> str:
    change = ranked.change
    person, other, (weekday, start, end) = change.person, change.other, change.window
    day = DAY_NAMES[weekday]
    if change.old is None:
        also = "also " if person.availability else ""
        text = (f"If {person.name} could {also}be available on {day}s {start}–{end} ({person.timezone}), "
                f"when {other.name} is available, {person.name} and {other.name} would share a "
                f"{minutes}-minute slot")
    elif start != change.old[1]:
        text = (f"If {person.name} could start {duration(change.cost)} earlier on {day}s "
                f"({start} instead of {change.old[1]}, {person.timezone}), {person.name} and {other.name} "
                f"would share a {minutes}-minute slot")
    else:
        text = (f"If {person.name} could stay {duration(change.cost)} later on {day}s "
                f"(until {end} instead of {change.old[2]}, {person.timezone}), {person.name} and {other.name} "
                f"would share a {minutes}-minute slot")
    if ranked.weeks < ranked.total:
        text += f" in {ranked.weeks} of the {ranked.total} weeks with a session"
    return text + "."


def _together(a: Participant, b: Participant, minutes: int, span: Interval) -> str:
    """No single person's change is enough (say every window is shorter than a session): one time
    both could offer, where they already come closest."""
    if not a.availability and not b.availability:
        return (f"If {a.name} and {b.name} could each add a weekly availability window of at least "
                f"{minutes} minutes at the same time of the week, they could be scheduled.")
    mine, theirs = availability(a, span), availability(b, span)
    shared = intersection(mine, theirs)
    start = max(shared, key=lambda i: i[1] - i[0])[0] if shared else (mine or theirs)[0][0]
    length = timedelta(minutes=minutes)
    return (f"If {a.name} could be available on {_when(a, start, length)} and {b.name} at the same time, "
            f"{_when(b, start, length)}, they could share a {minutes}-minute slot.")


def _when(person: Participant, start: datetime, length: timedelta) -> str:
    tz = zone_of(person.timezone)
    first, last = start.astimezone(tz), (start + length).astimezone(tz)
    return f"{DAY_NAMES[WEEKDAYS[first.weekday()]]}s {first:%H:%M}–{last:%H:%M} ({person.timezone})"


def duration(delta: timedelta) -> str:
    """'1 h', '45 min', '1 h 30 min': rounded up to whole minutes."""
    total = -(-int(delta.total_seconds()) // 60)
    hours, mins = divmod(total, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"
