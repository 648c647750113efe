import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.matcher.adapters.pools import PoolCache, person_from_doc
from services.matcher.domain import Person, PoolIndex, Program
from services.matcher.domain.match import OPEN, Match, MatchStatus
from shared.contract import ProfileChanged
from shared.pulled import ProgramDocuments, PulledCopies, touched
from shared.store import Tx, ensure_ttl, find_in

OPEN_STATUSES = [status.value for status in OPEN]
LEDGER_FIELDS = {"_id": 1, "person_a": 1, "person_b": 1, "status": 1, "reason": 1, "created_at": 1, "updated_at": 1}
"""What the matcher's copy of each program's matches (`MatcherRepository.ledger`) keeps: enough for the
program's figures and the order of its rows."""


@dataclass
class PairHistory:
    """What the matches collection says about some people in one program.

    `load` counts open partnerships (pending + accepted); `partners` holds everyone a person was
    ever proposed to in the program, whatever became of it: the match_id of a pair is deterministic,
    so a pair with a match is never proposed again (open pairs are busy, declined/expired/ended pairs
    are blocked, and a withdrawn proposal is not revived under the same id)."""

    load: dict[str, int] = field(default_factory=dict)
    partners: dict[str, set[str]] = field(default_factory=dict)

    def add(self, people: list[str], status: str) -> None:
        for pid in people:
            self.partners.setdefault(pid, set()).update(q for q in people if q != pid)
            if MatchStatus(status) in OPEN:
                self.load[pid] = self.load.get(pid, 0) + 1

    @classmethod
    def of(cls, program_id: str, matches: Iterable[Match]) -> "PairHistory":
        """The history these matches (each once) make in one program."""
        history = cls()
        for match in {m.match_id: m for m in matches if m.program_id == program_id}.values():
            history.add(list(match.people), match.status.value)
        return history

    def taken(self) -> set[frozenset[str]]:
        return {frozenset((p, q)) for p, qs in self.partners.items() for q in qs}


class MatcherRepository:
    """The matcher's copy of the pool, its programs, every proposal or partnership (pair history) and
    the reports of whole-cohort runs. `pool_index` serves the cached, vectorised pool of a program."""

    def __init__(self, db: AsyncDatabase, *, overlap_s: float = 5.0, ledger_overlap_s: float = 10.0,
                 ledger_full_every_s: float = 300.0) -> None:
        self.people = db["people"]
        self.programs = db["programs"]
        self.matches = db["matches"]
        self.reports = db["cohort_reports"]
        self.previews = db["cohort_previews"]
        self.turns = db["matching_turns"]
        self.pools = PoolCache(self, overlap_s=overlap_s)
        self.ledger: PulledCopies[tuple[str, str]] = PulledCopies(
            ProgramDocuments(self.matches, self.programs, LEDGER_FIELDS), overlap_s=ledger_overlap_s,
            full_every_s=ledger_full_every_s)

    async def ensure_indexes(self, reports_days: float = 365.0, previews_days: float = 90.0) -> None:
        await ensure_ttl(self.reports, "requested_at", reports_days)
        await ensure_ttl(self.previews, "created_at", previews_days)
        await self.people.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.people.create_index([("org_id", 1), ("program_ids", 1)])
        await self.people.create_index([("org_id", 1), ("updated_at", 1)])
        await self.programs.create_index([("org_id", 1), ("program_id", 1)], unique=True)
        await self.matches.create_index([("org_id", 1), ("program_id", 1), ("status", 1)])
        await self.matches.create_index([("org_id", 1), ("people", 1)])
        await self.matches.create_index([("status", 1), ("expires_at", 1)])
        await self.matches.create_index([("org_id", 1), ("program_id", 1), ("touched_at", 1)])
        await self.reports.create_index([("org_id", 1), ("program_id", 1), ("requested_at", -1)])
        await self.previews.create_index([("org_id", 1), ("program_id", 1), ("created_at", -1)])

    # --- programs ------------------------------------------------------------------------------

    async def take_matching_turn(self, tx: Tx, program: Program) -> None:
        """Serialise matching within a program, across transactions and replicas. Two people who arrive
        at once would each miss the other (neither sees the other's uncommitted profile); both
        transactions write this document, so one hits a write conflict, is retried after the other
        commits, and then sees it."""
        await self.turns.update_one({"_id": f"{program.org_id}|{program.program_id}"}, {"$inc": {"turn": 1}},
                                    upsert=True, session=tx.session)

    async def save_program(self, tx: Tx, program: Program) -> None:
        """The configuration; the program's state (`cohort_matched_at`) stays as it was."""
        await self.programs.update_one(
            {"org_id": program.org_id, "program_id": program.program_id}, {"$set": program.to_doc()}, upsert=True,
            session=tx.session,
        )

    async def mark_cohort_matched(self, tx: Tx, program: Program, at: datetime) -> bool:
        """Record that the cohort is being matched as a whole; False if that was already done (by
        another replica, or an earlier request), so it happens once."""
        result = await self.programs.update_one(
            {"org_id": program.org_id, "program_id": program.program_id, "cohort_matched_at": None},
            {"$set": {"cohort_matched_at": at}}, session=tx.session,
        )
        return result.modified_count == 1

    async def mark_cohort_previewed(self, tx: Tx, program: Program, at: datetime) -> bool:
        """Record that the close made its preview (approval required); False if that was already done."""
        result = await self.programs.update_one(
            {"org_id": program.org_id, "program_id": program.program_id, "cohort_previewed_at": None},
            {"$set": {"cohort_previewed_at": at}}, session=tx.session,
        )
        return result.modified_count == 1

    async def schedule_batch(self, tx: Tx, program: Program, due: datetime, arrived_at: datetime) -> None:
        """A batch is due by `due` (the earlier of this and one already scheduled), and someone arrived for
        it at `arrived_at` (the latest arrival is kept)."""
        await self.programs.update_one({"org_id": program.org_id, "program_id": program.program_id},
                                       {"$min": {"batch_due_at": due}, "$max": {"batch_arrival_at": arrived_at}},
                                       session=tx.session)

    async def batches_due(self, now: datetime) -> list[tuple[Program, datetime, datetime | None]]:
        """Programs whose batch window has ended: the due time each was scheduled for, and its latest arrival."""
        cursor = self.programs.find({"batch_due_at": {"$lte": now}})
        return [(Program.from_doc(doc), _utc(doc["batch_due_at"]),
                 _utc(doc["batch_arrival_at"]) if doc.get("batch_arrival_at") else None) async for doc in cursor]

    async def batch_due_at(self, program: Program) -> datetime | None:
        doc = await self.programs.find_one({"org_id": program.org_id, "program_id": program.program_id},
                                           {"batch_due_at": 1})
        return _utc(doc["batch_due_at"]) if doc and doc.get("batch_due_at") else None

    async def claim_batch(self, tx: Tx, program: Program, due: datetime) -> bool:
        """Take the batch due at `due`; False if another replica (or an earlier run) took it."""
        result = await self.programs.update_one(
            {"org_id": program.org_id, "program_id": program.program_id, "batch_due_at": due},
            {"$unset": {"batch_due_at": "", "batch_arrival_at": ""}}, session=tx.session,
        )
        return result.modified_count == 1

    async def cohorts_due(self, now: datetime) -> list[Program]:
        """Cohort programs whose registration has closed and that were neither matched nor previewed."""
        cursor = self.programs.find({"matching": "cohort", "cohort_matched_at": None, "cohort_previewed_at": None,
                                     "registration_closes_at": {"$lte": now}})
        return [Program.from_doc(doc) async for doc in cursor]

    async def program(self, org_id: str, program_id: str, tx: Tx | None = None) -> Program | None:
        doc = await self.programs.find_one({"org_id": org_id, "program_id": program_id}, session=_s(tx))
        return Program.from_doc(doc) if doc else None

    # --- people --------------------------------------------------------------------------------

    async def save_profile(self, tx: Tx, profile: ProfileChanged) -> dict[tuple[str, str], str]:
        return await self.save_profiles(tx, [profile])

    async def save_profiles(self, tx: Tx, profiles: list[ProfileChanged]) -> dict[tuple[str, str], str]:
        """One bulk upsert. Every write gets a fresh `rev` and `updated_at`: the pool caches pull changes
        by them. The rev written for each (org_id, person_id), the last one if a person came twice."""
        now = datetime.now(UTC)
        revs = {(p.org_id, p.person_id): uuid.uuid4().hex for p in profiles}
        writes = [ReplaceOne({"org_id": p.org_id, "person_id": p.person_id}, {
            "org_id": p.org_id,
            "person_id": p.person_id,
            "program_ids": p.program_ids,
            "active": p.active,
            "profile": p.model_dump(mode="json"),
            "rev": revs[(p.org_id, p.person_id)],
            "updated_at": now,
        }, upsert=True) for p in profiles]  # fmt: skip
        if writes:
            await self.people.bulk_write(writes, ordered=True, session=tx.session)
        return revs

    async def pool(self, program: Program, tx: Tx | None = None) -> dict[str, Person]:
        """Active people of one program, their skills normalised with the program's taxonomy extension."""
        return {doc["person_id"]: person_from_doc(doc, program) async for doc in self.people.find(
            {"org_id": program.org_id, "program_ids": program.program_id, "active": True}, session=_s(tx))}

    async def pool_revisions(self, program: Program, tx: Tx | None = None) -> dict[str, str]:
        """person id -> revision of everyone in the pool (a preview's fingerprint)."""
        return {doc["person_id"]: doc["rev"] async for doc in self.people.find(
            {"org_id": program.org_id, "program_ids": program.program_id, "active": True},
            {"person_id": 1, "rev": 1}, session=_s(tx))}

    async def persons(self, program: Program, person_ids: Iterable[str], tx: Tx | None = None) -> dict[str, Person]:
        """These people as they are now (whatever their status), normalised for `program`."""
        docs = await find_in(self.people, {"org_id": program.org_id}, "person_id", person_ids, session=_s(tx))
        return {doc["person_id"]: person_from_doc(doc, program) for doc in docs}

    async def pool_index(self, program: Program) -> PoolIndex:
        """The program's vectorised pool as last committed (cached, refreshed incrementally)."""
        return await self.pools.index(program)

    async def pool_docs(self, program: Program) -> list[dict[str, Any]]:
        cursor = self.people.find({"org_id": program.org_id, "program_ids": program.program_id, "active": True},
                                  {"person_id": 1, "rev": 1, "profile": 1})
        return await cursor.to_list(None)

    async def people_changed_since(self, org_id: str, since: datetime) -> list[dict[str, Any]]:
        cursor = self.people.find({"org_id": org_id, "updated_at": {"$gt": since}},
                                  {"_id": 0, "person_id": 1, "rev": 1})
        return await cursor.to_list(None)

    async def people_docs(self, org_id: str, person_ids: list[str]) -> list[dict[str, Any]]:
        return await find_in(self.people, {"org_id": org_id}, "person_id", person_ids,
                             {"person_id": 1, "rev": 1, "profile": 1})

    def pool_committed(self, program: Program, index: PoolIndex, revs: Mapping[str, str]) -> None:
        """See `PoolCache.committed`."""
        self.pools.committed(program, index, revs)

    # --- matches -------------------------------------------------------------------------------

    async def history(self, program: Program, tx: Tx | None = None) -> PairHistory:
        """Open load and every pair with a match, for the whole program (whole-cohort runs)."""
        history = PairHistory()
        cursor = self.matches.find({"org_id": program.org_id, "program_id": program.program_id},
                                   {"people": 1, "status": 1}, session=_s(tx))
        async for doc in cursor:
            history.add(doc["people"], doc["status"])
        return history

    async def history_of(self, program: Program, person_ids: Iterable[str], tx: Tx | None = None) -> PairHistory:
        """Like `history`, for the matches of these people only (their load and partners are exact)."""
        history = PairHistory()
        for doc in await self._matches_of_people(program.org_id, person_ids, tx, {"people": 1, "status": 1,
                                                                                   "program_id": 1}):
            if doc["program_id"] == program.program_id:
                history.add(doc["people"], doc["status"])
        return history

    async def _matches_of_people(self, org_id: str, person_ids: Iterable[str], tx: Tx | None,
                                 projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """Every match of these people, from the (org_id, people) index; callers filter on anything else.
        SecantusDB's planner uses an index for equalities followed by one list or range: a further field in
        the query (program, status) made it read every match of the organisation."""
        return await find_in(self.matches, {"org_id": org_id}, "people", person_ids, projection, session=_s(tx))

    async def open_matches_of(self, org_id: str, person_id: str, tx: Tx | None = None) -> list[Match]:
        return [Match.from_doc(doc) for doc in await self._matches_of_people(org_id, [person_id], tx)
                if doc["status"] in OPEN_STATUSES]

    async def open_matches_of_people(self, tx: Tx, people: Iterable[tuple[str, str]]
                                     ) -> dict[tuple[str, str], list[Match]]:
        """The open matches of these (org_id, person_id) people, by person: one read per tenant."""
        return {person: open_ for person, matches in (await self.matches_of_people(tx, people)).items()
                if (open_ := [m for m in matches if m.is_open])}

    async def matches_of_people(self, tx: Tx, people: Iterable[tuple[str, str]]
                                ) -> dict[tuple[str, str], list[Match]]:
        """Every match of these (org_id, person_id) people, whatever its status or program, by person:
        one read per tenant (their open matches, and their pair history: `PairHistory.of`)."""
        by_org: dict[str, set[str]] = {}
        for org_id, person_id in people:
            by_org.setdefault(org_id, set()).add(person_id)
        found: dict[tuple[str, str], list[Match]] = {}
        for org_id, ids in by_org.items():
            for doc in await self._matches_of_people(org_id, ids, tx):
                match = Match.from_doc(doc)
                for pid in match.people:
                    if pid in ids:
                        found.setdefault((org_id, pid), []).append(match)
        return found

    async def erase_person(self, tx: Tx, org_id: str, person_id: str) -> int:
        """Delete the matcher's copy of the person's profile."""
        result = await self.people.delete_many({"org_id": org_id, "person_id": person_id}, session=tx.session)
        return result.deleted_count

    async def count_matches_of(self, tx: Tx, org_id: str, person_id: str) -> int:
        return await self.matches.count_documents({"org_id": org_id, "people": person_id}, session=tx.session)

    async def match(self, org_id: str, match_id: str, tx: Tx | None = None) -> Match | None:
        doc = await self.matches.find_one({"_id": match_id, "org_id": org_id}, session=_s(tx))
        return Match.from_doc(doc) if doc else None

    async def insert_matches(self, tx: Tx, matches: list[Match]) -> int:
        """Insert these matches in one bulk write, never overwriting one that exists: how many were new."""
        return len(await self.insert_new_matches(tx, matches))

    async def insert_new_matches(self, tx: Tx, matches: list[Match]) -> list[Match]:
        """Insert these matches in one bulk write, never overwriting one that exists, the new ones
        returned. Upserts with $setOnInsert, not inserts: a duplicate-key error would abort the transaction."""
        if not matches:
            return []
        stamp = touched()
        result = await self.matches.bulk_write(
            [UpdateOne({"_id": m.match_id}, {"$setOnInsert": {**m.to_doc(), "touched_at": stamp}}, upsert=True)
             for m in matches],
            session=tx.session,
        )
        return [matches[i] for i in sorted(result.upserted_ids)]

    async def save_transition(self, tx: Tx, match: Match, was: MatchStatus) -> bool:
        """Save what a transition changed, only if the stored match is still in the status it was
        loaded in (another transaction may have moved it since): True if saved."""
        result = await self.matches.update_one({"_id": match.match_id, "status": was.value},
                                               {"$set": {**match.changes(), "touched_at": touched()}},
                                               session=tx.session)
        return result.matched_count == 1

    async def expired(self, now: datetime, limit: int = 100) -> list[Match]:
        cursor = self.matches.find({"status": MatchStatus.PROPOSED.value, "expires_at": {"$lte": now}}).limit(limit)
        return [Match.from_doc(doc) async for doc in cursor]

    async def person_doc(self, org_id: str, person_id: str) -> dict[str, Any] | None:
        return await self.people.find_one({"org_id": org_id, "person_id": person_id}, {"_id": 0, "rev": 0})

    async def matches_of(self, org_id: str, person_id: str) -> list[dict[str, Any]]:
        cursor = self.matches.find({"org_id": org_id, "people": person_id}).sort("created_at", -1)
        return await cursor.to_list(None)

    # --- whole-cohort reports ------------------------------------------------------------------

    async def save_cohort_report(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.reports.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def save_preview(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.previews.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def preview(self, org_id: str, program_id: str, preview_id: str | None = None,
                      tx: Tx | None = None) -> dict[str, Any] | None:
        """The preview with this id, or the program's newest when no id is given."""
        query: dict[str, Any] = {"org_id": org_id, "program_id": program_id}
        if preview_id is not None:
            query["preview_id"] = preview_id
        cursor = self.previews.find(query, session=_s(tx)).sort("created_at", DESCENDING).limit(1)
        docs = await cursor.to_list(1)
        return docs[0] if docs else None

    async def cohort_report(self, org_id: str, program_id: str) -> dict[str, Any] | None:
        cursor = self.reports.find({"org_id": org_id, "program_id": program_id}, {"_id": 0})
        docs = await cursor.sort("requested_at", DESCENDING).limit(1).to_list(1)
        return docs[0] if docs else None


def _s(tx: Tx | None) -> Any:
    return tx.session if tx else None


def _utc(value: datetime) -> datetime:
    """BSON datetimes come back naive (UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
