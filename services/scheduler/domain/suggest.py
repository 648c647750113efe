"""Why a pair cannot be scheduled, and the smallest change that would fix it."""

from datetime import datetime, timedelta

from services.scheduler.domain.model import Participant
from services.scheduler.domain.slots import WEEKDAYS, Interval, availability, window_on, zone

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
REMOTE_MODES = ("video", "phone", "chat")
_DAY = timedelta(days=1)


def no_shared_mode(a: Participant, b: Participant) -> tuple[str, str]:
    reason = f"{a.name} and {b.name} share no meeting mode"
    if "in_person" in a.meeting_modes and "in_person" in b.meeting_modes:
        reason += f" (in person needs the same site; {a.name} is at {a.site or 'no site'}, {b.name} at {b.site or 'no site'})"
    for mode in REMOTE_MODES:
        has_a, has_b = mode in a.meeting_modes, mode in b.meeting_modes
        if has_a != has_b:
            lacking, other = (b, a) if has_a else (a, b)
            return reason + ".", f"If {lacking.name} could also meet by {mode}, as {other.name} does, they could be scheduled."
    return reason + ".", f"If {a.name} and {b.name} could both meet by video, they could be scheduled."


def unknown_zone(person: Participant) -> tuple[str, str]:
    return (f"{person.name}'s time zone {person.timezone!r} is not a known IANA time zone.",
            f"If {person.name} could set an IANA time zone such as Europe/London, they could be scheduled.")


def no_overlap(a: Participant, b: Participant, minutes: int, span: Interval) -> tuple[str, str]:
    reason = (f"{a.name} ({a.timezone}) and {b.name} ({b.timezone}) have no {minutes}-minute overlap "
              "in their weekly availability.")
    for person, other in ((a, b), (b, a)):
        if not person.availability:
            return reason, _add_a_window(person, other, minutes)
    wide = (span[0] - _DAY, span[1] + _DAY)
    options = [option for person, other in ((a, b), (b, a)) for option in _stretches(person, other, minutes, wide)]
    if not options:
        return reason, (f"If {a.name} and {b.name} could each offer a window of at least {minutes} minutes "
                        "at the same moment of the week, they could be scheduled.")
    return reason, min(options, key=lambda option: option[0])[1]


def _stretches(person: Participant, other: Participant, minutes: int, span: Interval) -> list[tuple[timedelta, str]]:
    """Every way for `person` to stretch one window, start earlier or stay later, to meet `other`."""
    tz, length = zone(person.timezone), timedelta(minutes=minutes)
    theirs = availability(other, span)
    found = []
    day = span[0].astimezone(tz).date()
    while day <= span[1].astimezone(tz).date():
        weekday = WEEKDAYS[day.weekday()]
        for window_day, start, end in person.availability:
            pieces = window_on(tz, day, start, end) if window_day == weekday else []
            if not pieces:
                continue
            mine = (pieces[0][0], pieces[-1][1])
            for lo, hi in theirs:
                base = max(mine[0], lo)
                if hi - base >= length and base + length > mine[1]:
                    new_end = (base + length).astimezone(tz)
                    if new_end.date() == day or new_end.time() == datetime.min.time():
                        shift = base + length - mine[1]
                        found.append((shift, _later(person, other, weekday, end, _clock(new_end, day), shift, minutes)))
                top = min(mine[1], hi)
                if top - lo >= length and top - length < mine[0]:
                    new_start = (top - length).astimezone(tz)
                    if new_start.date() == day:
                        shift = mine[0] - (top - length)
                        found.append((shift, _earlier(person, other, weekday, start, _clock(new_start, day), shift, minutes)))
        day += _DAY
    return found


def _clock(local: datetime, day) -> str:
    return "24:00" if local.date() > day else local.strftime("%H:%M")


def _earlier(person, other, weekday, old, new, shift, minutes) -> str:
    return (f"If {person.name} could start {duration(shift)} earlier on {DAY_NAMES[weekday]}s "
            f"({new} instead of {old}, {person.timezone}), {person.name} and {other.name} "
            f"would share a {minutes}-minute slot.")


def _later(person, other, weekday, old, new, shift, minutes) -> str:
    return (f"If {person.name} could stay {duration(shift)} later on {DAY_NAMES[weekday]}s "
            f"(until {new} instead of {old}, {person.timezone}), {person.name} and {other.name} "
            f"would share a {minutes}-minute slot.")


def _add_a_window(person: Participant, other: Participant, minutes: int) -> str:
    hint = ""
    if other.availability:
        weekday, start, end = other.availability[0]
        hint = f", for example matching {other.name}'s {DAY_NAMES[weekday]} {start}-{end} ({other.timezone})"
    return (f"If {person.name} could add a weekly availability window of at least {minutes} minutes{hint}, "
            "they could be scheduled.")


def duration(delta: timedelta) -> str:
    """'1 h', '45 min', '1 h 30 min': rounded up to whole minutes."""
    total = -(-int(delta.total_seconds()) // 60)
    hours, mins = divmod(total, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"
