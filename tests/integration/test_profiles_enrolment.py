"""The profiles service's enrolment per program (`GET /programs`), kept as counters by each write transaction,
on the real stack: submissions, a changed program list, a withdrawal and an erasure in two orgs give exactly
a fresh count of what was published, current as soon as the events are out, never mixing orgs; concurrent
writes and two racing rebuilds count exactly; and a database written before the counters gets them at start."""

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
from pymongo import AsyncMongoClient, monitoring
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap
from services.profiles.adapters.repository import COUNTERS_MARKER, ProfileRepository
from services.profiles.domain import snapshot
from shared.contract import ProfileSubmitted
from shared.store import Store, Tx, UnitOfWork

DATABASE = "reciprocal_profiles"


def programs_of(stack, org: str) -> list[tuple]:
    answer = httpx.get(stack.service_url("profiles") + "/programs", headers=bearer(stack, org), timeout=10)
    assert answer.status_code == 200, answer.text
    return [(p["program_id"], p["name"], p["configured"], p["enrolled"], p["active"])
            for p in answer.json()["programs"]]


def expected(final: dict[str, tuple[list[str], bool]], configured: dict[str, str]) -> list[tuple]:
    """A fresh count of the people as published: enrolled in each program they name (once), active unless
    withdrawn; every configured program listed, and any program someone is enrolled in."""
    enrolled, active = Counter(), Counter()
    for program_ids, is_active in final.values():
        for program_id in set(program_ids):
            enrolled[program_id] += 1
            active[program_id] += is_active
    return [(pid, configured.get(pid, ""), pid in configured, enrolled[pid], active[pid])
            for pid in sorted(set(configured) | set(enrolled))]


def person(org: str, person_id: str, program_ids: list[str]) -> dict:
    return profile(org, person_id, offers=["python"], wants=["leadership"], program_ids=program_ids)


def version_of(tap, org: str, person_id: str) -> tuple[int, bool] | None:
    changes = [e for e in of_org(tap.events("profiles.changed"), org) if e["person_id"] == person_id]
    return (changes[-1]["version"], changes[-1]["active"]) if changes else None


async def test_programs_count_each_orgs_submissions_withdrawals_and_erasures(stack):
    a, b = f"org-{uuid.uuid4().hex[:6]}", f"org-{uuid.uuid4().hex[:6]}"
    spring = {**PROGRAM, "program_id": "spring", "name": "Spring"}
    submitted = {a: {"a1": ["pilot"], "a2": ["pilot", "spring"], "a3": ["spring"], "a4": ["pilot", "pilot"],
                     "a5": ["autumn"]},
                 b: {"b1": ["pilot"], "b2": ["pilot", "spring"]}}
    configured = {a: {"pilot": "Pilot", "spring": "Spring"}, b: {"pilot": "Pilot"}}
    async with Frontend(stack.kafka_bootstrap) as fe, \
            Tap(stack.kafka_bootstrap, ["profiles.changed", "profiles.erasure-confirmed"]) as tap:
        await fe.publish("programs.configured", {"org_id": a, **PROGRAM})
        await fe.publish("programs.configured", {"org_id": a, **spring})
        await fe.publish("programs.configured", {"org_id": b, **PROGRAM})
        for org, people in submitted.items():
            for person_id, program_ids in people.items():
                await fe.publish("profiles.submitted", person(org, person_id, program_ids))
        await tap.wait_for(lambda t: all(version_of(t, org, p) for org in submitted for p in submitted[org]),
                           what="every profile stored")
        final = {org: {p: (programs, True) for p, programs in people.items()} for org, people in submitted.items()}

        # withdrawn, erased, a changed program list; in the other org one withdrawal
        await fe.publish("profiles.withdrawn", {"org_id": a, "person_id": "a1"})
        await fe.publish("profiles.erasure-requested", {"org_id": a, "person_id": "a2"})
        await fe.publish("profiles.submitted", person(a, "a3", ["pilot"]))
        await fe.publish("profiles.withdrawn", {"org_id": b, "person_id": "b2"})
        final[a]["a1"] = (["pilot"], False)
        del final[a]["a2"]
        final[a]["a3"] = (["pilot"], True)
        final[b]["b2"] = (["pilot", "spring"], False)

        def erased(t) -> bool:
            return any(e["person_id"] == "a2" and e["service"] == "profiles"
                       for e in of_org(t.events("profiles.erasure-confirmed"), a))

        await tap.wait_for(lambda t: version_of(t, a, "a1") == (2, False) and version_of(t, a, "a3") == (2, True)
                           and version_of(t, b, "b2") == (2, False) and erased(t), what="the later writes")
        # the events are published after their transaction commits: the counts are already current
        assert programs_of(stack, a) == expected(final[a], configured[a]) == [
            ("autumn", "", False, 1, 1), ("pilot", "Pilot", True, 3, 2), ("spring", "Spring", True, 0, 0)]
        assert programs_of(stack, b) == expected(final[b], configured[b]) == [
            ("pilot", "Pilot", True, 2, 1), ("spring", "", False, 1, 0)]
        assert programs_of(stack, f"org-{uuid.uuid4().hex[:6]}") == []

    # the counters agree with a count over the stored records themselves
    client = AsyncMongoClient(stack.mongo_url)
    try:
        for org in (a, b):
            records = await client[DATABASE]["profiles"].find({"org_id": org}).to_list(None)
            stored = {r["person_id"]: (r["profile"]["program_ids"], r["active"]) for r in records}
            assert stored == final[org]
    finally:
        await client.close()


class Conflicts(monitoring.CommandListener):
    """Counts the writes SecantusDB refused with WriteConflict (112): their transactions were run again."""

    count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None: ...

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.count += event.failure.get("code") == 112


async def test_concurrent_writes_and_racing_rebuilds_count_exactly(infrastructure):
    """Forty transactions at once on one program (many hit the same shard, conflict and are run again), then
    forty withdrawals; then two replicas rebuild the counters of a database without them at the same time."""
    conflicts = Conflicts()
    store = Store(infrastructure.mongo_url, f"enrolment_{uuid.uuid4().hex[:8]}", event_listeners=[conflicts])
    other = Store(infrastructure.mongo_url, store.db.name)
    try:
        repo, uow = ProfileRepository(store.db), UnitOfWork(store, "profiles")
        await repo.ensure_indexes()

        def stored(person_id: str, active: bool) -> dict:
            return {"org_id": "acme", "person_id": person_id, "version": 1, "active": active,
                    "profile": {"person_id": person_id, "program_ids": ["pilot", "pilot", "spring"]}}

        async def write(person_id: str, active: bool) -> None:
            async def work(tx: Tx) -> None:
                await repo.save(tx, stored(person_id, active), before=await repo.get("acme", person_id, tx))
            await uow.run(None, work)

        people = [f"p{i:02d}" for i in range(40)]
        await asyncio.gather(*(write(p, True) for p in people))
        assert await repo.enrolment_counts("acme") == {"pilot": (40, 40), "spring": (40, 40)}
        assert conflicts.count, "no transaction conflicted: the retry path was not exercised"
        assert len(await repo.enrolment.distinct("shard")) > 1
        await asyncio.gather(*(write(p, False) for p in people[:25]))
        assert await repo.enrolment_counts("acme") == {"pilot": (40, 15), "spring": (40, 15)}
        assert await repo.enrolment_counts("globex") == {}

        await repo.enrolment.delete_many({})
        await repo.meta.delete_many({})
        replicas = [(repo, uow), (ProfileRepository(other.db), UnitOfWork(other, "profiles"))]
        built = await asyncio.gather(*(r.build_enrolment_counters(u) for r, u in replicas))
        assert sorted(built) == [False, True]
        assert await repo.enrolment_counts("acme") == {"pilot": (40, 15), "spring": (40, 15)}
        assert await repo.enrolment.distinct("shard") == [0]
        assert (await repo.meta.find_one({"_id": COUNTERS_MARKER}))["profiles"] == 40
        assert not await repo.build_enrolment_counters(uow)
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()
        await other.close()


async def test_a_database_from_before_the_counters_gets_them_when_the_service_starts(stack):
    """Profiles stored by the previous version (no counters, no marker): the restarted service counts them
    before it consumes, and counts the next writes on top."""
    org = f"org-{uuid.uuid4().hex[:6]}"
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["profiles.changed"]) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        await fe.publish("profiles.submitted", person(org, "kafka-1", ["pilot"]))
        await tap.wait_for(lambda t: version_of(t, org, "kafka-1"), what="the first profile")
        assert programs_of(stack, org) == [("pilot", "Pilot", True, 1, 1)]

        stack.stop_service("profiles")
        client = AsyncMongoClient(stack.mongo_url)
        try:
            db = client[DATABASE]
            await db["profiles"].insert_many([  # as the previous version stored them
                {"org_id": org, "person_id": f"old-{i}", "version": 1, "active": i % 3 != 0,
                 "updated_at": datetime.now(UTC), "profile": snapshot(ProfileSubmitted.model_validate(
                     person(org, f"old-{i}", ["pilot", "legacy"] if i % 2 else ["pilot"])))}
                for i in range(12)])
            await db["enrolment"].delete_many({})
            await db["meta"].delete_many({"_id": COUNTERS_MARKER})
            stack.start_service("profiles")
            stack.wait_ready(("profiles",))
            assert await db["meta"].find_one({"_id": COUNTERS_MARKER})
        finally:
            await client.close()

        # pilot: kafka-1 and the twelve (active unless i % 3 == 0: 8); legacy: the six odd ones (4 active)
        assert programs_of(stack, org) == [("legacy", "", False, 6, 4), ("pilot", "Pilot", True, 13, 9)]
        await fe.publish("profiles.withdrawn", {"org_id": org, "person_id": "old-1"})
        await fe.publish("profiles.submitted", person(org, "kafka-2", ["legacy"]))
        await tap.wait_for(lambda t: version_of(t, org, "old-1") == (2, False) and version_of(t, org, "kafka-2"),
                           what="the writes after the upgrade")
        assert programs_of(stack, org) == [("legacy", "", False, 7, 4), ("pilot", "Pilot", True, 13, 8)]
