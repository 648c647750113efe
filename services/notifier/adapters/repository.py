from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.notifier.domain import Contact
from shared.contract import TOPICS, Event, MatchAccepted, ScheduleCreated, ScheduleUpdated, Session, topic_of
from shared.store import Tx

PENDING, SENDING, SENT, FAILED, SUPPRESSED = "pending", "sending", "sent", "failed", "suppressed"


class NotifierRepository:
    """Contacts, deliveries (one per cause event, recipient and channel) and the inbox, per tenant;
    plus what later messages need to know: accepted matches and the latest schedule of each match."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.contacts = db["contacts"]
        self.deliveries = db["deliveries"]
        self.inbox = db["inbox"]
        self.parked = db["parked_events"]
        self.partnerships = db["partnerships"]
        self.schedules = db["schedules"]

    async def ensure_indexes(self) -> None:
        await self.contacts.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await self.deliveries.create_index([("status", 1), ("next_attempt_at", 1)])
        await self.inbox.create_index(
            [("org_id", 1), ("person_id", 1), ("created_at", DESCENDING), ("entry_id", DESCENDING)]
        )
        await self.parked.create_index([("org_id", 1), ("waiting_for", 1)])

    async def save_contact(self, tx: Tx, contact: Contact) -> None:
        await self.contacts.replace_one(
            {"org_id": contact.org_id, "person_id": contact.person_id}, contact.to_doc(), upsert=True, session=tx.session
        )

    async def contacts_of(self, org_id: str, person_ids: list[str], tx: Tx | None = None) -> dict[str, Contact]:
        cursor = self.contacts.find(
            {"org_id": org_id, "person_id": {"$in": person_ids}}, session=tx.session if tx else None
        )
        return {doc["person_id"]: Contact.from_doc(doc) async for doc in cursor}

    async def remember_partnership(self, tx: Tx, event: MatchAccepted) -> None:
        doc = {"_id": f"{event.org_id}:{event.match_id}", "org_id": event.org_id, "match_id": event.match_id}
        await self.partnerships.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def is_partnership(self, org_id: str, match_id: str, tx: Tx) -> bool:
        return await self.partnerships.find_one({"_id": f"{org_id}:{match_id}"}, session=tx.session) is not None

    async def remember_schedule(self, tx: Tx, event: ScheduleCreated | ScheduleUpdated) -> None:
        """Keep the newest version of each match's schedule."""
        key = f"{event.org_id}:{event.match_id}"
        known = await self.schedules.find_one({"_id": key}, {"version": 1}, session=tx.session)
        if known and known["version"] >= event.version:
            return
        doc = {"_id": key, "org_id": event.org_id, "match_id": event.match_id, "version": event.version,
               "sessions": [s.model_dump(mode="json") for s in event.sessions]}
        await self.schedules.replace_one({"_id": key}, doc, upsert=True, session=tx.session)

    async def session(self, org_id: str, match_id: str, session_id: str, tx: Tx) -> Session | None:
        doc = await self.schedules.find_one({"_id": f"{org_id}:{match_id}"}, session=tx.session)
        found = [s for s in (doc or {}).get("sessions", []) if s["session_id"] == session_id]
        return Session.model_validate(found[0]) if found else None

    async def park(self, tx: Tx, event: Event, waiting_for: list[str]) -> None:
        doc = {"_id": str(event.event_id), "org_id": event.org_id, "topic": topic_of(event),
               "event": event.model_dump_json(), "waiting_for": waiting_for, "parked_at": datetime.now(UTC)}
        await self.parked.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=tx.session)

    async def unpark(self, tx: Tx, event: Event) -> None:
        await self.parked.delete_one({"_id": str(event.event_id)}, session=tx.session)

    async def parked_for(self, org_id: str, person_id: str, tx: Tx) -> list[Event]:
        cursor = self.parked.find({"org_id": org_id, "waiting_for": person_id}, session=tx.session)
        return [TOPICS[doc["topic"]].model.model_validate_json(doc["event"]) async for doc in cursor]

    async def add_delivery(self, tx: Tx, doc: dict[str, Any]) -> bool:
        """False if this (cause, recipient, channel) delivery already exists."""
        if await self.deliveries.find_one({"_id": doc["_id"]}, {"_id": 1}, session=tx.session):
            return False
        await self.deliveries.insert_one(doc, session=tx.session)
        return True

    async def add_inbox_entry(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.inbox.insert_one(doc, session=tx.session)

    async def due_deliveries(
        self, now: datetime, lease_s: float, *, owner: str, owner_started_at: datetime, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Pending deliveries that are due, and deliveries whose sender died mid-send: claims whose
        lease expired, and this owner's claims from before it (re)started."""
        query = {
            "$or": [
                {"status": PENDING, "next_attempt_at": {"$lte": now}},
                {"status": SENDING, "claimed_at": {"$lte": now - timedelta(seconds=lease_s)}},
                {"status": SENDING, "claimed_by": owner, "claimed_at": {"$lt": owner_started_at}},
            ]
        }
        return await self.deliveries.find(query).sort("next_attempt_at", 1).to_list(limit)

    async def claim(self, delivery: dict[str, Any], owner: str) -> bool:
        """Guarded update: only one replica wins a delivery."""
        result = await self.deliveries.update_one(
            {"_id": delivery["_id"], "status": delivery["status"], "claimed_at": delivery.get("claimed_at")},
            {"$set": {"status": SENDING, "claimed_at": datetime.now(UTC), "claimed_by": owner}},
        )
        return result.matched_count == 1

    async def retry_later(self, delivery_id: str, attempts: int, at: datetime, error: str) -> None:
        await self.deliveries.update_one(
            {"_id": delivery_id},
            {"$set": {"status": PENDING, "attempts": attempts, "next_attempt_at": at, "last_error": error,
                      "claimed_at": None}},
        )

    async def finish(self, tx: Tx, delivery_id: str, status: str, attempts: int, error: str | None = None) -> bool:
        result = await self.deliveries.update_one(
            {"_id": delivery_id, "status": SENDING},
            {"$set": {"status": status, "attempts": attempts, "last_error": error, "finished_at": datetime.now(UTC)}},
            session=tx.session,
        )
        return result.matched_count == 1

    async def inbox_page(
        self, org_id: str, person_id: str, *, limit: int, before: tuple[datetime, str | None] | None = None
    ) -> list[dict]:
        """Newest first; `before` is the last entry of the previous page as (created_at, entry_id), or
        (created_at, None) to start strictly before a time."""
        query: dict[str, Any] = {"org_id": org_id, "person_id": person_id}
        if before is not None:
            created_at, entry_id = before
            query["$or"] = [{"created_at": {"$lt": created_at}}]
            if entry_id is not None:
                query["$or"].append({"created_at": created_at, "entry_id": {"$lt": entry_id}})
        newest_first = [("created_at", DESCENDING), ("entry_id", DESCENDING)]
        return await self.inbox.find(query, {"_id": 0, "org_id": 0}).sort(newest_first).to_list(limit)

    async def mark_read(self, org_id: str, person_id: str, entry_id: str) -> bool:
        result = await self.inbox.update_one(
            {"org_id": org_id, "person_id": person_id, "entry_id": entry_id},
            {"$set": {"read_at": datetime.now(UTC)}},
        )
        return result.matched_count == 1
