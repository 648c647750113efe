"""The reads made for every event stay index ranges as the collections grow.

SecantusDB's planner answers from an index only equalities that an index leads with, followed by one list
or range. Any other shape (a top-level `$or`, two lists, an equality the index does not cover) reads every
document of the collection, or of the tenant: cheap in a test, 0.1 to 0.5 s per event after an import of a
few thousand people. Each test fills a collection with other people's documents, calls the repository as
the handlers do, and explains every `find` it sent."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from support import QueryLog, examined

from services.matcher.adapters.repository import MatcherRepository
from services.matcher.domain import Program
from services.notifier.adapters.repository import NotifierRepository, delivery_doc
from services.notifier.domain.deliveries import Claimant, Delivery
from services.notifier.handlers import Deliverer
from services.notifier.settings import NotifierSettings
from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.domain import ScheduleStatus
from shared.store import Store, Tx, UnitOfWork

OTHERS = 400
BOUND = 20  # documents plus index keys: the few that concern the people asked about


@pytest.fixture
async def store(infrastructure):
    log = QueryLog()
    store = Store(infrastructure.mongo_url, f"plans_{uuid.uuid4().hex[:8]}", event_listeners=[log])
    store.log = log
    yield store
    await store.client.drop_database(store.db.name)
    await store.close()


async def assert_bounded(store: Store, collection: str) -> None:
    finds = [f for f in store.log.finds if f["find"] == collection]
    assert finds, f"no read of {collection}"
    for find in finds:
        assert await examined(store.db, find) <= BOUND, find["filter"]


async def in_tx(store: Store, work):
    async with store.client.start_session() as session, await session.start_transaction():
        return await work(Tx(store.db, session, None))


async def test_the_matchers_reads_of_a_persons_matches(store):
    repo = MatcherRepository(store.db)
    await repo.ensure_indexes()
    await store.db["matches"].insert_many([
        {"org_id": "acme", "program_id": "pilot", "people": [f"a{i}", f"b{i}"], "status": "declined"}
        for i in range(OTHERS)
    ])
    store.log.finds.clear()
    program = Program(program_id="pilot", org_id="acme")
    history = await repo.history_of(program, ["new-1", "new-2"])
    assert history.load == {} and history.partners == {}
    assert await repo.open_matches_of("acme", "new-1") == []
    assert await in_tx(store, lambda tx: repo.open_matches_of_people(tx, [("acme", "new-1"), ("acme", "new-2")])) == {}
    await assert_bounded(store, "matches")


async def test_the_schedulers_read_of_peoples_schedules(store):
    repo = SchedulerRepository(store.db)
    await repo.ensure_indexes()
    await store.db["schedules"].insert_many([
        {"org_id": org, "match_id": f"m{i}", "people": [f"a{i}", f"b{i}"], "status": "active"}
        for i in range(OTHERS) for org in ("acme", "globex")
    ])
    store.log.finds.clear()
    found = await in_tx(store, lambda tx: repo.load_schedules_of_people(
        tx, [("acme", "new-1"), ("globex", "new-2")], (ScheduleStatus.ACTIVE,)))
    assert found == {}
    await assert_bounded(store, "schedules")


async def test_the_notifiers_refill_of_due_deliveries(store):
    repo = NotifierRepository(store.db)
    await repo.ensure_indexes()
    now = datetime.now(UTC)
    await store.db["deliveries"].insert_many([
        {"_id": f"d{i}", "status": "sent", "next_attempt_at": now, "attempts": 1, "version": 2}
        for i in range(OTHERS)
    ])
    store.log.finds.clear()
    assert await repo.due_deliveries(now, Claimant("me", "run"), limit=8, skip={"d1", "d2"}) == []
    await assert_bounded(store, "deliveries")


def longest_in(value) -> int:
    """The longest `$in` list anywhere in a filter."""
    if isinstance(value, dict):
        return max([len(v) if k == "$in" else longest_in(v) for k, v in value.items()] or [0])
    if isinstance(value, list):
        return max([longest_in(v) for v in value] or [0])
    return 0


async def test_reads_by_many_values_ask_in_chunks_and_find_each_document_once(store):
    """SecantusDB compares each document it reads with an `$in` list value by value: n values cost n²
    (2 minutes for the 10,000 people of a program's matches). `find_in` asks `IN_CHUNK` at a time."""
    from services.matcher.adapters.views import MatcherViews
    from shared.store import IN_CHUNK, find_in

    repo = MatcherRepository(store.db)
    await repo.ensure_indexes()
    await store.db["people"].insert_many([
        {"org_id": "acme", "person_id": f"p{i:04d}", "profile": {"display_name": f"P {i}", "department": "Sales"}}
        for i in range(300)])
    await store.db["matches"].insert_many([
        {"_id": f"m{i}", "org_id": "acme", "program_id": "pilot", "people": [f"p{2 * i:04d}", f"p{2 * i + 1:04d}"],
         "status": "accepted"} for i in range(150)])
    store.log.finds.clear()
    people = await MatcherViews(repo).people("acme", [f"p{i:04d}" for i in range(300)] + ["nobody"])
    assert len(people) == 300 and people["p0042"] == {"display_name": "P 42", "department": "Sales"}
    matches = await find_in(store.db["matches"], {"org_id": "acme"}, "people", [f"p{i:04d}" for i in range(300)])
    assert sorted(m["_id"] for m in matches) == sorted(f"m{i}" for i in range(150)), "each match once"
    assert store.log.finds and max(longest_in(f["filter"]) for f in store.log.finds) <= IN_CHUNK


class _Accepts:
    async def send(self, request: dict) -> None:
        pass

    async def close(self) -> None:
        pass


async def test_a_refill_of_the_delivery_loop_reads_no_more_rows_than_it_has_free_slots(store):
    """With 3,000 due deliveries waiting, a refill (every ended send, under load) reads the few it claims
    by `_id`; only the periodic scan reads the due range, whose cost grows with the backlog."""
    repo = NotifierRepository(store.db)
    await repo.ensure_indexes()
    await store.ensure_plumbing_indexes()
    now = datetime.now(UTC)
    waiting = [Delivery(id=f"d{i:05d}", org_id="acme", person_id=f"p{i}", channel="email", kind="match_proposed",
                        cause_event_id=f"e{i}", correlation_id=None, created_at=now, next_attempt_at=now,
                        version=1, content={"to": f"p{i}@acme.test", "subject": "s", "text": "t"})
               for i in range(3000)]
    await store.db["deliveries"].insert_many([delivery_doc(d) for d in waiting])
    deliverer = Deliverer(UnitOfWork(store, "notifier"), repo, NotifierSettings(delivery_concurrency=8), "me")
    deliverer.mailer = deliverer.webhooks = _Accepts()  # type: ignore[assignment]
    try:
        assert await deliverer.fill() == 8  # the first refill scans: the due range, at most SCAN_BATCH ids
        await asyncio.gather(*deliverer.in_flight.values())
        store.log.finds.clear()
        for _ in range(3):
            assert await deliverer.fill() == 8
            await asyncio.gather(*deliverer.in_flight.values())
    finally:
        await deliverer.close()
    finds = [f for f in store.log.finds if f["find"] == "deliveries"]
    assert len(finds) == 3, finds
    for find in finds:
        assert await examined(store.db, find) <= BOUND, find["filter"]
        assert len(find["filter"]["_id"]["$in"]) == 8, find
    assert deliverer.scans == 1


async def assert_by_id(store: Store, collection: str) -> None:
    """Each read of `collection` examines no more than the values it asks for (and their index keys)."""
    finds = [f for f in store.log.finds if f["find"] == collection]
    assert finds, f"no read of {collection}"
    for find in finds:
        assert await examined(store.db, find) <= 2 * max(longest_in(find["filter"]), 1) + 2, find["filter"]


async def test_the_console_page_reads_are_bounded_by_the_page(store):
    """A page of the console reads the rows it shows by id, whatever the size of the program: the matcher's
    page of matches (its figures memoised), schedules and balances by match id, names by person id, and
    the unschedulable pairs by the (org, program, status) index."""
    from services.matcher.adapters.views import MatcherViews, ProgramReads
    from services.profiles.adapters.repository import ProfileRepository
    from services.profiles.adapters.views import people_by_id
    from services.progress.adapters.repository import ProgressRepository
    from services.progress.adapters.views import partnerships_by_match
    from services.scheduler.adapters.views import schedules_by_match, unschedulable_of

    t0 = datetime(2027, 1, 4, tzinfo=UTC)
    matcher = MatcherRepository(store.db)
    await matcher.ensure_indexes()
    await store.db["people"].insert_many([
        {"org_id": "acme", "person_id": f"p{i:04d}", "profile": {"display_name": f"P {i}", "department": "Sales"}}
        for i in range(2 * OTHERS)])
    await store.db["matches"].insert_many([
        {"_id": f"m{i:04d}", "org_id": "acme", "program_id": "pilot", "person_a": f"p{2 * i:04d}",
         "person_b": f"p{2 * i + 1:04d}", "people": [f"p{2 * i:04d}", f"p{2 * i + 1:04d}"],
         "status": "accepted" if i % 2 else "proposed", "created_at": t0, "updated_at": t0, "score": 0.5}
        for i in range(OTHERS)])
    reads = ProgramReads(matcher, MatcherViews(matcher))
    await reads.summary("acme", "pilot")  # the memoised figures: one read of the program, every few seconds
    store.log.finds.clear()
    page = await reads.matches_page("acme", "pilot", {"accepted"}, offset=40, limit=50)
    assert page["total"] == OTHERS // 2 and len(page["matches"]) == 50
    assert [m["match_id"] for m in page["matches"]] == [f"m{i:04d}" for i in range(81, 181, 2)]
    await assert_by_id(store, "matches")
    await assert_by_id(store, "people")

    ids = [f"m{i:04d}" for i in range(0, 60, 3)]
    scheduler = SchedulerRepository(store.db)
    await scheduler.ensure_indexes()
    await store.db["schedules"].insert_many([
        {"_id": f"acme:m{i:04d}", "org_id": "acme", "program_id": "pilot", "match_id": f"m{i:04d}",
         "person_a": "a", "person_b": "b", "people": ["a", "b"], "sessions": [], "version": 1,
         "status": ScheduleStatus.UNSCHEDULABLE.value if i % 100 == 0 else ScheduleStatus.ACTIVE.value}
        for i in range(OTHERS)])
    progress = ProgressRepository(store.db)
    await progress.ensure_indexes()
    profiles = ProfileRepository(store.db)
    await profiles.ensure_indexes()
    await store.db["profiles"].insert_many([
        {"org_id": "acme", "person_id": f"p{i:04d}", "active": True,
         "profile": {"display_name": f"P {i}", "department": "Sales", "program_ids": ["pilot"]}}
        for i in range(OTHERS)])
    store.log.finds.clear()
    assert len(await unschedulable_of(scheduler, "acme", "pilot")) == OTHERS // 100
    [by_status] = store.log.finds
    assert await examined(store.db, by_status) <= 2 * OTHERS // 100  # those pairs' keys and documents only
    store.log.finds.clear()
    assert [s["match_id"] for s in await schedules_by_match(scheduler, "acme", "pilot", ids, t0)] == ids
    assert await partnerships_by_match(progress, "acme", "pilot", ids) == []
    named = await people_by_id(profiles, "acme", "pilot", [f"p{i:04d}" for i in range(0, 100, 5)])
    assert len(named) == 20
    await assert_by_id(store, "schedules")
    await assert_by_id(store, "partnerships")
    await assert_by_id(store, "profiles")


async def test_a_refresh_of_a_programs_figures_reads_only_the_matches_written_since(store):
    """The matcher's program figures come from its copy of the program's matches (`shared.pulled`): loaded
    once, then pulled by `touched_at`, so a refresh reads the matches written since the last one (and the
    overlap), an index range, not the program."""
    from services.matcher.adapters.views import MatcherViews, ProgramReads

    t0 = datetime(2027, 1, 4, tzinfo=UTC)
    matcher = MatcherRepository(store.db)
    await matcher.ensure_indexes()
    await store.db["matches"].insert_many([
        {"_id": f"m{i:04d}", "org_id": "acme", "program_id": "pilot", "person_a": f"p{2 * i:04d}",
         "person_b": f"p{2 * i + 1:04d}", "people": [f"p{2 * i:04d}", f"p{2 * i + 1:04d}"],
         "status": "proposed", "created_at": t0, "updated_at": t0, "expires_at": t0, "score": 0.5}
        for i in range(OTHERS)])
    reads = ProgramReads(matcher, MatcherViews(matcher))
    assert (await reads.summary("acme", "pilot"))["matches"] == {"proposed": OTHERS}
    assert matcher.ledger.loads == 1

    async def accept(tx: Tx) -> None:
        from services.matcher.domain.match import Match, MatchStatus

        for i in range(3):
            match = Match.from_doc(await store.db["matches"].find_one({"_id": f"m{i:04d}"}))
            match.status = MatchStatus.ACCEPTED
            assert await matcher.save_transition(tx, match, MatchStatus.PROPOSED)

    await in_tx(store, accept)
    reads.invalidate("acme", "pilot")
    store.log.finds.clear()
    summary = await reads.summary("acme", "pilot")
    assert summary["matches"] == {"proposed": OTHERS - 3, "accepted": 3}
    assert matcher.ledger.loads == 1 and matcher.ledger.pulled == 3
    pulls = [f for f in store.log.finds if f["find"] == "matches"]
    assert pulls and all("touched_at" in f["filter"] for f in pulls)
    await assert_bounded(store, "matches")


async def test_a_pull_of_a_programs_partnerships_reads_only_those_saved_since(store):
    """Progress's figures come from its copy of the program's partnerships (`shared.pulled`), pulled by
    the (org_id, program_id, touched_at) index."""
    from services.progress.adapters.repository import ProgressRepository
    from shared.pulled import touched

    progress = ProgressRepository(store.db)
    await progress.ensure_indexes()
    old = touched() - timedelta(days=1)
    await store.db["partnerships"].insert_many([
        {"_id": f"acme/m{i:04d}", "org_id": "acme", "program_id": "pilot", "match_id": f"m{i:04d}",
         "status": "active", "touched_at": old} for i in range(OTHERS)])
    assert len(await progress.copies.rows(("acme", "pilot"))) == OTHERS
    await store.db["partnerships"].insert_many([
        {"_id": f"acme/n{i}", "org_id": "acme", "program_id": "pilot", "match_id": f"n{i}", "status": "active",
         "touched_at": touched()} for i in range(2)])
    store.log.finds.clear()
    assert len(await progress.copies.rows(("acme", "pilot"))) == OTHERS + 2
    assert progress.copies.pulled == 2
    await assert_bounded(store, "partnerships")
