"""Retention: TTL indexes on the ledger, the outbox's published rows, finished deliveries, inbox entries,
cohort reports and previews, ended partnerships, cancelled schedules and fired timers, with the
configured periods; a changed period replaces its index. The
slow test (make faults) waits for the database to really delete what aged out, and nothing else."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.matcher.adapters.repository import MatcherRepository
from services.notifier.adapters.repository import NotifierRepository
from services.progress.adapters.repository import ProgressRepository
from services.scheduler.adapters.repository import SchedulerRepository
from shared.settings import ServiceSettings
from shared.store import Retention, Store

DAY = 86_400


def ttl_of(indexes: dict, field: str) -> tuple[int, dict | None]:
    spec = indexes[f"ttl_{field}"]
    partial = spec.get("partialFilterExpression")
    return spec["expireAfterSeconds"], dict(partial) if partial else None


async def test_every_kind_of_record_that_ages_out_has_its_ttl_and_a_new_period_replaces_it(infrastructure):
    store = Store(infrastructure.mongo_url, f"retention_{uuid.uuid4().hex[:8]}")
    try:
        await store.ensure_plumbing_indexes(Retention(ledger_days=30, outbox_days=7))
        assert ttl_of(await store.db["processed_events"].index_information(), "processed_at") == (30 * DAY, None)
        assert ttl_of(await store.db["outbox"].index_information(), "published_at") == (7 * DAY, {"published": True})
        await store.ensure_plumbing_indexes(Retention(ledger_days=45, outbox_days=2))  # a restart with new periods
        assert ttl_of(await store.db["processed_events"].index_information(), "processed_at")[0] == 45 * DAY
        assert ttl_of(await store.db["outbox"].index_information(), "published_at")[0] == 2 * DAY

        notifier = NotifierRepository(store.db)
        await notifier.ensure_indexes(deliveries_days=90, inbox_days=365)
        assert ttl_of(await notifier.deliveries.index_information(), "finished_at")[0] == 90 * DAY
        assert ttl_of(await notifier.inbox.index_information(), "created_at")[0] == 365 * DAY
        matcher = MatcherRepository(store.db)
        await matcher.ensure_indexes(reports_days=365, previews_days=90)
        assert ttl_of(await matcher.reports.index_information(), "requested_at")[0] == 365 * DAY
        assert ttl_of(await matcher.previews.index_information(), "created_at")[0] == 90 * DAY
        progress = ProgressRepository(store.db)
        await progress.ensure_indexes(partnerships_days=365, timers_days=30)
        assert ttl_of(await progress.partnerships.index_information(), "ended_at") == (365 * DAY, {"status": "ended"})
        assert ttl_of(await progress.timers.index_information(), "closed_at") == (30 * DAY, None)
        scheduler = SchedulerRepository(store.db)
        await scheduler.ensure_indexes(schedules_days=200, timers_days=20)
        assert ttl_of(await scheduler.schedules.index_information(), "cancelled_at") == (
            200 * DAY, {"status": "cancelled"})
        assert ttl_of(await scheduler.timers.index_information(), "closed_at") == (20 * DAY, None)
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


def test_the_ledger_may_not_forget_before_the_topics_do():
    with pytest.raises(ValueError, match="retention_ledger_days must be at least kafka_retention_days"):
        ServiceSettings(kafka_retention_days=14, retention_ledger_days=7)


@pytest.mark.faults_full  # waits for the database's TTL monitor (about a minute)
async def test_the_database_deletes_published_rows_that_aged_out_and_keeps_the_rest(infrastructure):
    store = Store(infrastructure.mongo_url, f"retention_{uuid.uuid4().hex[:8]}")
    try:
        await store.ensure_plumbing_indexes(Retention(ledger_days=30, outbox_days=1 / DAY))
        old = datetime.now(UTC) - timedelta(minutes=5)
        await store.db["outbox"].insert_many([
            {"_id": "sent-long-ago", "published": True, "published_at": old},
            {"_id": "not-sent-yet", "published": False, "created_at": old},
        ])
        for _ in range(120):
            left = {d["_id"] async for d in store.db["outbox"].find({})}
            if "sent-long-ago" not in left:
                break
            await asyncio.sleep(1)
        assert left == {"not-sent-yet"}
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()
