"""A per-process cache of each program's vectorised pool (`PoolIndex`), refreshed from MongoDB.

Replicas each consume only some partitions, so a cache cannot follow the events its own process
saw: it pulls, from the database, the people written since its last refresh (every profile write
stamps `updated_at` and a fresh `rev`). The window reaches back `overlap_s` further, to catch
transactions that stamped a document before the last refresh but committed after it, and clocks
that disagree a little. A refresh first reads only the `rev` of each person in the window, then the
profiles of those whose `rev` the cache does not hold: the overlap costs a few bytes per person, not
their profiles (at 100 profiles/s a 5 s window holds 500). The handlers tell the cache what their own
committed transactions wrote (`committed`), so in one replica the second read is rarely needed. A
changed program (taxonomy, dates, rules) rebuilds the index.

The index only ranks candidates: the handlers validate each one against the current database state
inside their transaction, so a cache a few moments behind can cost a better candidate, never a
wrong proposal.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from services.matcher.domain import Person, PoolIndex, Program, person_from_profile
from shared.contract import ProfileChanged


class PeopleSource(Protocol):
    async def pool_docs(self, program: Program) -> list[dict[str, Any]]: ...

    async def people_changed_since(self, org_id: str, since: datetime) -> list[dict[str, Any]]:
        """person_id and rev of everyone written after `since`."""

    async def people_docs(self, org_id: str, person_ids: list[str]) -> list[dict[str, Any]]:
        """person_id, rev and profile of these people."""


@dataclass
class _Entry:
    program: Program
    index: PoolIndex
    since: datetime
    revs: dict[str, str] = field(default_factory=dict)


class PoolCache:
    def __init__(self, source: PeopleSource, *, overlap_s: float = 5.0) -> None:
        self.source = source
        self.overlap = timedelta(seconds=overlap_s)
        self.entries: dict[tuple[str, str], _Entry] = {}
        self.loads = 0  # full loads, for tests and metrics
        self.pulled = 0  # documents read by incremental refreshes

    async def index(self, program: Program) -> PoolIndex:
        key = (program.org_id, program.program_id)
        entry = self.entries.get(key)
        started = datetime.now(UTC)
        if entry is None or entry.program != program:
            docs = await self.source.pool_docs(program)
            self.loads += 1
            people = [person_from_doc(doc, program) for doc in docs]
            entry = _Entry(program, PoolIndex(program, people, now=started), started - self.overlap,
                           {doc["person_id"]: doc.get("rev", "") for doc in docs})
            self.entries[key] = entry
            return entry.index
        changed = await self.source.people_changed_since(program.org_id, entry.since)
        unknown = sorted({d["person_id"] for d in changed if entry.revs.get(d["person_id"]) != d.get("rev", "")})
        docs = await self.source.people_docs(program.org_id, unknown) if unknown else []
        self.pulled += len(docs)
        for doc in docs:
            pid, rev = doc["person_id"], doc.get("rev", "")
            if entry.revs.get(pid) == rev:
                continue
            entry.revs[pid] = rev
            person = person_from_doc(doc, program)
            if person.active and program.program_id in person.program_ids:
                entry.index.upsert(person)
            elif pid in entry.index:
                entry.index.remove(pid)
        entry.since = started - self.overlap
        return entry.index

    def committed(self, program: Program, index: PoolIndex, revs: Mapping[str, str]) -> None:
        """A transaction of this process committed these people (person_id -> the rev it wrote) and put
        them, as it wrote them, into `index`: while that is still the program's cached index (not
        rebuilt since), its next refresh need not read their profiles again."""
        entry = self.entries.get((program.org_id, program.program_id))
        if entry is not None and entry.index is index:
            entry.revs.update(revs)


def person_from_doc(doc: dict[str, Any], program: Program) -> Person:
    """A stored people document as the matcher's domain Person, with the program's skill aliases."""
    return person_from_profile(ProfileChanged.model_validate(doc["profile"]), program.skill_aliases)
