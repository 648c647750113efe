"""The database commands one arriving profile costs the matcher, counted on the real embedded database.
Each costs a round trip (2-4 ms on SecantusDB here), and the matcher's transaction was most of the
profile-to-proposal stage: 17 commands before the arrival was taken from its own event."""

import asyncio
import uuid
from collections import Counter

import pytest
from support import PROGRAM, QueryLog, profile

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from shared.contract import ProfileChanged, ProgramConfigured
from shared.store import LEDGER, Store, UnitOfWork

OVERLAP_S = 0.5  # the pool cache's re-read window (5 s by default): here the seeding is out of it, as at 5/s
SKILLS = [(["python"], ["leadership"]), (["leadership"], ["python"]), (["sql"], ["design"]), (["design"], ["sql"])]


@pytest.fixture
async def matcher(infrastructure):
    log = QueryLog()
    store = Store(infrastructure.mongo_url, f"trips_{uuid.uuid4().hex[:8]}", event_listeners=[log])
    repo = MatcherRepository(store.db, overlap_s=OVERLAP_S)
    await repo.ensure_indexes()
    await store.ensure_plumbing_indexes()
    uow = UnitOfWork(store, "matcher")
    await uow.detect_legacy_ledger()
    yield uow, repo, log
    await store.client.drop_database(store.db.name)
    await store.close()


def arrival(i: int, org: str = "acme") -> ProfileChanged:
    offers, wants = SKILLS[i % 4]
    return ProfileChanged(**profile(org, f"p{i}", offers=offers, wants=wants, department=f"d{i % 7}"), version=1)


async def test_a_lone_arrival_costs_the_matcher_a_dozen_commands_in_a_pool_mostly_paired(matcher):
    uow, repo, log = matcher
    await handlers.program_configured(ProgramConfigured(org_id="acme", **PROGRAM), uow, repo)
    await handlers.profiles_changed([arrival(i) for i in range(200)], uow, repo)  # all paired already
    await handlers.profiles_changed([arrival(i) for i in range(200, 240, 4)], uow, repo)  # ten left without
    await repo.pool_index(await repo.program("acme", "pilot"))
    await asyncio.sleep(OVERLAP_S + 0.1)
    log.names.clear()
    log.finds.clear()
    await handlers.profiles_changed([arrival(241)], uow, repo)
    proposed = await repo.open_matches_of("acme", "p241")
    assert len(proposed) == 1, "the arrival was proposed"
    counts = Counter(log.names)
    assert len(log.names) <= 12, counts
    assert not [f for f in log.finds if f["find"] == LEDGER], "a fresh event's ledger entry is written, not read"
    own = [f for f in log.finds if f["find"] == "people" and "person_id" in f["filter"]
           and "p241" in str(f["filter"]["person_id"])]
    assert not own, "the arrival's own profile is taken from its event, not read back"
    candidate_reads = [f for f in log.finds if f["find"] == "people" and "person_id" in f["filter"]]
    assert len(candidate_reads) <= 1, "the first candidates are read in one go"
