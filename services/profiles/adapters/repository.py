from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.store import Tx, find_in


class ProfileRepository:
    """Profiles and programs of every tenant, always addressed by (org_id, id)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.profiles = db["profiles"]
        self.programs = db["programs"]

    async def ensure_indexes(self) -> None:
        await self.profiles.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.programs.create_index([("org_id", 1), ("program_id", 1)], unique=True)

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

    async def save_many(self, tx: Tx, docs: list[dict[str, Any]]) -> None:
        if docs:
            await self.profiles.bulk_write(
                [ReplaceOne({"org_id": d["org_id"], "person_id": d["person_id"]}, d, upsert=True) for d in docs],
                ordered=True, session=tx.session,
            )

    async def save(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.profiles.replace_one(
            {"org_id": doc["org_id"], "person_id": doc["person_id"]}, doc, upsert=True, session=tx.session
        )

    async def save_program(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.programs.replace_one(
            {"org_id": doc["org_id"], "program_id": doc["program_id"]}, doc, upsert=True, session=tx.session
        )

    async def erase(self, tx: Tx, org_id: str, person_id: str) -> int:
        """Delete the person's profile record (the latest version is the only one kept)."""
        result = await self.profiles.delete_many({"org_id": org_id, "person_id": person_id}, session=tx.session)
        return result.deleted_count
