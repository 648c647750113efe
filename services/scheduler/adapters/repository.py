from datetime import datetime
from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from services.scheduler.domain import Participant, Schedule, ScheduleStatus, SeriesPlan, as_utc
from shared.contract import Session
from shared.store import Tx, ensure_ttl, find_in
from shared.timers import TimerStatus


def schedule_key(org_id: str, match_id: str) -> str:
    """A schedule's _id: match ids are only unique within an org."""
    return f"{org_id}/{match_id}"


class SchedulerRepository:
    """People (time zones, availability), program plans, schedules and persisted reminder timers.
    Every key and every filter includes the org."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.people = db["people"]
        self.programs = db["programs"]
        self.schedules = db["schedules"]
        self.timers = db["timers"]
        self.feeds = db["feeds"]

    async def ensure_indexes(self, schedules_days: float = 365.0, timers_days: float = 30.0) -> None:
        await ensure_ttl(self.schedules, "cancelled_at", schedules_days,
                         only={"status": ScheduleStatus.CANCELLED.value})
        await ensure_ttl(self.timers, "closed_at", timers_days)  # pending timers have no closed_at
        await self.people.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.programs.create_index([("org_id", 1), ("program_id", 1)], unique=True)
        await self.schedules.create_index([("org_id", 1), ("match_id", 1)], unique=True)
        await self.schedules.create_index([("org_id", 1), ("people", 1), ("status", 1)])
        await self.schedules.create_index([("org_id", 1), ("program_id", 1), ("status", 1)])
        await self.schedules.create_index([("status", 1)])
        await self.timers.create_index([("status", 1), ("due_at", 1)])
        await self.timers.create_index([("org_id", 1), ("match_id", 1), ("status", 1)])
        await self.feeds.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.feeds.create_index([("token", 1)], unique=True)

    # --- calendar feeds: one secret address per person ---------------------------------------------

    async def feed_token(self, org_id: str, person_id: str, new_token: str, now: datetime) -> str:
        """The person's feed token, made from `new_token` if they have none yet."""
        doc = await self.feeds.find_one_and_update(
            {"org_id": org_id, "person_id": person_id},
            {"$setOnInsert": {"org_id": org_id, "person_id": person_id, "token": new_token, "rotated_at": now}},
            upsert=True, return_document=True,
        )
        return str(doc["token"])

    async def rotate_feed_token(self, org_id: str, person_id: str, new_token: str, now: datetime) -> None:
        """Replace the token: the old address stops working at once."""
        await self.feeds.update_one(
            {"org_id": org_id, "person_id": person_id},
            {"$set": {"token": new_token, "rotated_at": now}}, upsert=True,
        )

    async def feed_owner(self, token: str) -> tuple[str, str] | None:
        """(org_id, person_id) of the feed with this token, or None."""
        doc = await self.feeds.find_one({"token": token}, {"org_id": 1, "person_id": 1})
        return (doc["org_id"], doc["person_id"]) if doc else None

    async def erase_feed(self, tx: Tx, org_id: str, person_id: str) -> int:
        result = await self.feeds.delete_many({"org_id": org_id, "person_id": person_id}, session=tx.session)
        return result.deleted_count

    async def count_schedules_of(self, tx: Tx, org_id: str, person_id: str) -> int:
        return await self.schedules.count_documents({"org_id": org_id, "people": person_id}, session=tx.session)

    async def save_person(self, tx: Tx, org_id: str, person: Participant) -> None:
        await self.people.replace_one(
            {"org_id": org_id, "person_id": person.person_id},
            {"org_id": org_id, "person_id": person.person_id, "participant": person.to_doc()},
            upsert=True,
            session=tx.session,
        )

    async def save_people(self, tx: Tx, people: list[tuple[str, Participant]]) -> None:
        """One bulk upsert of (org_id, participant) pairs."""
        if not people:
            return
        await self.people.bulk_write([ReplaceOne(
            {"org_id": org_id, "person_id": person.person_id},
            {"org_id": org_id, "person_id": person.person_id, "participant": person.to_doc()},
            upsert=True,
        ) for org_id, person in people], ordered=True, session=tx.session)

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
        """The stored document, for the read endpoints."""
        return await self.schedules.find_one({"org_id": org_id, "match_id": match_id}, session=_s(tx))

    async def load_schedule(self, org_id: str, match_id: str, tx: Tx | None = None) -> Schedule | None:
        doc = await self.schedule(org_id, match_id, tx)
        return Schedule.from_doc(doc) if doc else None

    async def save_schedule(self, tx: Tx, schedule: Schedule) -> None:
        doc = {"_id": schedule_key(schedule.org_id, schedule.match_id), **schedule.to_doc()}
        await self.schedules.replace_one({"org_id": schedule.org_id, "match_id": schedule.match_id}, doc,
                                         upsert=True, session=tx.session)

    async def schedules_of(self, org_id: str, person_id: str, statuses: tuple[str, ...],
                           tx: Tx | None = None) -> list[dict[str, Any]]:
        """The stored documents, for the read endpoints."""
        cursor = self.schedules.find({"org_id": org_id, "people": person_id, "status": {"$in": _values(statuses)}},
                                     session=_s(tx))
        return await cursor.to_list(None)

    async def load_schedules_of(self, org_id: str, person_id: str, statuses: tuple[ScheduleStatus, ...],
                                tx: Tx) -> list[Schedule]:
        return [Schedule.from_doc(doc) for doc in await self.schedules_of(org_id, person_id, statuses, tx)]

    async def load_schedules_of_people(
        self, tx: Tx, people: list[tuple[str, str]], statuses: tuple[ScheduleStatus, ...]
    ) -> dict[tuple[str, str], list[Schedule]]:
        """The schedules in `statuses` of each (org_id, person_id), in one query; a schedule of two of
        them is the same object under both keys. Per person in the order of `statuses`."""
        by_org: dict[str, list[str]] = {}
        for org_id, person_id in people:
            by_org.setdefault(org_id, []).append(person_id)
        if not by_org:
            return {}
        # Per tenant, (org_id, people in the list) only, an index range; the statuses are filtered here. A
        # `$or`, or a second list, made SecantusDB's planner read every schedule.
        wanted_statuses = set(_values(statuses))
        found = [Schedule.from_doc(doc) for org, ids in by_org.items()
                 for doc in await find_in(self.schedules, {"org_id": org}, "people", ids, session=tx.session)
                 if doc["status"] in wanted_statuses]
        rank = {status: i for i, status in enumerate(statuses)}
        found.sort(key=lambda s: (rank[s.status], s.match_id))
        wanted = set(people)
        result: dict[tuple[str, str], list[Schedule]] = {}
        for schedule in found:
            for person_id in (schedule.person_a, schedule.person_b):
                if (schedule.org_id, person_id) in wanted:
                    result.setdefault((schedule.org_id, person_id), []).append(schedule)
        return result

    async def waiting_schedules(self, limit: int) -> list[Schedule]:
        """Schedules still waiting for a person or the program, oldest first (any org)."""
        cursor = self.schedules.find({"status": ScheduleStatus.WAITING.value}).sort("_id", 1).limit(limit)
        return [Schedule.from_doc(doc) async for doc in cursor]

    async def load_schedules_of_program(self, org_id: str, program_id: str, statuses: tuple[ScheduleStatus, ...],
                                        tx: Tx) -> list[Schedule]:
        cursor = self.schedules.find({"org_id": org_id, "program_id": program_id, "status": {"$in": _values(statuses)}},
                                     session=tx.session)
        return [Schedule.from_doc(doc) for doc in await cursor.to_list(None)]

    async def replace_timers(self, tx: Tx, schedule: Schedule, reminders: list[tuple[str, datetime]],
                             hours_before: int) -> None:
        """Pending timers follow the schedule; timers that already fired stay as the record of it."""
        await self.cancel_timers(tx, schedule)
        org_id, match_id = schedule.org_id, schedule.match_id
        fired = {
            (d["session_id"], d["due_at"])
            async for d in self.timers.find({"org_id": org_id, "match_id": match_id, "status": TimerStatus.FIRED.value},
                                            {"session_id": 1, "due_at": 1}, session=tx.session)
        }
        docs = [
            {
                "_id": timer_key(org_id, session_id, due_at),
                "org_id": org_id,
                "match_id": match_id,
                "session_id": session_id,
                "due_at": due_at,
                "hours_before": hours_before,
                "status": TimerStatus.PENDING.value,
            }
            for session_id, due_at in reminders
            if (session_id, due_at) not in fired
        ]
        if docs:
            await self.timers.insert_many(docs, session=tx.session)

    async def cancel_timers(self, tx: Tx, schedule: Schedule) -> None:
        await self.timers.delete_many({"org_id": schedule.org_id, "match_id": schedule.match_id,
                                       "status": TimerStatus.PENDING.value}, session=tx.session)

    async def due_timers(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        due = {"status": TimerStatus.PENDING.value, "due_at": {"$lte": now}}
        cursor = self.timers.find(due).sort("due_at", 1).limit(limit)
        return await cursor.to_list(limit)

    async def next_due_at(self, after: datetime) -> datetime | None:
        """When the earliest pending timer due after `after` is due (timers already due are not waited for)."""
        doc = await self.timers.find_one({"status": TimerStatus.PENDING.value, "due_at": {"$gt": after}}, {"due_at": 1},
                                         sort=[("due_at", 1)])
        return as_utc(doc["due_at"]) if doc else None

    async def close_timer(self, tx: Tx, timer_id: str, now: datetime, status: TimerStatus = TimerStatus.FIRED) -> bool:
        """Guarded claim inside the firing transaction: of two replicas, exactly one wins. A timer
        is closed as `fired`, or as `cancelled` when its schedule or session is gone."""
        result = await self.timers.update_one({"_id": timer_id, "status": TimerStatus.PENDING.value},
                                              {"$set": {"status": status.value, "closed_at": now}},
                                              session=tx.session)
        return result.matched_count == 1


def timer_key(org_id: str, session_id: str, due_at: datetime) -> str:
    return f"{org_id}/{session_id}@{due_at.isoformat()}"


def sessions_of(doc: dict[str, Any]) -> list[Session]:
    return [Session.model_validate(s) for s in doc["sessions"]]


def _values(statuses: tuple[str, ...]) -> list[str]:
    return [str(status) for status in statuses]


def _s(tx: Tx | None) -> Any:
    return tx.session if tx else None
