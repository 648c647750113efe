"""MongoDB: partnerships (the aggregate, loaded and saved whole), program thresholds and check-in
request timers. Every key and every filter includes the org."""

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.progress.domain import (
    CheckIn,
    Flag,
    Goal,
    Partnership,
    PartnershipStatus,
    PlannedSession,
    Thresholds,
    as_utc,
)
from shared.pulled import ProgramDocuments, PulledCopies, touched
from shared.store import Tx, ensure_ttl, find_in
from shared.timers import TimerStatus


def partnership_key(org_id: str, match_id: str) -> str:
    """A partnership's _id: match ids are only unique within an org."""
    return f"{org_id}/{match_id}"


def timer_key(org_id: str, session_id: str, due_at: datetime) -> str:
    return f"{org_id}/{session_id}@{due_at.isoformat()}"


class ProgressRepository:
    def __init__(self, db: AsyncDatabase, *, copy_overlap_s: float = 10.0, copy_full_every_s: float = 300.0) -> None:
        self.partnerships = db["partnerships"]
        self.programs = db["programs"]
        self.timers = db["timers"]
        self.copies: PulledCopies[tuple[str, str]] = PulledCopies(
            ProgramDocuments(self.partnerships, self.programs), overlap_s=copy_overlap_s,
            full_every_s=copy_full_every_s)
        """Each program's partnerships as last committed, for its figures (`shared.pulled`)."""

    async def ensure_indexes(self, partnerships_days: float = 365.0, timers_days: float = 30.0) -> None:
        await ensure_ttl(self.partnerships, "ended_at", partnerships_days,
                         only={"status": PartnershipStatus.ENDED.value})
        await ensure_ttl(self.timers, "closed_at", timers_days)  # pending timers have no closed_at
        await self.partnerships.create_index([("org_id", 1), ("match_id", 1)], unique=True)
        await self.partnerships.create_index([("org_id", 1), ("program_id", 1), ("status", 1)])
        await self.partnerships.create_index([("org_id", 1), ("program_id", 1), ("touched_at", 1)])
        await self.programs.create_index([("org_id", 1), ("program_id", 1)], unique=True)
        await self.timers.create_index([("status", 1), ("due_at", 1)])
        await self.timers.create_index([("org_id", 1), ("match_id", 1), ("status", 1)])

    # --- partnerships -------------------------------------------------------------------------

    async def get(self, org_id: str, match_id: str, tx: Tx | None = None) -> Partnership | None:
        doc = await self.partnerships.find_one({"_id": partnership_key(org_id, match_id)}, session=_s(tx))
        return partnership_from_doc(doc) if doc else None

    async def save(self, tx: Tx, partnership: Partnership) -> None:
        doc = {**partnership_to_doc(partnership), "touched_at": touched()}
        await self.partnerships.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def of_person(self, org_id: str, person_id: str, tx: Tx | None = None) -> list[Partnership]:
        cursor = self.partnerships.find({"org_id": org_id, "$or": [{"person_a": person_id}, {"person_b": person_id}]},
                                        session=_s(tx))
        return [partnership_from_doc(doc) async for doc in cursor]

    async def of_program(self, org_id: str, program_id: str,
                         statuses: tuple[PartnershipStatus, ...] = tuple(PartnershipStatus),
                         tx: Tx | None = None) -> list[Partnership]:
        query = {"org_id": org_id, "program_id": program_id, "status": {"$in": [s.value for s in statuses]}}
        cursor = self.partnerships.find(query, session=_s(tx))
        return [partnership_from_doc(doc) async for doc in cursor]

    # --- thresholds ---------------------------------------------------------------------------

    async def save_thresholds(self, tx: Tx, org_id: str, program_id: str, thresholds: Thresholds) -> None:
        await self.programs.replace_one(
            {"org_id": org_id, "program_id": program_id},
            {"org_id": org_id, "program_id": program_id, "thresholds": thresholds.to_doc()},
            upsert=True, session=tx.session,
        )

    async def thresholds(self, org_id: str, program_id: str, tx: Tx | None = None) -> Thresholds:
        """The program's thresholds; the defaults until its programs.configured arrives."""
        doc = await self.programs.find_one({"org_id": org_id, "program_id": program_id}, session=_s(tx))
        return Thresholds.from_doc(doc["thresholds"]) if doc else Thresholds()

    # --- check-in request timers --------------------------------------------------------------

    async def replace_timers(self, tx: Tx, p: Partnership, requests: list[tuple[str, datetime]]) -> None:
        """Pending timers follow the sessions; timers that already fired stay as the record of it."""
        await self.cancel_timers(tx, p)
        docs = [{"_id": timer_key(p.org_id, session_id, due_at), "org_id": p.org_id, "match_id": p.match_id,
                 "session_id": session_id, "due_at": due_at, "status": TimerStatus.PENDING.value}
                for session_id, due_at in requests]
        fired = {d["_id"] for d in await find_in(self.timers, {}, "_id", [d["_id"] for d in docs], {"_id": 1},
                                                 session=tx.session)}
        docs = [d for d in docs if d["_id"] not in fired]
        if docs:
            await self.timers.insert_many(docs, session=tx.session)

    async def cancel_timers(self, tx: Tx, p: Partnership) -> None:
        await self.timers.delete_many({"org_id": p.org_id, "match_id": p.match_id, "status": TimerStatus.PENDING.value},
                                      session=tx.session)

    async def due_timers(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        due = {"status": TimerStatus.PENDING.value, "due_at": {"$lte": now}}
        cursor = self.timers.find(due).sort("due_at", 1).limit(limit)
        return await cursor.to_list(limit)

    async def close_timer(self, tx: Tx, timer_id: str, now: datetime, status: TimerStatus = TimerStatus.FIRED) -> bool:
        """Guarded claim inside the firing transaction: of two replicas, exactly one wins."""
        result = await self.timers.update_one({"_id": timer_id, "status": TimerStatus.PENDING.value},
                                              {"$set": {"status": status.value, "closed_at": now}},
                                              session=tx.session)
        return result.matched_count == 1


def partnership_to_doc(p: Partnership) -> dict[str, Any]:
    """Lists, not maps keyed by ids: ids may hold characters MongoDB field names must not."""
    return {
        "_id": partnership_key(p.org_id, p.match_id),
        "org_id": p.org_id, "match_id": p.match_id, "program_id": p.program_id,
        "person_a": p.person_a, "person_b": p.person_b, "began_at": p.began_at,
        "correlation_id": p.correlation_id, "status": p.status.value,
        "goals_of": [{"person_id": person, "goals": [asdict(g) for g in goals]}
                     for person, goals in p.goals_of.items()],
        "sessions": [asdict(s) | {"agenda": list(s.agenda)} for s in p.sessions.values()],
        "schedule_version": p.schedule_version,
        "checkins": [asdict(c) for c in p.checkins.values()],
        "flags": [asdict(f) | {"neglected": list(f.neglected) if f.neglected else None,
                               "neglected_goals": list(f.neglected_goals)} for f in p.flags.values()],
        "ended_at": p.ended_at, "end_reason": p.end_reason,
        "balance_version": p.balance_version, "published_balance": p.published_balance,
    }


def partnership_from_doc(doc: dict[str, Any]) -> Partnership:
    sessions = [PlannedSession(**s | {"agenda": tuple(s["agenda"]), "starts_at": as_utc(s["starts_at"]),
                                      "ends_at": as_utc(s["ends_at"])}) for s in doc["sessions"]]
    checkins = [CheckIn(**c | {"at": as_utc(c["at"]) if c.get("at") else None}) for c in doc["checkins"]]
    flags = [Flag(**f | {"raised_at": as_utc(f["raised_at"]),
                         "neglected": tuple(f["neglected"]) if f.get("neglected") else None,
                         "neglected_goals": tuple(f["neglected_goals"])}) for f in doc["flags"]]
    return Partnership(
        org_id=doc["org_id"], match_id=doc["match_id"], program_id=doc["program_id"],
        person_a=doc["person_a"], person_b=doc["person_b"], began_at=as_utc(doc["began_at"]),
        correlation_id=doc.get("correlation_id"), status=PartnershipStatus(doc["status"]),
        goals_of={g["person_id"]: tuple(Goal(**x) for x in g["goals"]) for g in doc["goals_of"]},
        sessions={s.session_id: s for s in sessions}, schedule_version=doc["schedule_version"],
        checkins={(c.session_id, c.person_id): c for c in checkins}, flags={f.kind: f for f in flags},
        ended_at=as_utc(doc["ended_at"]) if doc.get("ended_at") else None, end_reason=doc.get("end_reason"),
        balance_version=doc["balance_version"], published_balance=doc.get("published_balance"),
    )


def _s(tx: Tx | None) -> Any:
    return tx.session if tx else None
