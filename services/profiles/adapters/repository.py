"""The profiles service's database: profile records, programs, and the enrolment counters that every write
of a profile record keeps in its own transaction (so `GET /programs` reads a few small documents, never
the org's profiles)."""

import json
import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.profiles.domain.enrolment import Delta, Record, enrolment_changes
from shared.store import Tx, UnitOfWork, find_in

ENROLMENT_SHARDS = 16
"""A write transaction adds its changes to one of this many counter documents per (org, program), chosen at
random, so that concurrent transactions (partitions, replicas) rarely write the same document: SecantusDB
aborts one of two transactions that do, and the unit of work runs it again."""
COUNTERS_MARKER = "enrolment_counters"
"""The `meta` document whose presence says the counters were built (`build_enrolment_counters`)."""
ENROLMENT_FIELDS = {"_id": 0, "org_id": 1, "active": 1, "profile.program_ids": 1}


def shard_id(org_id: str, program_id: str, shard: int) -> str:
    """`["<org>","<program>",<shard>]`: ids may hold any character, so a plain separator could make two
    (org, program) pairs share a document."""
    return json.dumps([org_id, program_id, shard], separators=(",", ":"))


class ProfileRepository:
    """Profiles and programs of every tenant, always addressed by (org_id, id)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.profiles = db["profiles"]
        self.programs = db["programs"]
        self.enrolment = db["enrolment"]
        self.meta = db["meta"]

    async def ensure_indexes(self) -> None:
        await self.profiles.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.programs.create_index([("org_id", 1), ("program_id", 1)], unique=True)
        await self.enrolment.create_index([("org_id", 1)])

    async def get(self, org_id: str, person_id: str, tx: Tx | None = None) -> dict[str, Any] | None:
        return await self.profiles.find_one(
            {"org_id": org_id, "person_id": person_id}, {"_id": 0}, session=tx.session if tx else None
        )

    async def get_many(self, tx: Tx, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The records of these (org_id, person_id) people that exist: one read per tenant."""
        people: dict[str, set[str]] = {}
        for org_id, person_id in keys:
            people.setdefault(org_id, set()).add(person_id)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for org_id, ids in people.items():
            for doc in await find_in(self.profiles, {"org_id": org_id}, "person_id", ids, {"_id": 0},
                                     session=tx.session):
                found[(org_id, doc["person_id"])] = doc
        return found

    async def save_many(self, tx: Tx, docs: list[dict[str, Any]],
                        before: Mapping[tuple[str, str], Record]) -> None:
        """Write the records, and their change to the enrolment counts: `before` holds the records as they
        were when the transaction read them (a person absent from it had none)."""
        if docs:
            await self.profiles.bulk_write(
                [ReplaceOne({"org_id": d["org_id"], "person_id": d["person_id"]}, d, upsert=True) for d in docs],
                ordered=True, session=tx.session,
            )
            await self._count(tx, [(d["org_id"], before.get((d["org_id"], d["person_id"])), d) for d in docs])

    async def save(self, tx: Tx, doc: dict[str, Any], before: Record | None) -> None:
        """Write one record, and its change from `before` (the record as read in this transaction)."""
        await self.profiles.replace_one(
            {"org_id": doc["org_id"], "person_id": doc["person_id"]}, doc, upsert=True, session=tx.session
        )
        await self._count(tx, [(doc["org_id"], before, doc)])

    async def save_program(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.programs.replace_one(
            {"org_id": doc["org_id"], "program_id": doc["program_id"]}, doc, upsert=True, session=tx.session
        )

    async def erase(self, tx: Tx, org_id: str, person_id: str) -> int:
        """Delete the person's profile record (the latest version is the only one kept), and its enrolment."""
        query = {"org_id": org_id, "person_id": person_id}
        gone = await self.profiles.find(query, ENROLMENT_FIELDS, session=tx.session).to_list(None)
        if not gone:
            return 0
        result = await self.profiles.delete_many(query, session=tx.session)
        await self._count(tx, [(org_id, record, None) for record in gone])
        return result.deleted_count

    async def _count(self, tx: Tx, writes: Iterable[tuple[str, Record | None, Record | None]]) -> None:
        """Add the writes' changes to one counter shard per (org, program), in one round trip."""
        changes = enrolment_changes(writes)
        if changes:
            shard = random.randrange(ENROLMENT_SHARDS)
            await self.enrolment.bulk_write(
                [UpdateOne({"_id": shard_id(org_id, program_id, shard)},
                           {"$inc": {"enrolled": enrolled, "active": active},
                            "$setOnInsert": {"org_id": org_id, "program_id": program_id, "shard": shard}},
                           upsert=True)
                 for (org_id, program_id), (enrolled, active) in sorted(changes.items())],
                ordered=False, session=tx.session,
            )

    async def enrolment_counts(self, org_id: str) -> dict[str, Delta]:
        """(enrolled, active) of every program of the org that someone is enrolled in: the sum of its shards
        (one shard alone may be negative: a withdrawal counted on another shard than the enrolment)."""
        totals: dict[str, Delta] = {}
        async for doc in self.enrolment.find({"org_id": org_id}, {"_id": 0, "program_id": 1, "enrolled": 1,
                                                                  "active": 1}):
            enrolled, active = totals.get(doc["program_id"], (0, 0))
            totals[doc["program_id"]] = (enrolled + doc["enrolled"], active + doc["active"])
        return {program_id: counts for program_id, counts in totals.items() if counts[0]}

    async def build_enrolment_counters(self, uow: UnitOfWork) -> bool:
        """Count the enrolment from the profile records once, for a database written before the counters
        existed (at start-up, before consuming); whether this call built them. In one transaction: every
        record, counted by the same rule as each write (`enrolment_change(None, record)`), becomes shard 0
        of its (org, program), and the `meta` marker is inserted. A second replica racing this one fails
        on the marker (or on a shard) and then finds the marker: it builds nothing.

        A rolling upgrade with replicas of the previous version still consuming: those write profiles without
        counting them, so a change they commit after this count is missing from the counters (a change the
        count read is in them) until they are rebuilt: once every replica runs this version, delete the
        marker (`meta`, `_id: "enrolment_counters"`) and restart one replica. Rebuilding beside replicas of
        this version is safe: their counter writes either are in the snapshot counted or conflict with it."""
        if await self.meta.find_one({"_id": COUNTERS_MARKER}, {"_id": 1}):
            return False

        async def work(tx: Tx) -> bool:
            if await self.meta.find_one({"_id": COUNTERS_MARKER}, {"_id": 1}, session=tx.session):
                return False
            records = await self.profiles.find({}, ENROLMENT_FIELDS, session=tx.session).to_list(None)
            totals = enrolment_changes((r["org_id"], None, r) for r in records)
            await self.enrolment.delete_many({}, session=tx.session)
            if totals:
                await self.enrolment.insert_many(
                    [{"_id": shard_id(org_id, program_id, 0), "org_id": org_id, "program_id": program_id,
                      "shard": 0, "enrolled": enrolled, "active": active}
                     for (org_id, program_id), (enrolled, active) in sorted(totals.items())],
                    session=tx.session,
                )
            await self.meta.insert_one({"_id": COUNTERS_MARKER, "built_at": datetime.now(UTC),
                                        "profiles": len(records)}, session=tx.session)
            return True

        try:
            return await uow.run(None, work)
        except DuplicateKeyError:
            if await self.meta.find_one({"_id": COUNTERS_MARKER}, {"_id": 1}):
                return False  # another replica built them meanwhile
            raise
