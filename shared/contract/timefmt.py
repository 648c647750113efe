"""Clock times and time zones, parsed once for the whole platform.

Availability windows are "HH:MM" in a person's own IANA time zone; "24:00" closes a day. The
contract validates them with these functions, and the matcher and the scheduler read them with the
same ones, so a window means the same thing everywhere.
"""

import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_MINUTES = 24 * 60
HHMM_PATTERN = r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$"
_HHMM = re.compile(HHMM_PATTERN)


def is_hhmm(value: str) -> bool:
    return bool(_HHMM.match(value))


def minutes_of(hhmm: str) -> int:
    """Minutes since local midnight of an "HH:MM" clock time (0 to 1440); ValueError if malformed."""
    if not _HHMM.match(hhmm):
        raise ValueError(f"'{hhmm}' is not a time like 09:30")
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


@lru_cache(maxsize=1024)
def zone_of(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None
