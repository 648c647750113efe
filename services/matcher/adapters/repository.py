from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.matcher.domain import Person, Program, person_from_profile
from shared.contract import ProfileChanged
from shared.store import Tx

OPEN = ("proposed", "accepted")
BLOCKING = ("declined", "expired", "ended")


class MatcherRepository:
    """The matcher's copy of the pool, its programs, and every proposal or partnership (pair history)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.people = db["people"]
        self.programs = db["programs"]
        self.matches = db["matches"]

    async def ensure_indexes(self) -> None:
        await self.people.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.people.create_index([("org_id", 1), ("program_ids", 1)])
        await self.programs.create_index([("org_id", 1), ("program_id", 1)], unique=True)
        await self.matches.create_index([("org_id", 1), ("program_id", 1), ("status", 1)])
        await self.matches.create_index([("org_id", 1), ("people", 1)])
        await self.matches.create_index([("status", 1), ("expires_at", 1)])

    async def save_program(self, tx: Tx, program: Program) -> None:
        await self.programs.replace_one(
            {"org_id": program.org_id, "program_id": program.program_id}, program.to_doc(), upsert=True,
            session=tx.session,
        )

    async def program(self, org_id: str, program_id: str, tx: Tx | None = None) -> Program | None:
        doc = await self.programs.find_one({"org_id": org_id, "program_id": program_id}, session=_s(tx))
        return Program.from_doc(doc) if doc else None

    async def save_profile(self, tx: Tx, profile: ProfileChanged) -> None:
        doc = {
            "org_id": profile.org_id,
            "person_id": profile.person_id,
            "program_ids": profile.program_ids,
            "active": profile.active,
            "profile": profile.model_dump(mode="json"),
        }
        await self.people.replace_one(
            {"org_id": profile.org_id, "person_id": profile.person_id}, doc, upsert=True, session=tx.session
        )

    async def pool(self, program: Program, tx: Tx | None = None) -> dict[str, Person]:
        """Active people of one program, their skills normalised with the program's taxonomy extension."""
        cursor = self.people.find(
            {"org_id": program.org_id, "program_ids": program.program_id, "active": True}, session=_s(tx)
        )
        return {
            doc["person_id"]: person_from_profile(ProfileChanged.model_validate(doc["profile"]), program.skill_aliases)
            async for doc in cursor
        }

    async def person(self, org_id: str, person_id: str, program: Program, tx: Tx | None = None) -> Person | None:
        doc = await self.people.find_one({"org_id": org_id, "person_id": person_id}, session=_s(tx))
        if doc is None:
            return None
        return person_from_profile(ProfileChanged.model_validate(doc["profile"]), program.skill_aliases)

    async def history(self, org_id: str, program_id: str, tx: Tx | None = None) -> tuple[dict[str, int], set]:
        """Open partnerships per person (pending + active), and the pairs that must never be proposed again."""
        load: dict[str, int] = {}
        blocked: set[frozenset[str]] = set()
        cursor = self.matches.find(
            {"org_id": org_id, "program_id": program_id, "status": {"$in": [*OPEN, *BLOCKING]}},
            {"people": 1, "status": 1},
            session=_s(tx),
        )
        async for doc in cursor:
            if doc["status"] in OPEN:
                for pid in doc["people"]:
                    load[pid] = load.get(pid, 0) + 1
            else:
                blocked.add(frozenset(doc["people"]))
        return load, blocked

    async def open_matches_of(self, org_id: str, person_id: str, tx: Tx | None = None) -> list[dict[str, Any]]:
        cursor = self.matches.find({"org_id": org_id, "people": person_id, "status": {"$in": list(OPEN)}},
                                   session=_s(tx))
        return await cursor.to_list(None)

    async def match(self, org_id: str, match_id: str, tx: Tx | None = None) -> dict[str, Any] | None:
        return await self.matches.find_one({"_id": match_id, "org_id": org_id}, session=_s(tx))

    async def save_match(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.matches.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def set_status(self, tx: Tx, match_id: str, expected: str, changes: dict[str, Any]) -> bool:
        """Guarded transition: only applies if the match is still in the expected status."""
        result = await self.matches.update_one({"_id": match_id, "status": expected}, {"$set": changes},
                                               session=tx.session)
        return result.matched_count == 1

    async def expired(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.matches.find({"status": "proposed", "expires_at": {"$lte": now}}).limit(limit)
        return await cursor.to_list(limit)

    async def matches_of(self, org_id: str, person_id: str) -> list[dict[str, Any]]:
        cursor = self.matches.find({"org_id": org_id, "people": person_id}).sort("created_at", -1)
        return await cursor.to_list(None)


def _s(tx: Tx | None) -> Any:
    return tx.session if tx else None
