"""Two people who arrive at the same moment still meet: matching within a program is serialised
through the database, so the second transaction retries and sees the first one's profile."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from support import profile

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from shared.contract import ProfileChanged, ProgramConfigured
from shared.store import Store, UnitOfWork

PAIRS = 4


@pytest.fixture
async def matcher(infrastructure) -> AsyncIterator[tuple[Store, UnitOfWork, MatcherRepository]]:
    store = Store(infrastructure.mongo_url, f"matcher_test_{uuid.uuid4().hex[:8]}")
    await store.ensure_plumbing_indexes()
    repo = MatcherRepository(store.db)
    await repo.ensure_indexes()
    try:
        yield store, UnitOfWork(store, "matcher"), repo
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


async def test_people_arriving_at_the_same_moment_are_matched_with_each_other(matcher):
    store, uow, repo = matcher
    org = f"org-{uuid.uuid4().hex[:6]}"
    program = ProgramConfigured(org_id=org, program_id="pilot", name="Pilot", session_minutes=60, batch_window=0,
                                starts_on=datetime(2027, 1, 11, tzinfo=UTC))
    await handlers.program_configured(program, uow, repo)
    for i in range(PAIRS):  # each pair is the only match for each other: arriving together, they must meet
        a = profile(org, f"a{i}", offers=[f"skill{i}x"], wants=[f"skill{i}y"], department="Sales")
        b = profile(org, f"b{i}", offers=[f"skill{i}y"], wants=[f"skill{i}x"], department="Legal")
        await asyncio.gather(*(handlers.profile_changed(ProfileChanged(**p, version=1), uow, repo) for p in (a, b)))
    matches = await store.db["matches"].find({"org_id": org}).to_list(None)
    assert sorted(sorted(m["people"]) for m in matches) == [[f"a{i}", f"b{i}"] for i in range(PAIRS)]
