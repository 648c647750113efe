from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.scheduler.domain import Participant, SeriesPlan
from shared.contract import Session
from shared.store import Tx


class SchedulerRepository:
    """People (time zones, availability), program plans, schedules and persisted reminder timers."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.people = db["people"]
        self.programs = db["programs"]
        self.schedules = db["schedules"]
        self.timers = db["timers"]

    async def ensure_indexes(self) -> None:
        await self.people.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.programs.create_index([("org_id", 1), ("program_id", 1)], unique=True)
        await self.schedules.create_index([("org_id", 1), ("people", 1), ("status", 1)])
        await self.schedules.create_index([("org_id", 1), ("program_id", 1), ("status", 1)])
        await self.timers.create_index([("status", 1), ("due_at", 1)])
        await self.timers.create_index([("match_id", 1)])

    async def save_person(self, tx: Tx, org_id: str, person: Participant) -> None:
        await self.people.replace_one(
            {"org_id": org_id, "person_id": person.person_id},
            {"org_id": org_id, "person_id": person.person_id, "participant": person.to_doc()},
            upsert=True,
            session=tx.session,
        )

    async def person(self, org_id: str, person_id: str, tx: Tx | None = None) -> Participant | None:
        doc = await self.people.find_one({"org_id": org_id, "person_id": person_id}, session=_s(tx))
        return Participant.from_doc(doc["participant"]) if doc else None

    async def save_plan(self, tx: Tx, org_id: str, plan: SeriesPlan) -> None:
        await self.programs.replace_one(
            {"org_id": org_id, "program_id": plan.program_id},
            {"org_id": org_id, "program_id": plan.program_id, "plan": plan.to_doc()},
            upsert=True,
            session=tx.session,
        )

    async def plan(self, org_id: str, program_id: str, tx: Tx | None = None) -> SeriesPlan | None:
        doc = await self.programs.find_one({"org_id": org_id, "program_id": program_id}, session=_s(tx))
        return SeriesPlan.from_doc(doc["plan"]) if doc else None

    async def schedule(self, org_id: str, match_id: str, tx: Tx | None = None) -> dict[str, Any] | None:
        return await self.schedules.find_one({"_id": match_id, "org_id": org_id}, session=_s(tx))

    async def save_schedule(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.schedules.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def schedules_of(self, org_id: str, person_id: str, statuses: tuple[str, ...],
                           tx: Tx | None = None) -> list[dict[str, Any]]:
        cursor = self.schedules.find({"org_id": org_id, "people": person_id, "status": {"$in": list(statuses)}},
                                     session=_s(tx))
        return await cursor.to_list(None)

    async def waiting_for_program(self, org_id: str, program_id: str, tx: Tx) -> list[dict[str, Any]]:
        cursor = self.schedules.find({"org_id": org_id, "program_id": program_id, "status": "waiting"},
                                     session=tx.session)
        return await cursor.to_list(None)

    async def replace_timers(self, tx: Tx, schedule: dict[str, Any], reminders: list[tuple[str, datetime]],
                             hours_before: int) -> None:
        """Pending timers follow the schedule; timers that already fired stay as the record of it."""
        await self.cancel_timers(tx, schedule)
        fired = {
            d["_id"] async for d in self.timers.find({"match_id": schedule["_id"], "status": "fired"},
                                                     {"_id": 1}, session=tx.session)
        }
        docs = [
            {
                "_id": f"{session_id}@{due_at.isoformat()}",
                "org_id": schedule["org_id"],
                "match_id": schedule["_id"],
                "session_id": session_id,
                "due_at": due_at,
                "hours_before": hours_before,
                "status": "pending",
            }
            for session_id, due_at in reminders
            if f"{session_id}@{due_at.isoformat()}" not in fired
        ]
        if docs:
            await self.timers.insert_many(docs, session=tx.session)

    async def cancel_timers(self, tx: Tx, schedule: dict[str, Any]) -> None:
        await self.timers.delete_many({"match_id": schedule["_id"], "status": "pending"}, session=tx.session)

    async def due_timers(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.timers.find({"status": "pending", "due_at": {"$lte": now}}).sort("due_at", 1).limit(limit)
        return await cursor.to_list(limit)

    async def fire(self, tx: Tx, timer_id: str, now: datetime) -> bool:
        """Guarded claim inside the firing transaction: of two replicas, exactly one wins."""
        result = await self.timers.update_one({"_id": timer_id, "status": "pending"},
                                              {"$set": {"status": "fired", "fired_at": now}}, session=tx.session)
        return result.matched_count == 1


def sessions_of(doc: dict[str, Any]) -> list[Session]:
    return [Session.model_validate(s) for s in doc["sessions"]]


def _s(tx: Tx | None) -> Any:
    return tx.session if tx else None
