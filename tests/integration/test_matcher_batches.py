"""The batch path of `profiles.changed` on the real embedded database: people arriving in one batch
meet each other, and a batch proposes what the same events one by one would."""

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from support import profile

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from shared.contract import ProfileChanged, ProgramConfigured
from shared.store import Store, UnitOfWork

SKILLS = ["sql", "python", "design", "sales", "leadership", "writing"]


async def _matcher(infrastructure) -> tuple[Store, UnitOfWork, MatcherRepository]:
    store = Store(infrastructure.mongo_url, f"matcher_test_{uuid.uuid4().hex[:8]}")
    await store.ensure_plumbing_indexes()
    repo = MatcherRepository(store.db)
    await repo.ensure_indexes()
    return store, UnitOfWork(store, "matcher"), repo


@pytest.fixture
async def matchers(infrastructure) -> AsyncIterator[list[tuple[Store, UnitOfWork, MatcherRepository]]]:
    made = [await _matcher(infrastructure) for _ in range(2)]
    try:
        yield made
    finally:
        for store, _, _ in made:
            await store.client.drop_database(store.db.name)
            await store.close()


def _program(org: str) -> ProgramConfigured:
    return ProgramConfigured(org_id=org, program_id="pilot", name="Pilot", session_minutes=60, batch_window=0,
                             starts_on=datetime(2027, 1, 11, tzinfo=UTC))


async def _matches(store: Store, org: str) -> list[tuple[list[str], str, float]]:
    docs = await store.db["matches"].find({"org_id": org}).to_list(None)
    return sorted((sorted(m["people"]), m["status"], round(m["score"], 9)) for m in docs)


async def test_two_complementary_people_in_one_batch_are_proposed_to_each_other(matchers):
    (store, uow, repo), _ = matchers
    org = f"org-{uuid.uuid4().hex[:6]}"
    await handlers.program_configured(_program(org), uow, repo)
    a = ProfileChanged(**profile(org, "a", offers=["sql"], wants=["design"], department="Sales"), version=1)
    b = ProfileChanged(**profile(org, "b", offers=["design"], wants=["sql"], department="Legal"), version=1)
    await handlers.profiles_changed([a, b], uow, repo)
    assert [people for people, _, _ in await _matches(store, org)] == [["a", "b"]]
    outbox = await store.db["outbox"].find({"topic": "matches.proposed"}).to_list(None)
    assert [o["correlation_id"] for o in outbox] == [str(b.event_id)]  # b's arrival made the pair possible


async def test_a_batch_proposes_what_one_by_one_processing_does(matchers):
    (one_store, one_uow, one_repo), (batch_store, batch_uow, batch_repo) = matchers
    org = f"org-{uuid.uuid4().hex[:6]}"
    rng = random.Random(7)
    arrivals = [
        ProfileChanged(**profile(org, f"p{i:02d}", offers=rng.sample(SKILLS, 2), wants=rng.sample(SKILLS, 2),
                                 department=rng.choice(["Sales", "Legal", "Ops"]), max_partners=rng.choice([1, 2])),
                       version=1)
        for i in range(24)
    ]
    for _, uow, repo in matchers:
        await handlers.program_configured(_program(org), uow, repo)
    for event in arrivals:
        await handlers.profile_changed(event, one_uow, one_repo)
    await handlers.profiles_changed(arrivals, batch_uow, batch_repo, max_per_transaction=len(arrivals))
    proposed = await _matches(one_store, org)
    assert len(proposed) >= 8  # enough competition for order to matter
    assert await _matches(batch_store, org) == proposed

    # Then some leave, in one batch: the same withdrawals, and the same partners found for those freed.
    matched = [people for people, _, _ in proposed]
    leaving, partners = [], set()
    for people in matched:
        if len(leaving) < 3 and not partners & set(people):
            leaving.append(people[0])
            partners |= {pid for m in matched if people[0] in m for pid in m}
    departures = [ProfileChanged(**{**e.model_dump(exclude={"event_id"}), "active": False, "version": 2})
                  for e in arrivals if e.person_id in leaving]
    for event in departures:
        await handlers.profile_changed(event, one_uow, one_repo)
    await handlers.profiles_changed(departures, batch_uow, batch_repo)
    after = await _matches(one_store, org)
    assert sum(status == "withdrawn" for _, status, _ in after) >= 3
    assert await _matches(batch_store, org) == after


class CountingUow(UnitOfWork):
    """Records the size of each transaction's batch."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    async def run_batch(self, causes, work):
        self.batches.append(len(causes))
        return await super().run_batch(causes, work)


async def test_a_large_batch_is_split_into_bounded_transactions_and_pairs_across_them_still_meet(matchers):
    (store, _, repo), _ = matchers
    uow = CountingUow(store, "matcher")
    org = f"org-{uuid.uuid4().hex[:6]}"
    await handlers.program_configured(_program(org), uow, repo)
    events = [ProfileChanged(**profile(org, f"{side}{i}", offers=[f"s{i}{side}"], wants=[f"s{i}{other}"],
                                       department=side), version=1)
              for i in range(3) for side, other in (("x", "y"), ("y", "x"))]
    await handlers.profiles_changed(events[1:] + events[:1], uow, repo, max_per_transaction=2)
    assert uow.batches == [2, 2, 2]  # x0 is last: its partner y0 was committed two transactions before
    assert [people for people, _, _ in await _matches(store, org)] == [[f"x{i}", f"y{i}"] for i in range(3)]
