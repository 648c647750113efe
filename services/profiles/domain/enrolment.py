"""Who counts as enrolled and active in a program: the one rule behind the profiles service's enrolment counters.

A stored profile record (`{"org_id", "profile": {"program_ids": [...]}, "active": bool, ...}`) is enrolled in
every program its `profile.program_ids` names (a program named twice counts once), and active in them when
its `active` is True. An absent or erased record (None) counts nowhere. `enrolment_change` is what one write
of a record (before, after) changes in each program's counts: summed over every write since a database was
empty, it equals a fresh count of the records (tests/unit/profiles/test_enrolment.py shows it)."""

from collections.abc import Iterable, Mapping
from typing import Any

Record = Mapping[str, Any]
Delta = tuple[int, int]
"""(enrolled, active) added to a program's counts."""


def enrolment_of(record: Record | None) -> dict[str, Delta]:
    """What the record counts for in each program it names: (1, 1) when active, (1, 0) when not."""
    if record is None:
        return {}
    active = 1 if record.get("active") is True else 0
    return dict.fromkeys((record.get("profile") or {}).get("program_ids") or [], (1, active))


def enrolment_change(before: Record | None, after: Record | None) -> dict[str, Delta]:
    """What replacing `before` by `after` (None: no record) changes, per program; programs it leaves as
    they were are left out."""
    was, now = enrolment_of(before), enrolment_of(after)
    change = {}
    for program_id in was.keys() | now.keys():
        (e0, a0), (e1, a1) = was.get(program_id, (0, 0)), now.get(program_id, (0, 0))
        if (e1 - e0, a1 - a0) != (0, 0):
            change[program_id] = (e1 - e0, a1 - a0)
    return change


def enrolment_changes(writes: Iterable[tuple[str, Record | None, Record | None]]) -> dict[tuple[str, str], Delta]:
    """The changes of several writes `(org_id, before, after)`, summed per (org_id, program_id); the sums
    that come to nothing are left out."""
    total: dict[tuple[str, str], Delta] = {}
    for org_id, before, after in writes:
        for program_id, (enrolled, active) in enrolment_change(before, after).items():
            e, a = total.get((org_id, program_id), (0, 0))
            total[(org_id, program_id)] = (e + enrolled, a + active)
    return {key: delta for key, delta in total.items() if delta != (0, 0)}
