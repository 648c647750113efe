"""One calendar identity for a session, shared by the scheduler's .ics feed and the notifier's invites.

A calendar app files a component under its UID and RECURRENCE-ID. When the feed and the emailed
invite name a session the same way, the person sees it once, whichever of the two arrived first.

The scheme (RFC 5545 / RFC 5546):

- a partnership's series is ONE calendar event, `series_uid(org_id, schedule_id)`, stable for the
  life of the schedule;
- its first session is the master component (no RECURRENCE-ID); it lists every later session's
  start in RDATE;
- every later session is an instance of that event: RECURRENCE-ID = its start in UTC, as the
  schedule version being sent places it (`occurrences`). An update re-sends the whole series with
  a higher SEQUENCE (the schedule's version), which replaces the event as a whole; a withdrawal
  cancels the master, which cancels the series.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.contract.events import Session

DOMAIN = "reciprocal"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "calendar.reciprocal")


def series_uid(org_id: str, schedule_id: str) -> str:
    """The UID of a schedule's series: derived from the tenant and the schedule, so stable for the
    schedule's life and never the same for two tenants."""
    name = json.dumps([org_id, schedule_id])  # unambiguous: ("a", "bc") is not ("ab", "c")
    return f"{uuid.uuid5(_NAMESPACE, name)}@{DOMAIN}"


@dataclass(frozen=True)
class Occurrence:
    session: Session
    recurrence_id: datetime | None
    """None for the master component (the first session); else the instance this session is."""


def occurrences(sessions: Iterable[Session]) -> list[Occurrence]:
    """The series' sessions in time order, each with its RECURRENCE-ID; the first is the master."""
    ordered = sorted(sessions, key=lambda s: (s.starts_at, s.number))
    return [Occurrence(s, None if i == 0 else s.starts_at.astimezone(UTC)) for i, s in enumerate(ordered)]


def rdates(series: list[Occurrence]) -> list[datetime]:
    """What the master lists in RDATE: every other occurrence's RECURRENCE-ID."""
    return [o.recurrence_id for o in series if o.recurrence_id is not None]
