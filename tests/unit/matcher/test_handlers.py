"""The matcher's service layer against an in-memory repository: the real handlers, the real pool
cache and the real domain, with MongoDB replaced by dicts (same document shapes)."""

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.matcher import handlers
from services.matcher.adapters.pools import PoolCache
from services.matcher.adapters.repository import PairHistory
from services.matcher.domain import Person, Program, best_partner, match_id, person_from_profile
from services.matcher.domain.match import Match
from shared.contract import EndRequested, Event, MatchRequested, MatchResponded, ProfileChanged, ProgramConfigured

START = datetime(2027, 1, 11, tzinfo=UTC)
WINDOWS = [{"weekday": "mon", "start": "09:00", "end": "12:00"}]


@dataclass
class FakeTx:
    cause: Event | None
    emitted: list[Event] = field(default_factory=list)
    session: Any = None

    def emit(self, event: Event) -> None:
        self.emitted.append(event)


class FakeUow:
    """Applies work once per cause event_id (the ledger), and records what it emitted."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ledger: set[str] = set()

    async def run(self, cause: Event | None, work: Any) -> Any:
        if cause is not None:
            if str(cause.event_id) in self.ledger:
                return None
            self.ledger.add(str(cause.event_id))
        tx = FakeTx(cause)
        result = await work(tx)
        self.events += tx.emitted
        return result

    def of(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.event_type == event_type]


@dataclass
class Db:
    """What replicas share: the matcher database."""

    people: dict[tuple[str, str], dict] = field(default_factory=dict)
    programs: dict[tuple[str, str], Program] = field(default_factory=dict)
    matches: dict[str, dict] = field(default_factory=dict)
    reports: dict[str, dict] = field(default_factory=dict)
    previews: dict[str, dict] = field(default_factory=dict)
    previewed: set[tuple[str, str]] = field(default_factory=set)
    batch_due: dict[tuple[str, str], datetime] = field(default_factory=dict)
    batch_arrival: dict[tuple[str, str], datetime] = field(default_factory=dict)


class FakeRepository:
    """MatcherRepository's interface over a shared in-memory Db; counts whole-pool reads."""

    def __init__(self, db: Db | None = None) -> None:
        self.db = db or Db()
        self.pools = PoolCache(self)
        self.whole_pool_reads = 0

    async def save_program(self, tx, program: Program) -> None:
        key = (program.org_id, program.program_id)
        before = self.db.programs.get(key)
        self.db.programs[key] = replace(program, cohort_matched_at=before and before.cohort_matched_at)

    async def mark_cohort_matched(self, tx, program: Program, at: datetime) -> bool:
        key = (program.org_id, program.program_id)
        if self.db.programs[key].cohort_matched_at is not None:
            return False
        self.db.programs[key] = replace(self.db.programs[key], cohort_matched_at=at)
        return True

    async def cohorts_due(self, now: datetime) -> list[Program]:
        return [p for key, p in self.db.programs.items() if p.matching == "cohort" and p.cohort_matched_at is None
                and key not in self.db.previewed
                and p.registration_closes_at is not None and p.registration_closes_at <= now]

    async def schedule_batch(self, tx, program: Program, due: datetime, arrived_at: datetime) -> None:
        key = (program.org_id, program.program_id)
        self.db.batch_due[key] = min(due, self.db.batch_due.get(key, due))
        self.db.batch_arrival[key] = max(arrived_at, self.db.batch_arrival.get(key, arrived_at))

    async def batches_due(self, now: datetime):
        return [(self.db.programs[key], due, self.db.batch_arrival.get(key))
                for key, due in self.db.batch_due.items() if due <= now]

    async def claim_batch(self, tx, program: Program, due: datetime) -> bool:
        self.db.batch_arrival.pop((program.org_id, program.program_id), None)
        return self.db.batch_due.pop((program.org_id, program.program_id), None) == due

    async def mark_cohort_previewed(self, tx, program: Program, at: datetime) -> bool:
        key = (program.org_id, program.program_id)
        if key in self.db.previewed:
            return False
        self.db.previewed.add(key)
        return True

    async def pool_revisions(self, program, tx=None):
        return {d["person_id"]: d["rev"] for d in self._members(program)}

    async def save_preview(self, tx, doc) -> None:
        self.db.previews[doc["preview_id"]] = dict(doc)

    async def preview(self, org_id, program_id, preview_id=None, tx=None):
        docs = [d for d in self.db.previews.values() if (d["org_id"], d["program_id"]) == (org_id, program_id)
                and preview_id in (None, d["preview_id"])]
        return dict(max(docs, key=lambda d: d["created_at"])) if docs else None

    async def take_matching_turn(self, tx, program: Program) -> None:
        pass  # one event at a time here; tests/integration/test_matcher_concurrency.py covers the real one

    async def program(self, org_id, program_id, tx=None):
        return self.db.programs.get((org_id, program_id))

    async def save_profile(self, tx, profile: ProfileChanged) -> dict:
        rev = uuid.uuid4().hex
        self.db.people[(profile.org_id, profile.person_id)] = {
            "org_id": profile.org_id, "person_id": profile.person_id, "program_ids": profile.program_ids,
            "active": profile.active, "profile": profile.model_dump(mode="json"), "rev": rev,
            "updated_at": datetime.now(UTC),
        }
        return {(profile.org_id, profile.person_id): rev}

    def _person(self, doc, program) -> Person:
        return person_from_profile(ProfileChanged.model_validate(doc["profile"]), program.skill_aliases)

    def _members(self, program):
        return [d for (org, _), d in self.db.people.items()
                if org == program.org_id and program.program_id in d["program_ids"] and d["active"]]

    async def pool(self, program, tx=None):
        self.whole_pool_reads += 1
        return {d["person_id"]: self._person(d, program) for d in self._members(program)}

    async def persons(self, program, person_ids, tx=None):
        return {pid: self._person(d, program) for pid in set(person_ids)
                if (d := self.db.people.get((program.org_id, pid)))}

    async def pool_index(self, program):
        return await self.pools.index(program)

    async def pool_docs(self, program):
        self.whole_pool_reads += 1
        return [dict(d) for d in self._members(program)]

    async def people_changed_since(self, org_id, since):
        return [{"person_id": d["person_id"], "rev": d["rev"]} for (org, _), d in self.db.people.items()
                if org == org_id and d["updated_at"] > since]

    async def people_docs(self, org_id, person_ids):
        return [dict(d) for pid in person_ids if (d := self.db.people.get((org_id, pid)))]

    def pool_committed(self, program, index, revs):
        self.pools.committed(program, index, revs)

    def _of_program(self, program):
        return [m for m in self.db.matches.values()
                if m["org_id"] == program.org_id and m["program_id"] == program.program_id]

    async def history(self, program, tx=None):
        history = PairHistory()
        for m in self._of_program(program):
            history.add(m["people"], m["status"])
        return history

    async def history_of(self, program, person_ids, tx=None):
        history = PairHistory()
        for m in self._of_program(program):
            if set(m["people"]) & set(person_ids):
                history.add(m["people"], m["status"])
        return history

    async def open_matches_of(self, org_id, person_id, tx=None):
        return [Match.from_doc(m) for m in self.db.matches.values()
                if m["org_id"] == org_id and person_id in m["people"] and m["status"] in ("proposed", "accepted")]

    async def matches_of_people(self, tx, people):
        found = {}
        for org_id, person_id in people:
            found[(org_id, person_id)] = [Match.from_doc(m) for m in self.db.matches.values()
                                          if m["org_id"] == org_id and person_id in m["people"]]
        return {k: v for k, v in found.items() if v}

    async def match(self, org_id, mid, tx=None):
        m = self.db.matches.get(mid)
        return Match.from_doc(m) if m and m["org_id"] == org_id else None

    async def insert_match(self, tx, match) -> bool:
        if match.match_id in self.db.matches:
            return False
        self.db.matches[match.match_id] = match.to_doc()
        return True

    async def insert_matches(self, tx, matches) -> int:
        return sum([await self.insert_match(tx, m) for m in matches])

    async def insert_new_matches(self, tx, matches):
        return [m for m in matches if await self.insert_match(tx, m)]

    async def save_transition(self, tx, match, was) -> bool:
        m = self.db.matches.get(match.match_id)
        if m is None or m["status"] != was:
            return False
        m.update(match.changes())
        return True

    async def expired(self, now, limit=100):
        return [Match.from_doc(m) for m in self.db.matches.values()
                if m["status"] == "proposed" and m["expires_at"] <= now][:limit]

    async def save_cohort_report(self, tx, doc) -> None:
        self.db.reports[doc["_id"]] = doc


def prof(pid: str, offers: list[str], wants: list[str], *, max_partners: int = 1, **extra: Any) -> ProfileChanged:
    fields = dict(org_id="acme", person_id=pid, version=1, program_ids=["p1"], display_name=pid.title(),
                  email=f"{pid}@example.com", department=f"dept-{pid}", site="london", timezone="UTC",
                  languages=["en"], career_stage="mid", offers=[{"skill": s, "level": 4} for s in offers],
                  wants=[{"skill": s, "goal": f"learn {s}", "priority": 2} for s in wants],
                  meeting_modes=["video"], availability=WINDOWS, max_partners=max_partners)
    fields.update(extra)
    return ProfileChanged(**fields)


def program_event(**fields: Any) -> ProgramConfigured:
    """One by one (`batch_window` 0) unless a test says otherwise."""
    fields.setdefault("batch_window", 0)
    return ProgramConfigured(org_id="acme", program_id="p1", name="Pilot", starts_on=START, **fields)


def pair(event: Any) -> frozenset[str]:
    return frozenset((event.person_a, event.person_b))


def proposed(uow: FakeUow) -> list[frozenset[str]]:
    return [pair(e) for e in uow.of("matches.proposed")]


async def respond(uow, repo, mid: str, person: str, decision: str = "accept") -> None:
    await handlers.match_responded(MatchResponded(org_id="acme", match_id=mid, person_id=person,
                                                  decision=decision), uow, repo)


@pytest.fixture
async def world():
    uow, repo = FakeUow(), FakeRepository()
    await handlers.program_configured(program_event(), uow, repo)
    return uow, repo


async def setup_people(uow, repo, *profiles: ProfileChanged) -> None:
    for p in profiles:
        await handlers.profile_changed(p, uow, repo)


# --- 1. open pairs are never proposed again ---------------------------------------------------


async def test_two_free_slots_never_go_to_the_same_partner(world):
    uow, repo = world
    await setup_people(uow, repo, prof("a", ["leadership"], ["sql"], max_partners=2),
                       prof("b", ["sql"], ["leadership"], max_partners=2))
    assert proposed(uow) == [frozenset("ab")]
    await setup_people(uow, repo, prof("c", ["sql"], ["leadership"], max_partners=2))
    assert proposed(uow) == [frozenset("ab"), frozenset("ac")]
    ids = [e.match_id for e in uow.of("matches.proposed")]
    assert len(ids) == len(set(ids))


async def test_an_accepted_pair_survives_profile_changes_and_cohort_runs(world):
    uow, repo = world
    a, b = prof("a", ["leadership"], ["sql"], max_partners=2), prof("b", ["sql"], ["leadership"], max_partners=2)
    await setup_people(uow, repo, a, b)
    mid = match_id("acme", "p1", "a", "b")
    await respond(uow, repo, mid, "a")
    await respond(uow, repo, mid, "b")
    assert repo.db.matches[mid]["status"] == "accepted"
    before = len(uow.events)
    await setup_people(uow, repo, prof("b", ["sql"], ["leadership"], max_partners=3, interests=["jazz"]),
                       prof("a", ["leadership"], ["sql"], max_partners=2, interests=["chess"]))
    await handlers.match_requested(MatchRequested(org_id="acme", program_id="p1"), uow, repo)
    assert uow.events[before:] == []
    assert repo.db.matches[mid]["status"] == "accepted"
    assert repo.db.matches[mid]["accepted_by"] == ["a", "b"]


async def test_a_pending_pair_is_not_reproposed_by_a_cohort_run(world):
    uow, repo = world
    await setup_people(uow, repo, prof("a", ["leadership"], ["sql"], max_partners=2),
                       prof("b", ["sql"], ["leadership"], max_partners=2))
    mid = match_id("acme", "p1", "a", "b")
    await respond(uow, repo, mid, "a")
    await handlers.match_requested(MatchRequested(org_id="acme", program_id="p1"), uow, repo)
    assert proposed(uow) == [frozenset("ab")]
    assert repo.db.matches[mid]["accepted_by"] == ["a"]


# --- 2. withdrawals rematch the partner -----------------------------------------------------


async def test_withdrawal_names_the_broken_rule_and_rematches_the_partner(world):
    uow, repo = world
    await setup_people(uow, repo, prof("x", ["leadership"], ["sql"]), prof("y", ["sql"], ["leadership"]),
                       prof("z", ["sql"], ["leadership"]))
    assert proposed(uow) == [frozenset("xy")]  # z waits: x is full
    await handlers.profile_changed(prof("y", ["sql"], ["leadership"], languages=["fr"]), uow, repo)
    [withdrawn] = uow.of("matches.withdrawn")
    assert pair(withdrawn) == frozenset("xy") and withdrawn.reason.startswith("no_shared_language")
    assert not withdrawn.partnership_ended
    assert repo.db.matches[withdrawn.match_id]["status"] == "withdrawn"
    assert proposed(uow) == [frozenset("xy"), frozenset("xz")]


async def test_a_person_leaving_frees_and_rematches_their_partner(world):
    uow, repo = world
    y = prof("y", ["sql"], ["leadership"])
    await setup_people(uow, repo, prof("x", ["leadership"], ["sql"]), y, prof("z", ["sql"], ["leadership"]))
    await handlers.profile_changed(y.model_copy(update={"active": False, "event_id": uuid.uuid4()}), uow, repo)
    [withdrawn] = uow.of("matches.withdrawn")
    assert withdrawn.reason == "y left the program"
    assert proposed(uow) == [frozenset("xy"), frozenset("xz")]


async def test_a_person_leaving_an_accepted_pair_ends_the_partnership(world):
    uow, repo = world
    y = prof("y", ["sql"], ["leadership"])
    await setup_people(uow, repo, prof("x", ["leadership"], ["sql"]), y)
    for person in "xy":
        await respond(uow, repo, match_id("acme", "p1", "x", "y"), person)
    await handlers.profile_changed(y.model_copy(update={"active": False, "event_id": uuid.uuid4()}), uow, repo)
    [ended] = uow.of("matches.withdrawn")
    assert ended.partnership_ended and ended.reason == "y left the program"
    assert repo.db.matches[ended.match_id]["status"] == "ended"


# --- 5. lifecycle: decline, expiry, replay -------------------------------------------------------


async def test_decline_rematches_both_and_the_pair_never_comes_back(world):
    uow, repo = world
    await setup_people(uow, repo, prof("a", ["leadership"], ["sql"]), prof("b", ["sql"], ["leadership"]),
                       prof("c", ["sql"], ["leadership"]), prof("d", ["leadership"], ["sql"]))
    assert proposed(uow) == [frozenset("ab"), frozenset("cd")]
    await respond(uow, repo, match_id("acme", "p1", "c", "d"), "c", "decline")
    assert proposed(uow) == [frozenset("ab"), frozenset("cd")]  # a and b are taken
    await respond(uow, repo, match_id("acme", "p1", "a", "b"), "b", "decline")
    assert [pair(e) for e in uow.of("matches.declined")] == [frozenset("cd"), frozenset("ab")]
    assert proposed(uow)[2:] == [frozenset("ac"), frozenset("bd")]  # both people of the declined pair
    await respond(uow, repo, match_id("acme", "p1", "a", "c"), "a", "decline")
    await setup_people(uow, repo, *(prof(p, ["leadership", "sql"], ["sql", "leadership"], max_partners=3,
                                         interests=["jazz"]) for p in "abcd"))
    await handlers.match_requested(MatchRequested(org_id="acme", program_id="p1"), uow, repo)
    for declined in ("ab", "cd", "ac"):
        assert proposed(uow).count(frozenset(declined)) == 1


async def test_expiry_withdraws_rematches_both_and_blocks_the_pair(world):
    uow, repo = world
    await setup_people(uow, repo, prof("a", ["leadership"], ["sql"]), prof("b", ["sql"], ["leadership"]),
                       prof("c", ["sql"], ["leadership"]))
    assert proposed(uow) == [frozenset("ab")]
    assert await handlers.expire_proposals(uow, repo, datetime.now(UTC) + timedelta(days=6)) == 0
    assert await handlers.expire_proposals(uow, repo, datetime.now(UTC) + timedelta(days=7, minutes=1)) == 1
    [withdrawn] = uow.of("matches.withdrawn")
    assert pair(withdrawn) == frozenset("ab") and withdrawn.reason == "proposal expired"
    assert repo.db.matches[withdrawn.match_id]["status"] == "expired"
    assert proposed(uow) == [frozenset("ab"), frozenset("ac")]
    await handlers.profile_changed(prof("b", ["sql"], ["leadership"], max_partners=2), uow, repo)
    assert proposed(uow).count(frozenset("ab")) == 1


async def test_replay_gives_the_same_match_ids_and_no_duplicate_proposals(world):
    uow, repo = world
    events = [prof("a", ["leadership"], ["sql"], max_partners=2), prof("b", ["sql"], ["leadership"]),
              prof("c", ["sql"], ["leadership"])]
    await setup_people(uow, repo, *events)
    first = sorted(e.match_id for e in uow.of("matches.proposed"))
    await setup_people(uow, repo, *events)  # redelivery: same event ids
    await setup_people(uow, repo, *(e.model_copy(update={"event_id": uuid.uuid4()}) for e in events))  # resent
    await handlers.program_configured(program_event(), uow, repo)
    assert sorted(e.match_id for e in uow.of("matches.proposed")) == first
    assert first == sorted([match_id("acme", "p1", "a", "b"), match_id("acme", "p1", "a", "c")])

    other_uow, other_repo = FakeUow(), FakeRepository()  # the same events on a fresh database
    await handlers.program_configured(program_event(), other_uow, other_repo)
    await setup_people(other_uow, other_repo, *events)
    assert sorted(e.match_id for e in other_uow.of("matches.proposed")) == first


# --- 3. the vectorised, cached pool -----------------------------------------------------------


async def test_a_refresh_reads_the_profiles_only_of_people_this_process_did_not_commit_itself():
    """In the database a refresh runs outside the transaction, so it sees only what has committed: the
    people this process committed (and recorded with `committed`) are known by rev; others are read."""
    repo = FakeRepository()
    await handlers.program_configured(program_event(), FakeUow(), repo)
    program = await repo.program("acme", "p1")
    for pid in ("a", "b"):
        await repo.save_profile(None, prof(pid, ["leadership"], ["sql"]))
    index = await repo.pool_index(program)  # the first load: a and b
    asked: list[list[str]] = []
    people_docs = repo.people_docs

    async def counted(org_id, person_ids):
        asked.append(list(person_ids))
        return await people_docs(org_id, person_ids)

    repo.people_docs = counted
    mine = await repo.save_profile(None, prof("c", ["sql"], ["leadership"]))  # committed by this process
    index.upsert(person_from_profile(prof("c", ["sql"], ["leadership"]), program.skill_aliases))
    repo.pool_committed(program, index, {"c": mine[("acme", "c")]})
    await repo.pool_index(program)
    assert asked == [], "c's profile is not read again: a read of revs only"
    await repo.save_profile(None, prof("d", ["sql"], ["leadership"]))  # another replica's write
    assert "d" in await repo.pool_index(program) and asked == [["d"]]


async def test_a_commit_is_not_recorded_into_an_index_rebuilt_meanwhile(world):
    uow, repo = world
    await setup_people(uow, repo, prof("a", ["leadership"], ["sql"]))
    program = await repo.program("acme", "p1")
    stale = await repo.pool_index(program)
    repo.pools.entries.clear()  # rebuilt, e.g. after the program changed
    fresh = await repo.pool_index(program)
    repo.pool_committed(program, stale, {"b": "rev-b"})
    assert "b" not in repo.pools.entries[("acme", "p1")].revs and fresh is not stale


async def test_steady_state_events_do_not_reload_the_pool(world):
    uow, repo = world
    await setup_people(uow, repo, *(prof(f"p{i}", ["leadership"], ["sql"]) for i in range(10)))
    reads = repo.whole_pool_reads
    await setup_people(uow, repo, *(prof(f"q{i}", ["sql"], ["leadership"]) for i in range(10)))
    assert repo.whole_pool_reads == reads
    assert len(proposed(uow)) == 10


async def test_the_cache_sees_people_written_by_another_replica(world):
    uow, repo = world
    replica = FakeRepository(repo.db)  # same database, its own process cache
    await handlers.profile_changed(prof("a", ["leadership"], ["sql"]), uow, repo)
    await handlers.profile_changed(prof("b", ["python"], ["leadership"]), uow, replica)  # no value for a
    assert proposed(uow) == []
    await handlers.profile_changed(prof("b", ["sql"], ["leadership"]), uow, replica)  # a's cache: never saw b
    await handlers.profile_changed(prof("c", ["sql"], ["leadership"], languages=["de"]), uow, replica)
    await handlers.profile_changed(prof("d", ["leadership"], ["sql"]), uow, repo)
    assert proposed(uow) == [frozenset("ab")]
    # d's rematch ran on the first replica: its cache learnt b (taken) and c (no shared language) from the db
    index = await repo.pool_index(await repo.program("acme", "p1"))
    assert {"b", "c"} <= set(index.row)
    await handlers.profile_changed(prof("c", ["sql"], ["leadership"]), uow, replica)
    assert proposed(uow) == [frozenset("ab"), frozenset("cd")]


async def test_proposals_equal_the_pairwise_best_partner(world):
    from services.matcher.domain import generate_cohort

    uow, repo = world
    program = await repo.program("acme", "p1")
    for p in generate_cohort(60, seed=7, org_id="acme", program_id="p1"):
        pool = await repo.pool(program)
        history = await repo.history(program)
        person = person_from_profile(p, program.skill_aliases)
        pool[person.person_id] = person
        load = history.load
        want = best_partner(person, pool.values(), program, blocked_pairs=history.taken(), load=load, now=START)
        before = len(uow.of("matches.proposed"))
        await handlers.profile_changed(p, uow, repo)
        got = uow.of("matches.proposed")[before:before + 1]
        assert (pair(got[0]) if got else None) == (want.pair if want else None)
        assert not got or abs(got[0].score - want.score) < 1e-9


# --- 4. the cohort report ---------------------------------------------------------------------


async def test_cohort_run_keeps_a_report_consistent_with_its_proposals(world):
    uow, repo = world
    for p in (prof("a", ["leadership"], ["sql"], department="Finance"),
              prof("b", ["sql"], ["leadership"], department="Marketing"),
              prof("c", ["leadership"], ["sql"], department="Finance", languages=["fr"]),
              prof("d", ["knitting"], ["leadership"], department="People")):
        await repo.save_profile(None, p)  # arrive without events: nothing proposed yet
    run = MatchRequested(org_id="acme", program_id="p1")
    await handlers.match_requested(run, uow, repo)
    [report] = repo.db.reports.values()
    assert report["org_id"] == "acme" and report["run_id"] == str(run.event_id)
    assert report["match_ids"] == [e.match_id for e in uow.of("matches.proposed")]
    assert {frozenset((p["person_a"], p["person_b"])) for p in report["pairs"]} == set(proposed(uow)) == {
        frozenset("ab")}
    assert report["objective"] == pytest.approx(sum(e.score for e in uow.of("matches.proposed")))
    assert report["coverage"] == pytest.approx(report["matched"] / report["participants"])
    assert report["department_matrix"] == {"Finance": {"Marketing": 1}, "Marketing": {"Finance": 1}}
    assert set(report["unmatched"]) == {"c", "d"}
    assert all(reasons for reasons in report["unmatched"].values())


# --- 6. after the match: ending a partnership, the injected clock ---------------------------------


async def end(uow, repo, mid: str, person: str, reason: str = "not_a_fit") -> EndRequested:
    event = EndRequested(org_id="acme", match_id=mid, person_id=person, reason=reason)
    await handlers.end_requested(event, uow, repo)
    return event


async def test_an_end_request_ends_the_partnership_blocks_the_pair_and_rematches_both(world):
    uow, repo = world
    await setup_people(uow, repo, prof("a", ["leadership"], ["sql"]), prof("b", ["sql"], ["leadership"]),
                       prof("c", ["sql"], ["leadership"]), prof("d", ["leadership"], ["sql"]))
    assert proposed(uow) == [frozenset("ab"), frozenset("cd")]
    ab, cd = match_id("acme", "p1", "a", "b"), match_id("acme", "p1", "c", "d")
    for mid, people in ((ab, "ab"), (cd, "cd")):
        for person in people:
            await respond(uow, repo, mid, person)
    await end(uow, repo, cd, "d", "goals_met")  # frees c and d; they can only go to a and b, who are full
    await end(uow, repo, ab, "a")
    ended = uow.of("matches.withdrawn")
    assert [(pair(e), e.reason, e.partnership_ended) for e in ended] == [
        (frozenset("cd"), "goals_met", True), (frozenset("ab"), "not_a_fit", True)]
    assert repo.db.matches[ab]["status"] == "ended" and repo.db.matches[ab]["reason"] == "not_a_fit"
    assert proposed(uow)[2:] == [frozenset("ac"), frozenset("bd")]  # both partners of the ended pair
    await setup_people(uow, repo, *(prof(p, ["leadership", "sql"], ["sql", "leadership"], max_partners=3,
                                         interests=["jazz"]) for p in "abcd"))
    await handlers.match_requested(MatchRequested(org_id="acme", program_id="p1"), uow, repo)
    for gone in ("ab", "cd"):
        assert proposed(uow).count(frozenset(gone)) == 1


async def test_an_end_from_outside_the_pair_or_of_no_running_partnership_changes_nothing(world):
    uow, repo = world
    await setup_people(uow, repo, prof("a", ["leadership"], ["sql"]), prof("b", ["sql"], ["leadership"]),
                       prof("c", ["sql"], ["leadership"]))
    ab = match_id("acme", "p1", "a", "b")
    await end(uow, repo, ab, "a")  # still a proposal: nothing to end
    assert repo.db.matches[ab]["status"] == "proposed"
    for person in "ab":
        await respond(uow, repo, ab, person)
    before = len(uow.events)
    await end(uow, repo, ab, "c")  # not one of the pair
    await end(uow, repo, "no-such-match", "a")
    assert uow.events[before:] == [] and repo.db.matches[ab]["status"] == "accepted"
    await end(uow, repo, ab, "b")
    await end(uow, repo, ab, "a", "schedule")  # already ended: a second end (a new event) changes nothing
    assert [e.reason for e in uow.of("matches.withdrawn")] == ["not_a_fit"]
    assert repo.db.matches[ab]["reason"] == "not_a_fit"


async def test_the_handlers_take_their_time_from_the_injected_clock(world):
    uow, repo = world
    virtual = datetime(2027, 3, 1, 9, tzinfo=UTC)
    for p in (prof("a", ["leadership"], ["sql"]), prof("b", ["sql"], ["leadership"])):
        await handlers.profile_changed(p, uow, repo, now=lambda: virtual)
    [proposal] = uow.of("matches.proposed")
    assert proposal.expires_at == virtual + timedelta(days=7)
    assert repo.db.matches[proposal.match_id]["created_at"] == virtual
    await handlers.match_responded(MatchResponded(org_id="acme", match_id=proposal.match_id, person_id="a",
                                                  decision="decline"), uow, repo, now=lambda: virtual)
    assert repo.db.matches[proposal.match_id]["updated_at"] == virtual


# --- 5. cohort matching ----------------------------------------------------------------------


COHORT = [prof("a", ["leadership"], ["sql"], department="Finance"), prof("b", ["sql"], ["leadership"]),
          prof("c", ["leadership"], ["sql"], department="Sales"), prof("d", ["sql"], ["leadership"], department="HR")]


async def test_a_cohort_program_proposes_nobody_before_its_close_and_then_the_optimisers_pairs():
    from services.matcher.domain import optimise, program_from_event

    closes = START - timedelta(days=3)
    uow, repo = FakeUow(), FakeRepository()
    config = program_event(matching="cohort", registration_closes_at=closes)
    await handlers.program_configured(config, uow, repo)
    await setup_people(uow, repo, *COHORT)
    assert proposed(uow) == []
    assert await handlers.close_registrations(uow, repo, closes - timedelta(seconds=1)) == 0
    assert proposed(uow) == []

    await handlers.program_configured(config, uow, repo)  # a reconfiguration before the close changes nothing
    assert await handlers.close_registrations(uow, repo, closes) == 1
    expected = optimise((await repo.pool(program_from_event(config))).values(), program_from_event(config),
                        now=closes)
    assert set(proposed(uow)) == {frozenset((p.person_a, p.person_b)) for p in expected.pairs}
    assert len(proposed(uow)) == 2
    assert await handlers.close_registrations(uow, repo, closes + timedelta(days=1)) == 0  # once only

    await handlers.program_configured(config, uow, repo)  # reconfigured after the close: still matched
    await setup_people(uow, repo, prof("e", ["leadership"], ["sql"]), prof("f", ["sql"], ["leadership"]))
    assert proposed(uow)[2:] == [frozenset("ef")], "late arrivals are matched as in continuous mode"


async def test_a_match_request_matches_a_waiting_cohort_early_and_the_close_then_does_nothing():
    closes = START + timedelta(days=30)
    uow, repo = FakeUow(), FakeRepository()
    await handlers.program_configured(program_event(matching="cohort", registration_closes_at=closes), uow, repo)
    await setup_people(uow, repo, *COHORT[:2])
    assert proposed(uow) == []
    await handlers.match_requested(MatchRequested(org_id="acme", program_id="p1"), uow, repo)
    assert proposed(uow) == [frozenset("ab")]
    assert await handlers.close_registrations(uow, repo, closes) == 0
    assert len(proposed(uow)) == 1


# --- 6. preview and approval -----------------------------------------------------------------


async def test_a_preview_proposes_nothing_and_its_approval_proposes_exactly_its_pairs_once(world):
    uow, repo = world
    for p in COHORT:
        await repo.save_profile(None, p)
    preview = await handlers.preview_cohort(uow, repo, "acme", "p1", START)
    assert proposed(uow) == [] and preview["status"] == "pending"
    assert len(preview["pairs"]) == 2 and preview["coverage"] == 1.0 and preview["department_matrix"]
    approved = await handlers.approve_preview(uow, repo, "acme", "p1", preview["preview_id"], START)
    assert set(proposed(uow)) == {frozenset((p["person_a"], p["person_b"])) for p in preview["pairs"]}
    assert approved["status"] == "approved"
    assert approved["match_ids"] == [e.match_id for e in uow.of("matches.proposed")]
    again = await handlers.approve_preview(uow, repo, "acme", "p1", preview["preview_id"], START)
    assert again["match_ids"] == approved["match_ids"] and len(proposed(uow)) == 2


async def test_approving_a_stale_preview_is_refused_with_the_reason_and_proposes_nothing(world):
    uow, repo = world
    for p in COHORT[:2]:
        await repo.save_profile(None, p)
    preview = await handlers.preview_cohort(uow, repo, "acme", "p1", START)
    await repo.save_profile(None, COHORT[2])
    with pytest.raises(handlers.PreviewRefused) as refused:
        await handlers.approve_preview(uow, repo, "acme", "p1", preview["preview_id"], START)
    assert refused.value.status == 409 and "1 joined" in str(refused.value)
    await repo.save_profile(None, COHORT[2].model_copy(update={"interests": ["chess"]}))  # same people, a change
    fresh = await handlers.preview_cohort(uow, repo, "acme", "p1", START)
    await repo.save_profile(None, COHORT[0].model_copy(update={"interests": ["jazz"]}))
    with pytest.raises(handlers.PreviewRefused, match="profiles or pairs changed"):
        await handlers.approve_preview(uow, repo, "acme", "p1", fresh["preview_id"], START)
    with pytest.raises(handlers.PreviewRefused) as unknown:
        await handlers.approve_preview(uow, repo, "acme", "p1", "no-such-preview", START)
    assert unknown.value.status == 404
    assert proposed(uow) == []


async def test_a_cohort_that_requires_approval_is_previewed_once_at_its_close_and_proposed_on_approval():
    closes = START - timedelta(days=1)
    window = timedelta(seconds=90)
    uow, repo = FakeUow(), FakeRepository()
    config = program_event(matching="cohort", registration_closes_at=closes, approval_required=True,
                           batch_window=window)
    await handlers.program_configured(config, uow, repo)
    await setup_people(uow, repo, *COHORT)
    assert await handlers.close_registrations(uow, repo, closes) == 1
    assert await handlers.close_registrations(uow, repo, closes + timedelta(hours=1)) == 0
    await handlers.match_requested(MatchRequested(org_id="acme", program_id="p1"), uow, repo)  # a second preview
    assert proposed(uow) == [] and len(repo.db.previews) == 2
    latest = await repo.preview("acme", "p1")
    await handlers.approve_preview(uow, repo, "acme", "p1", latest["preview_id"], closes)
    assert len(proposed(uow)) == 2
    late = closes + timedelta(hours=2)
    await arrive_at(uow, repo, late, prof("e", ["leadership"], ["sql"]), prof("f", ["sql"], ["leadership"]))
    assert await handlers.match_due_batches(uow, repo, late + window) == 1
    assert len(proposed(uow)) == 2, "after the close, late arrivals are batched into a preview, not proposed"
    batch = await repo.preview("acme", "p1")
    assert [(p["person_a"], p["person_b"]) for p in batch["pairs"]] == [("e", "f")]
    await handlers.approve_preview(uow, repo, "acme", "p1", batch["preview_id"], late + window)
    assert proposed(uow)[2:] == [frozenset("ef")]


async def test_a_continuous_program_that_requires_approval_previews_each_batch_and_proposes_nothing_unapproved():
    window = timedelta(seconds=90)
    uow, repo = FakeUow(), FakeRepository()
    await handlers.program_configured(program_event(batch_window=window, approval_required=True), uow, repo)
    await arrive_at(uow, repo, START, *COHORT[:2])
    assert await handlers.match_due_batches(uow, repo, START + window) == 1
    first = await repo.preview("acme", "p1")
    assert proposed(uow) == []
    assert [e.preview_id for e in uow.of("programs.match-previewed")] == [first["preview_id"]]
    later = START + 2 * window
    await arrive_at(uow, repo, later, *COHORT[2:])  # the pool changes: the first preview is stale
    with pytest.raises(handlers.PreviewRefused) as refused:
        await handlers.approve_preview(uow, repo, "acme", "p1", first["preview_id"], later)
    assert refused.value.status == 409 and proposed(uow) == []
    assert await handlers.match_due_batches(uow, repo, later + window) == 1, "the arrivals' batch previews again"
    second = await repo.preview("acme", "p1")
    assert second["preview_id"] != first["preview_id"] and proposed(uow) == []
    await handlers.approve_preview(uow, repo, "acme", "p1", second["preview_id"], later + window)
    assert set(proposed(uow)) == {frozenset((p["person_a"], p["person_b"])) for p in second["pairs"]}
    assert len(proposed(uow)) == 2


async def test_a_program_that_requires_approval_without_batches_proposes_only_what_is_approved():
    uow, repo = FakeUow(), FakeRepository()
    await handlers.program_configured(program_event(approval_required=True), uow, repo)  # batch_window 0
    await arrive_at(uow, repo, START, *COHORT)
    assert proposed(uow) == [], "no proposal on arrival"
    assert await handlers.match_due_batches(uow, repo, START + timedelta(days=1)) == 0
    preview = await handlers.preview_cohort(uow, repo, "acme", "p1", START)
    await handlers.approve_preview(uow, repo, "acme", "p1", preview["preview_id"], START)
    assert len(proposed(uow)) == 2


async def test_preview_and_approval_as_events_answer_with_events(world):
    from shared.contract import MatchApproved

    uow, repo = world
    for p in COHORT:
        await repo.save_profile(None, p)
    await handlers.match_requested(MatchRequested(org_id="acme", program_id="p1", preview=True), uow, repo)
    [previewed] = uow.of("programs.match-previewed")
    assert proposed(uow) == [] and previewed.pairs == 2 and previewed.coverage == 1.0
    await handlers.match_approved(MatchApproved(org_id="acme", program_id="p1", preview_id="nope"), uow, repo)
    [refused] = uow.of("programs.match-approval-refused")
    assert refused.preview_id == "nope" and refused.reason == "preview not found" and proposed(uow) == []
    await handlers.match_approved(MatchApproved(org_id="acme", program_id="p1", preview_id=previewed.preview_id),
                                  uow, repo)
    assert len(proposed(uow)) == 2 and len(uow.of("programs.match-approval-refused")) == 1


# --- 7. continuous mode in batch windows -------------------------------------------------------


async def arrive_at(uow, repo, at: datetime, *profiles: ProfileChanged) -> None:
    for p in profiles:
        await handlers.profile_changed(p, uow, repo, now=lambda: at)


async def test_arrivals_within_a_window_are_proposed_together_as_the_optimiser_pairs_them_once():
    from services.matcher.domain import optimise, program_from_event

    window = timedelta(minutes=3)
    uow, repo = FakeUow(), FakeRepository()
    config = program_event(batch_window=window)
    await handlers.program_configured(config, uow, repo)
    await arrive_at(uow, repo, START, *COHORT[:2])
    await arrive_at(uow, repo, START + timedelta(minutes=2), *COHORT[2:])
    assert proposed(uow) == [], "nobody is proposed on arrival"
    assert await handlers.match_due_batches(uow, repo, START + window - timedelta(seconds=1)) == 0
    assert await handlers.match_due_batches(uow, repo, START + window) == 1, "due one window after the first"
    expected = optimise((await repo.pool(program_from_event(config))).values(), program_from_event(config),
                        now=START + window)
    assert set(proposed(uow)) == {frozenset((p.person_a, p.person_b)) for p in expected.pairs}
    assert len(proposed(uow)) == 2
    assert await handlers.match_due_batches(uow, repo, START + 2 * window) == 0, "a batch runs once"


async def test_a_lone_arrival_is_proposed_within_one_window_and_a_decline_goes_into_the_next_batch():
    window = timedelta(seconds=90)
    uow, repo = FakeUow(), FakeRepository()
    await handlers.program_configured(program_event(batch_window=window), uow, repo)
    await arrive_at(uow, repo, START, COHORT[0])
    assert await handlers.match_due_batches(uow, repo, START + window) == 1  # nobody for a yet
    assert proposed(uow) == []
    later = START + timedelta(hours=1)
    await arrive_at(uow, repo, later, COHORT[1])
    assert await handlers.match_due_batches(uow, repo, later + window) == 1
    assert proposed(uow) == [frozenset("ab")], "the lone arrival was proposed one window after arriving"

    await arrive_at(uow, repo, later + window, COHORT[3])  # d: another partner for a, arriving meanwhile
    declined_at = later + 2 * window
    [first] = uow.of("matches.proposed")
    await handlers.match_responded(MatchResponded(org_id="acme", match_id=first.match_id, person_id="b",
                                                  decision="decline"), uow, repo, now=lambda: declined_at)
    assert len(proposed(uow)) == 1, "a decline is not refilled on the spot"
    assert await handlers.match_due_batches(uow, repo, declined_at + window) == 1
    assert proposed(uow)[1:] == [frozenset("ad")], "the freed place was filled in the next batch"


async def test_an_import_that_outlasts_the_window_is_matched_as_one_batch_once_arrivals_pause():
    from services.matcher.domain import optimise, program_from_event

    window = timedelta(seconds=60)
    uow, repo = FakeUow(), FakeRepository()
    config = program_event(batch_window=window)
    await handlers.program_configured(config, uow, repo)
    arrivals = [START + timedelta(seconds=25 * i) for i in range(len(COHORT))]  # the last one 75 s in
    for at, person in zip(arrivals, COHORT, strict=True):
        await arrive_at(uow, repo, at, person)
        assert await handlers.match_due_batches(uow, repo, at, quiet_s=10) == 0, "still arriving"
    assert await handlers.match_due_batches(uow, repo, arrivals[-1] + timedelta(seconds=9), quiet_s=10) == 0
    assert await handlers.match_due_batches(uow, repo, arrivals[-1] + timedelta(seconds=10), quiet_s=10) == 1
    expected = optimise((await repo.pool(program_from_event(config))).values(), program_from_event(config),
                        now=arrivals[-1])
    assert set(proposed(uow)) == {frozenset((p.person_a, p.person_b)) for p in expected.pairs}
    assert len(proposed(uow)) == 2, "the whole import in one batch, as the optimiser pairs it"


async def test_arrivals_that_never_pause_hold_a_batch_back_by_at_most_one_more_window():
    window = timedelta(seconds=60)
    uow, repo = FakeUow(), FakeRepository()
    await handlers.program_configured(program_event(batch_window=window), uow, repo)
    at = START
    for i in range(30):  # someone every 5 s for 150 s (c and d change their profiles again and again)
        person = COHORT[i] if i < 2 else COHORT[2 + i % 2].model_copy(update={"event_id": uuid.uuid4()})
        await arrive_at(uow, repo, at, person)
        at = START + timedelta(seconds=5 * (i + 1))
        ran = await handlers.match_due_batches(uow, repo, at, quiet_s=10)
        if at < START + 2 * window:
            assert ran == 0
        elif at == START + 2 * window:
            assert ran == 1, "two windows after the first arrival, whatever arrives"
            break
    assert proposed(uow), "the batch proposed"
