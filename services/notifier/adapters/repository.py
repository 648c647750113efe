import asyncio
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure, PyMongoError

from services.notifier.domain import Claimant, Contact, Delivery, DeliveryStatus
from services.notifier.domain.links import LinkClaims
from shared.contract import TOPICS, Event, MatchAccepted, ScheduleCreated, ScheduleUpdated, Session, topic_of
from shared.store import Tx, ensure_ttl, find_in

WRITE_CONFLICT = 112
LEGACY_LEASE = timedelta(seconds=60)  # rows claimed before leases were stored held the default lease then
CONTENT = ("to", "subject", "text", "html", "calendar", "calendar_method", "message_id", "url", "payload", "body")
MUTABLE = ("status", "attempts", "next_attempt_at", "claimed_by", "claim_run", "claimed_at", "lease_expires_at",
           "last_error", "finished_at")


def delivery_doc(delivery: Delivery) -> dict[str, Any]:
    """The stored row: the content's fields sit at the top level, beside the delivery's state."""
    d = delivery
    return {
        "_id": d.id, "org_id": d.org_id, "person_id": d.person_id, "channel": d.channel, "kind": d.kind,
        "cause_event_id": d.cause_event_id, "correlation_id": d.correlation_id, "created_at": d.created_at,
        "contact_on_file": d.contact_on_file, "status": str(d.status), "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at, "claimed_by": d.claimed_by, "claim_run": d.claim_run,
        "claimed_at": d.claimed_at, "lease_expires_at": d.lease_expires_at, "last_error": d.last_error,
        "finished_at": d.finished_at, "version": d.version, **d.content,
    }


CLAIM_STATE = {"claimed_by": 1, "claim_run": 1, "claimed_at": 1, "lease_expires_at": 1}


def _sender_gone(row: Mapping[str, Any], now: datetime, claimant: Claimant) -> bool:
    """A row being sent whose sender is gone: its lease expired (or, claimed before leases were stored,
    the default lease since its claim), or it was claimed by an earlier run of the claimant's replica."""
    lease, claimed_at = row.get("lease_expires_at"), row.get("claimed_at")
    if lease is not None:
        expired = lease <= now
    else:
        expired = claimed_at is not None and claimed_at <= now - LEGACY_LEASE
    return expired or (row.get("claimed_by") == claimant.instance and row.get("claim_run") != claimant.run)


def _guarded(delivery: Delivery) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filter and update that write the delivery's state if its row is still at its version."""
    guard = {"_id": delivery.id, "version": delivery.version or None}  # None: a row from before versions
    state = {k: v for k, v in delivery_doc(delivery).items() if k in MUTABLE}
    return guard, {"$set": {**state, "version": delivery.version + 1}}


def _is_our_claim(delivery: Delivery, row: Mapping[str, Any] | None) -> bool:
    """Whether the row shows the claim `delivery` was just saved with."""
    return row is not None and row.get("version") == delivery.version + 1 and row.get("claim_run") == delivery.claim_run


def _write_conflict(exc: PyMongoError) -> bool:
    """A transaction's write met a row another open transaction holds."""
    if exc.has_error_label("TransientTransactionError"):
        return True
    if isinstance(exc, BulkWriteError):
        return any(e.get("code") == WRITE_CONFLICT for e in exc.details.get("writeErrors", []))
    return isinstance(exc, OperationFailure) and exc.code == WRITE_CONFLICT


def delivery_from_doc(doc: Mapping[str, Any]) -> Delivery:
    claimed_at = doc.get("claimed_at")
    lease = doc.get("lease_expires_at")
    if lease is None and doc["status"] == DeliveryStatus.SENDING and claimed_at is not None:
        lease = claimed_at + LEGACY_LEASE
    return Delivery(
        id=doc["_id"], org_id=doc["org_id"], person_id=doc["person_id"], channel=doc["channel"], kind=doc["kind"],
        cause_event_id=doc["cause_event_id"], correlation_id=doc.get("correlation_id"), created_at=doc["created_at"],
        content={k: doc[k] for k in CONTENT if k in doc}, contact_on_file=doc.get("contact_on_file", True),
        status=DeliveryStatus(doc["status"]), attempts=doc["attempts"], next_attempt_at=doc["next_attempt_at"],
        claimed_by=doc.get("claimed_by"), claim_run=doc.get("claim_run"), claimed_at=claimed_at,
        lease_expires_at=lease, last_error=doc.get("last_error"), finished_at=doc.get("finished_at"),
        version=doc.get("version") or 0,
    )


class NotifierRepository:
    """Contacts, deliveries (one per cause event, recipient and channel) and the inbox, per tenant;
    plus what later messages need to know: accepted matches and the latest schedule of each match."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.client = db.client
        self.contacts = db["contacts"]
        self.deliveries = db["deliveries"]
        self.inbox = db["inbox"]
        self.parked = db["parked_events"]
        self.partnerships = db["partnerships"]
        self.schedules = db["schedules"]
        self.used_links = db["used_links"]

    async def ensure_indexes(self, deliveries_days: float = 90.0, inbox_days: float = 365.0) -> None:
        await self.contacts.create_index([("org_id", 1), ("person_id", 1)], unique=True)
        await ensure_ttl(self.deliveries, "finished_at", deliveries_days)  # pending ones have none: they stay
        await ensure_ttl(self.inbox, "created_at", inbox_days)
        await self.deliveries.create_index([("status", 1), ("next_attempt_at", 1)])
        await self.inbox.create_index(
            [("org_id", 1), ("person_id", 1), ("created_at", DESCENDING), ("entry_id", DESCENDING)]
        )
        await self.parked.create_index([("org_id", 1), ("waiting_for", 1)])
        # One record per answer slot (its _id, unique): the second use of a link, or a race of two,
        # cannot insert it again. A record goes once its link has expired and is refused as such.
        await self.used_links.create_index([("expires_at", 1)], expireAfterSeconds=0)

    async def save_contact(self, tx: Tx, contact: Contact) -> None:
        await self.contacts.replace_one(
            {"org_id": contact.org_id, "person_id": contact.person_id}, contact.to_doc(),
            upsert=True, session=tx.session,
        )

    async def save_contacts(self, tx: Tx, contacts: list[Contact]) -> None:
        if contacts:
            await self.contacts.bulk_write([ReplaceOne(
                {"org_id": c.org_id, "person_id": c.person_id}, c.to_doc(), upsert=True,
            ) for c in contacts], ordered=True, session=tx.session)

    async def contacts_of(self, org_id: str, person_ids: list[str], tx: Tx | None = None) -> dict[str, Contact]:
        docs = await find_in(self.contacts, {"org_id": org_id}, "person_id", person_ids,
                             session=tx.session if tx else None)
        return {doc["person_id"]: Contact.from_doc(doc) for doc in docs}

    async def erase_person(self, tx: Tx, org_id: str, person_id: str) -> int:
        """Delete everything kept for the person as a recipient: deliveries (pending ones are never
        sent), inbox entries and answered links."""
        about = {"org_id": org_id, "person_id": person_id}
        deleted = 0
        for collection in (self.deliveries, self.inbox, self.used_links):
            deleted += (await collection.delete_many(about, session=tx.session)).deleted_count
        return deleted

    async def anonymise(self, tx: Tx, org_id: str, needles: list[str], replacement: str) -> int:
        """Replace each needle (whole words) with `replacement` in every string of the org's deliveries
        and inbox entries, the messages the person's partners received about them. How many changed."""
        pattern = re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in needles if n))
        if not pattern.pattern:
            return 0
        changed = 0
        for collection in (self.deliveries, self.inbox):
            async for doc in collection.find({"org_id": org_id}, session=tx.session):
                cleaned = _replaced(doc, pattern, replacement)
                if cleaned != doc:
                    await collection.replace_one({"_id": doc["_id"]}, cleaned, session=tx.session)
                    changed += 1
        return changed

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

    async def parked_for_people(self, tx: Tx, people: list[tuple[str, str]]) -> list[Event]:
        """The events parked for any of these (org_id, person_id), each once, oldest first."""
        by_org: dict[str, list[str]] = {}
        for org_id, person_id in people:
            by_org.setdefault(org_id, []).append(person_id)
        if not by_org:
            return []
        query = {"$or": [{"org_id": org, "waiting_for": {"$in": ids}} for org, ids in by_org.items()]}
        cursor = self.parked.find(query, session=tx.session).sort([("parked_at", 1), ("_id", 1)])
        return [TOPICS[doc["topic"]].model.model_validate_json(doc["event"]) async for doc in cursor]

    async def add_delivery(self, tx: Tx, delivery: Delivery) -> bool:
        """False if this (cause, recipient, channel) delivery already exists."""
        if await self.deliveries.find_one({"_id": delivery.id}, {"_id": 1}, session=tx.session):
            return False
        delivery.version = 1
        await self.deliveries.insert_one(delivery_doc(delivery), session=tx.session)
        return True

    async def existing_deliveries(self, tx: Tx, ids: list[str]) -> set[str]:
        """Which of these deliveries are recorded already."""
        return {doc["_id"] for doc in await find_in(self.deliveries, {}, "_id", ids, {"_id": 1}, session=tx.session)}

    async def add_deliveries(self, tx: Tx, deliveries: list[Delivery]) -> None:
        """Record new deliveries in one write (their ids must not exist: see existing_deliveries)."""
        for delivery in deliveries:
            delivery.version = 1
        if deliveries:
            await self.deliveries.insert_many([delivery_doc(d) for d in deliveries], ordered=True, session=tx.session)

    async def add_inbox_entry(self, tx: Tx, doc: dict[str, Any]) -> None:
        await self.inbox.insert_one(doc, session=tx.session)

    async def add_inbox_entries(self, tx: Tx, docs: list[dict[str, Any]]) -> None:
        if docs:
            await self.inbox.insert_many(docs, ordered=True, session=tx.session)

    async def due_ids(
        self, now: datetime, claimant: Claimant, *, limit: int, skip: Collection[str] = ()
    ) -> list[tuple[str, datetime]]:
        """The delivery loop's scan: (id, since when due) of up to `limit` candidates for
        `Delivery.claim`, oldest first: pending deliveries that are due, and claims whose sender is
        gone (lease expired, or an earlier run of this replica). `skip`: ids not to return.

        Two queries, side by side, each answered from the (status, next_attempt_at) index: the due
        pending rows (only their `_id` and due time), and the state of every row being sent (few: the
        claims in flight). SecantusDB materialises and sorts every row the first one matches before
        the limit applies (about 40 ms per 1,000 waiting), so the loop runs this once per poll and
        reads the rows it then claims by `_id` (`deliveries_by_id`). One query with an `$or` of the
        cases is answered by a scan of every delivery kept."""
        # `skip` is applied here, not in the query: a third field made the planner sort every delivery kept.
        pending_query: dict[str, Any] = {"status": DeliveryStatus.PENDING, "next_attempt_at": {"$lte": now}}
        due = self.deliveries.find(pending_query, {"next_attempt_at": 1}).sort("next_attempt_at", 1)
        sending = self.deliveries.find({"status": DeliveryStatus.SENDING}, {**CLAIM_STATE, "next_attempt_at": 1})
        pending, claimed = await asyncio.gather(due.to_list(limit + len(skip)), sending.to_list(None))
        found = [(d["_id"], d["next_attempt_at"]) for d in pending if d["_id"] not in skip]
        found += [(d["_id"], d["next_attempt_at"]) for d in claimed
                  if d["_id"] not in skip and _sender_gone(d, now, claimant)]
        return sorted(found, key=lambda found: found[1])[:limit]

    async def deliveries_by_id(self, ids: Collection[str]) -> list[Delivery]:
        """These deliveries as stored now (those that still exist), by `_id`: a point lookup each."""
        return [delivery_from_doc(doc) for doc in await find_in(self.deliveries, {}, "_id", ids)]

    async def due_deliveries(
        self, now: datetime, claimant: Claimant, *, limit: int, skip: Collection[str] = ()
    ) -> list[Delivery]:
        """The candidates of `due_ids`, read in full, oldest first."""
        ids = await self.due_ids(now, claimant, limit=limit, skip=skip)
        rows = {d.id: d for d in await self.deliveries_by_id([i for i, _ in ids])}
        return [rows[i] for i, _ in ids if i in rows]

    async def claim(self, delivery: Delivery) -> bool:
        """Save a claim, if nobody changed the delivery since it was read. In a transaction of its own:
        there, a row still held by another open transaction (a sender killed mid-bookkeeping leaves
        one until the database reaps it) is a write conflict at once, where a plain update would wait
        for the lock. False: not ours (lost the race, or held)."""
        won = await self.claim_many([delivery])
        return bool(won and won[0])

    async def claim_many(self, deliveries: list[Delivery]) -> list[bool] | None:
        """Save many claims in one transaction (one bulk write and the commit), each guarded by the
        version its delivery was read at; which were won, in order. Those won have their version
        bumped. None: a row is held by another open transaction (a write conflict), and nothing was
        claimed; claim them one by one to learn which."""
        if not deliveries:
            return []
        ops = [UpdateOne(*_guarded(d)) for d in deliveries]
        try:
            async with self.client.start_session() as session:
                await session.start_transaction()
                try:
                    result = await self.deliveries.bulk_write(ops, ordered=False, session=session)
                except BaseException:
                    await session.abort_transaction()
                    raise
                await session.commit_transaction()
        except PyMongoError as exc:
            if _write_conflict(exc):
                return None
            raise
        if result.matched_count in (0, len(deliveries)):
            won = [result.matched_count > 0] * len(deliveries)
        else:  # someone else changed some since they were read: ours are those at our version and run
            ids = [d.id for d in deliveries]
            now_at = {doc["_id"]: doc async for doc in self.deliveries.find(
                {"_id": {"$in": ids}}, {"version": 1, "claim_run": 1, "claimed_at": 1})}
            won = [_is_our_claim(d, now_at.get(d.id)) for d in deliveries]
        for delivery, ours in zip(deliveries, won, strict=True):
            if ours:
                delivery.version += 1
        return won

    async def save(self, delivery: Delivery, tx: Tx | None = None) -> bool:
        """Write the delivery's new state, guarded by the version it was read at. False if it changed
        since (another sender took over an expired claim): this copy is stale and is not written.
        The copy keeps its version: a transaction that is retried writes it again under the same guard."""
        result = await self.deliveries.update_one(*_guarded(delivery), session=tx.session if tx else None)
        return result.matched_count == 1

    async def save_many(self, deliveries: list[Delivery], tx: Tx) -> int:
        """`save` for many deliveries in one bulk write; how many were written (the others were stale)."""
        if not deliveries:
            return 0
        result = await self.deliveries.bulk_write(
            [UpdateOne(*_guarded(d)) for d in deliveries], ordered=False, session=tx.session
        )
        return result.matched_count

    async def contacts_for(
        self, people: Collection[tuple[str, str]], tx: Tx | None = None
    ) -> dict[tuple[str, str], Contact]:
        """The contact cards of these (org_id, person_id), in one query per organisation."""
        by_org: dict[str, list[str]] = {}
        for org_id, person_id in people:
            by_org.setdefault(org_id, []).append(person_id)
        found: dict[tuple[str, str], Contact] = {}
        for org_id, person_ids in by_org.items():
            for person_id, contact in (await self.contacts_of(org_id, sorted(set(person_ids)), tx)).items():
                found[(org_id, person_id)] = contact
        return found

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """How many deliveries are pending (due or waiting to retry), and since when the longest-waiting
        due one has been waiting for a sender (None: nothing is waiting)."""
        pending = await self.deliveries.count_documents({"status": DeliveryStatus.PENDING})
        oldest_due = await self.deliveries.find(
            {"status": DeliveryStatus.PENDING, "next_attempt_at": {"$lte": now}}, {"next_attempt_at": 1}
        ).sort("next_attempt_at", 1).to_list(1)
        oldest_abandoned = await self.deliveries.find(
            {"status": DeliveryStatus.SENDING, "lease_expires_at": {"$lte": now}}, {"lease_expires_at": 1}
        ).sort("lease_expires_at", 1).to_list(1)
        since = [d["next_attempt_at"] for d in oldest_due] + [d["lease_expires_at"] for d in oldest_abandoned]
        return pending, min(since, default=None)

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

    async def export(self, org_id: str, person_id: str) -> dict[str, Any]:
        """What is kept for the person: the contact card, every delivery (without the rendered bodies,
        which are in the inbox or were sent) and every inbox entry."""
        about = {"org_id": org_id, "person_id": person_id}
        card = await self.contacts.find_one(about, {"_id": 0})
        bodies = {"html": 0, "calendar": 0, "payload": 0, "body": 0}
        deliveries = await self.deliveries.find(about, bodies).to_list(None)
        inbox = await self.inbox.find(about, {"_id": 0}).to_list(None)
        return {"contact": card, "deliveries": [{k: v for k, v in d.items() if not isinstance(v, bytes)}
                                                for d in deliveries], "inbox": inbox}

    async def mark_read(self, org_id: str, person_id: str, entry_id: str) -> bool:
        result = await self.inbox.update_one(
            {"org_id": org_id, "person_id": person_id, "entry_id": entry_id},
            {"$set": {"read_at": datetime.now(UTC)}},
        )
        return result.matched_count == 1

    async def used_link(self, slot: str, tx: Tx | None = None) -> dict[str, Any] | None:
        return await self.used_links.find_one({"_id": slot}, session=tx.session if tx else None)

    async def use_link(self, tx: Tx, claims: LinkClaims, event: Event, summary: str) -> None:
        """Record the answer of a link slot (DuplicateKeyError if it was answered meanwhile). The
        private note of a check-in or an end is not kept here: it travels only in the event."""
        await self.used_links.insert_one(
            {"_id": claims.slot, "org_id": claims.org_id, "person_id": claims.person_id,
             "match_id": claims.match_id, "session_id": claims.session_id, "purpose": str(claims.purpose),
             "summary": summary, "published_event": str(event.event_id), "topic": topic_of(event),
             "used_at": datetime.now(UTC), "expires_at": claims.expires_at},
            session=tx.session,
        )


def _replaced(value: Any, pattern: "re.Pattern[str]", replacement: str) -> Any:
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        return pattern.sub(replacement, text).encode() if pattern.search(text) else value
    if isinstance(value, dict):
        return {k: _replaced(v, pattern, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, pattern, replacement) for v in value]
    return value
