"""The scheduler's service layer against a real MongoDB (no broker needed): stuck states, tenant
isolation of keys, what a reschedule publishes, and timers whose schedule is gone."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from services.scheduler import handlers
from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.domain import first_monday
from services.scheduler.settings import SchedulerSettings
from shared.clock import Clock
from shared.contract import (
    Event,
    MatchAccepted,
    MatchWithdrawn,
    PartnershipFlagged,
    ProfileChanged,
    ProgramConfigured,
)
from shared.store import AlreadyProcessed, Store, Tx, UnitOfWork

STARTS_ON = datetime.combine(first_monday(datetime.now(UTC)) + timedelta(weeks=2), time(), UTC)
TUESDAY_MORNING = ("tue", "09:00", "12:00")


def program(org: str) -> ProgramConfigured:
    return ProgramConfigured(org_id=org, program_id="prog", name="Pilot", cadence="weekly", duration_weeks=4,
                             session_minutes=60, starts_on=STARTS_ON)


def profile(org: str, person_id: str, *windows: tuple[str, str, str], tz: str = "Europe/London",
            version: int = 1, changed: tuple[str, ...] = ("availability",), **extra: Any) -> ProfileChanged:
    return ProfileChanged(org_id=org, person_id=person_id, display_name=person_id.title(), timezone=tz,
                          availability=[{"weekday": d, "start": s, "end": e} for d, s, e in windows],
                          version=version, changed_fields=list(changed), **extra)


def accepted(org: str, match_id: str = "m-1") -> MatchAccepted:
    return MatchAccepted(org_id=org, match_id=match_id, program_id="prog", person_a="ana", person_b="ben")


@dataclass
class Wall:
    """The real clock, or a moment a test stopped it at."""

    at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or datetime.now(UTC)


@dataclass
class Scheduler:
    store: Store
    uow: UnitOfWork
    repo: SchedulerRepository
    settings: SchedulerSettings
    wall: Wall = field(default_factory=Wall)

    @property
    def clock(self) -> Clock:
        return Clock(wall=self.wall)

    async def handle(self, event: Event) -> None:
        if isinstance(event, ProgramConfigured):
            await handlers.program_configured(event, self.uow, self.repo, self.settings, self.clock)
        elif isinstance(event, ProfileChanged):
            await handlers.profile_changed(event, self.uow, self.repo, self.settings, self.clock)
        elif isinstance(event, MatchAccepted):
            await handlers.match_accepted(event, self.uow, self.repo, self.settings, self.clock)
        elif isinstance(event, PartnershipFlagged):
            await handlers.partnership_flagged(event, self.uow, self.repo, self.clock)
        else:
            await handlers.match_withdrawn(event, self.uow, self.repo, self.clock)

    async def published(self, topic: str, org: str | None = None) -> list[dict[str, Any]]:
        docs = await self.store.db["outbox"].find({"topic": topic}).sort("_id", 1).to_list(None)
        events = [json.loads(d["value"]) for d in docs]
        return [e for e in events if org is None or e["org_id"] == org]

    async def schedule(self, org: str, match_id: str = "m-1") -> dict[str, Any]:
        return await self.repo.schedule(org, match_id)

    async def timers(self, org: str, **where: Any) -> list[dict[str, Any]]:
        return await self.repo.timers.find({"org_id": org, **where}).to_list(None)


@pytest.fixture
async def scheduler(infrastructure) -> AsyncIterator[Scheduler]:
    store = Store(infrastructure.mongo_url, f"scheduler_test_{uuid.uuid4().hex[:8]}")
    await store.ensure_plumbing_indexes()
    repo = SchedulerRepository(store.db)
    await repo.ensure_indexes()
    try:
        yield Scheduler(store, UnitOfWork(store, "scheduler"), repo, SchedulerSettings())
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


async def test_an_unschedulable_pair_is_tried_again_when_someone_widens_their_availability(scheduler):
    await scheduler.handle(program("acme"))
    await scheduler.handle(profile("acme", "ana", TUESDAY_MORNING))
    await scheduler.handle(profile("acme", "ben", ("wed", "09:00", "12:00")))
    await scheduler.handle(accepted("acme"))
    assert (await scheduler.schedule("acme"))["status"] == "unschedulable"
    assert len(await scheduler.published("schedules.unschedulable")) == 1

    # Nothing that matters changed: no second notice.
    await scheduler.handle(profile("acme", "ben", ("wed", "09:00", "12:00"), version=2, changed=("timezone",)))
    assert len(await scheduler.published("schedules.unschedulable")) == 1

    await scheduler.handle(profile("acme", "ben", ("wed", "09:00", "12:00"), ("tue", "10:00", "12:00"), version=3))
    created = await scheduler.published("schedules.created")
    assert len(created) == 1 and created[0]["version"] == 1 and len(created[0]["sessions"]) == 4
    doc = await scheduler.schedule("acme")
    assert doc["status"] == "active" and "reason" not in doc
    assert len(await scheduler.timers("acme", status="pending")) == 4


async def test_a_withdrawn_match_that_was_still_waiting_is_never_scheduled(scheduler):
    await scheduler.handle(accepted("acme"))  # neither the people nor the programme are known yet
    assert (await scheduler.schedule("acme"))["status"] == "waiting"
    await scheduler.handle(MatchWithdrawn(org_id="acme", match_id="m-1", program_id="prog", person_a="ana",
                                          person_b="ben", reason="expired"))
    assert (await scheduler.schedule("acme"))["status"] == "cancelled"
    await scheduler.handle(program("acme"))
    await scheduler.handle(profile("acme", "ana", TUESDAY_MORNING))
    await scheduler.handle(profile("acme", "ben", TUESDAY_MORNING))
    assert await scheduler.published("schedules.created") == []
    assert await scheduler.published("schedules.updated") == []
    assert await scheduler.timers("acme") == []


async def test_a_withdrawn_unschedulable_match_stays_cancelled_when_availability_widens(scheduler):
    await scheduler.handle(program("acme"))
    await scheduler.handle(profile("acme", "ana", TUESDAY_MORNING))
    await scheduler.handle(profile("acme", "ben", ("wed", "09:00", "12:00")))
    await scheduler.handle(accepted("acme"))
    await scheduler.handle(MatchWithdrawn(org_id="acme", match_id="m-1", program_id="prog", person_a="ana",
                                          person_b="ben", reason="ended"))
    await scheduler.handle(profile("acme", "ben", TUESDAY_MORNING, version=2))
    assert (await scheduler.schedule("acme"))["status"] == "cancelled"
    assert await scheduler.published("schedules.created") == []


async def test_losing_every_slot_ahead_tells_both_people_and_a_no_op_keeps_the_version(scheduler):
    await scheduler.handle(program("acme"))
    await scheduler.handle(profile("acme", "ana", TUESDAY_MORNING))
    await scheduler.handle(profile("acme", "ben", ("tue", "10:00", "13:00")))
    await scheduler.handle(accepted("acme"))
    assert (await scheduler.schedule("acme"))["version"] == 1

    same_times = profile("acme", "ben", ("tue", "10:00", "13:00"), version=2, changed=("site",), site="Leeds")
    await scheduler.handle(same_times)
    assert (await scheduler.schedule("acme"))["version"] == 1 and await scheduler.published("schedules.updated") == []

    await scheduler.handle(profile("acme", "ben", ("sat", "10:00", "11:00"), version=3))
    (updated,) = await scheduler.published("schedules.updated")
    assert updated["version"] == 2 and all(s["flagged"] for s in updated["sessions"])
    (lost,) = await scheduler.published("schedules.unschedulable")
    assert "no 60-minute overlap" in lost["reason"] and lost["suggestion"].startswith("If ")

    await scheduler.handle(profile("acme", "ben", ("sat", "10:00", "11:00"), version=4))  # the same again
    assert (await scheduler.schedule("acme"))["version"] == 2
    assert len(await scheduler.published("schedules.updated")) == 1
    assert len(await scheduler.published("schedules.unschedulable")) == 1


async def test_the_same_match_id_in_two_orgs_never_collides(scheduler):
    for org, ben_window in (("acme", TUESDAY_MORNING), ("globex", ("thu", "14:00", "16:00"))):
        await scheduler.handle(program(org))
        await scheduler.handle(profile(org, "ana", TUESDAY_MORNING, ("thu", "14:00", "16:00")))
        await scheduler.handle(profile(org, "ben", ben_window))
        await scheduler.handle(accepted(org))
    acme, globex = await scheduler.schedule("acme"), await scheduler.schedule("globex")
    assert acme["status"] == globex["status"] == "active" and acme["_id"] != globex["_id"]
    assert {datetime.fromisoformat(s["starts_at"]).weekday() for s in acme["sessions"]} == {1}
    assert {datetime.fromisoformat(s["starts_at"]).weekday() for s in globex["sessions"]} == {3}
    assert len(await scheduler.timers("acme", status="pending")) == len(await scheduler.timers("globex")) == 4

    await scheduler.handle(MatchWithdrawn(org_id="acme", match_id="m-1", program_id="prog", person_a="ana",
                                          person_b="ben", reason="ended"))
    assert (await scheduler.schedule("acme"))["status"] == "cancelled"
    assert (await scheduler.schedule("globex"))["status"] == "active"
    assert await scheduler.timers("acme", status="pending") == []
    assert len(await scheduler.timers("globex", status="pending")) == 4


async def test_a_timer_whose_schedule_is_gone_is_cancelled_and_the_others_still_fire(scheduler):
    await scheduler.handle(program("acme"))
    await scheduler.handle(profile("acme", "ana", TUESDAY_MORNING))
    await scheduler.handle(profile("acme", "ben", TUESDAY_MORNING))
    await scheduler.handle(accepted("acme"))
    await scheduler.repo.timers.insert_one({
        "_id": "acme/gone-s01@x", "org_id": "acme", "match_id": "gone", "session_id": "gone-s01",
        "due_at": datetime(2000, 1, 1, tzinfo=UTC), "hours_before": 24, "status": "pending"})
    later = STARTS_ON + timedelta(weeks=8)
    fired = await handlers.fire_due_reminders(scheduler.uow, scheduler.repo, later)
    assert fired == 4
    assert [t["status"] for t in await scheduler.timers("acme", match_id="gone")] == ["cancelled"]
    assert len(await scheduler.published("sessions.upcoming")) == 4
    assert await handlers.fire_due_reminders(scheduler.uow, scheduler.repo, later) == 0

    # Ben moves to Dublin (London's clock): the same instants, re-rendered; fired reminders stay fired.
    await scheduler.handle(
        profile("acme", "ben", TUESDAY_MORNING, tz="Europe/Dublin", version=2, changed=("timezone",))
    )
    assert len(await scheduler.published("schedules.updated")) == 1
    assert await scheduler.timers("acme", status="pending") == []


async def test_a_reconfigured_programme_retries_pairs_it_could_not_schedule(scheduler):
    await scheduler.handle(program("acme").model_copy(update={"session_minutes": 120}))
    await scheduler.handle(profile("acme", "ana", TUESDAY_MORNING))
    await scheduler.handle(profile("acme", "ben", ("tue", "10:00", "11:30")))
    await scheduler.handle(accepted("acme"))
    assert (await scheduler.schedule("acme"))["status"] == "unschedulable"
    await scheduler.handle(program("acme"))  # 60-minute sessions now
    (created,) = await scheduler.published("schedules.created")
    assert len(created["sessions"]) == 4 and (await scheduler.schedule("acme"))["status"] == "active"


async def test_one_broken_timer_does_not_hold_back_the_others(scheduler):
    await scheduler.handle(program("acme"))
    await scheduler.handle(profile("acme", "ana", TUESDAY_MORNING))
    await scheduler.handle(profile("acme", "ben", TUESDAY_MORNING))
    await scheduler.handle(accepted("acme"))
    await scheduler.repo.schedules.insert_one({"_id": "acme/broken", "org_id": "acme", "match_id": "broken",
                                               "status": "active", "sessions": [{"not": "a session"}]})
    await scheduler.repo.timers.insert_one({
        "_id": "acme/broken-s01@x", "org_id": "acme", "match_id": "broken", "session_id": "broken-s01",
        "due_at": datetime(2000, 1, 1, tzinfo=UTC), "hours_before": 24, "status": "pending"})
    assert await handlers.fire_due_reminders(scheduler.uow, scheduler.repo, STARTS_ON + timedelta(weeks=8)) == 4
    assert [t["status"] for t in await scheduler.timers("acme", match_id="broken")] == ["pending"]


# --- partnerships.flagged: the neglected direction is taught next -------------------------------------

WANTS = {"ana": [{"skill": "python", "goal": "ship a data pipeline", "priority": 3}],
         "ben": [{"skill": "leadership", "goal": "run a team meeting", "priority": 3}]}


async def active_pair(scheduler: Scheduler, org: str = "acme") -> dict[str, Any]:
    await scheduler.handle(program(org))
    for person in ("ana", "ben"):
        await scheduler.handle(profile(org, person, TUESDAY_MORNING, wants=WANTS[person]))
    await scheduler.handle(MatchAccepted.model_validate(accepted(org).model_dump() | {
        "a_teaches_b": [{"skill": "leadership", "goal": "run a team meeting"}],
        "b_teaches_a": [{"skill": "python", "goal": "ship a data pipeline"}]}))
    (created,) = await scheduler.published("schedules.created", org)
    return created


def flagged(org: str = "acme", kind: str = "one_sided", teacher: str | None = "ben", learner: str = "ana",
            goals: tuple[str, ...] = ("write tests first",), match_id: str = "m-1") -> PartnershipFlagged:
    neglected = {"teacher": teacher, "learner": learner} if teacher else None
    return PartnershipFlagged(org_id=org, match_id=match_id, program_id="prog", person_a="ana", person_b="ben",
                              kind=kind, reason="ben has taught 0 of the 2 sessions held", neglected=neglected,
                              neglected_goals=list(goals))


def directions(sessions: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [(s["teacher"], s["learner"]) for s in sessions]


async def test_a_one_sided_flag_gives_the_next_session_to_the_neglected_direction(scheduler):
    created = await active_pair(scheduler)
    assert directions(created["sessions"]) == [(None, None), ("ana", "ben"), ("ben", "ana"), ("ana", "ben")]
    await scheduler.handle(flagged())
    (updated,) = await scheduler.published("schedules.updated")
    assert updated["version"] == 2 and not updated["cancelled"]
    assert [s["session_id"] for s in updated["sessions"]] == [s["session_id"] for s in created["sessions"]]
    assert directions(updated["sessions"]) == [(None, None), ("ben", "ana"), ("ben", "ana"), ("ana", "ben")]
    swapped = updated["sessions"][1]
    assert (
        "Goal: write tests first" in swapped["agenda"]
        and "Ben helps Ana with write tests first" in swapped["agenda"]
    )
    assert swapped["starts_at"] == created["sessions"][1]["starts_at"]
    for before, after in zip(created["sessions"], updated["sessions"], strict=True):
        if before["session_id"] != swapped["session_id"]:
            assert before == after
    doc = await scheduler.schedule("acme")
    assert doc["version"] == 2 and directions(doc["sessions"]) == directions(updated["sessions"])


async def test_when_the_next_session_already_goes_the_neglected_way_the_one_after_is_swapped(scheduler):
    created = await active_pair(scheduler)
    second = datetime.fromisoformat(created["sessions"][1]["starts_at"])
    scheduler.wall.at = second + timedelta(minutes=5)  # session 2 (ana -> ben) is under way: it is not swapped
    await scheduler.handle(flagged(goals=()))
    (updated,) = await scheduler.published("schedules.updated")
    assert directions(updated["sessions"]) == [(None, None), ("ana", "ben"), ("ben", "ana"), ("ben", "ana")]
    # No neglected goal named: the agenda comes from the goals Ben serves for Ana, as for every session.
    assert "Goal: ship a data pipeline" in updated["sessions"][3]["agenda"]
    assert "Ben helps Ana with python" in updated["sessions"][3]["agenda"]


async def test_a_swap_survives_a_reschedule(scheduler):
    await active_pair(scheduler)
    await scheduler.handle(flagged())
    await scheduler.handle(profile("acme", "ben", ("tue", "09:00", "12:00"), tz="Europe/Dublin", version=2,
                                   changed=("timezone",), wants=WANTS["ben"]))
    first, second = await scheduler.published("schedules.updated")
    assert second["version"] == 3
    assert directions(second["sessions"]) == directions(first["sessions"])
    assert [s["agenda"] for s in second["sessions"]] == [s["agenda"] for s in first["sessions"]]


async def test_flags_that_change_nothing(scheduler):
    await active_pair(scheduler)
    await scheduler.handle(flagged(kind="fizzling", teacher=None, goals=()))
    await scheduler.handle(flagged(match_id="m-unknown"))
    await scheduler.handle(flagged(org="globex"))  # the same match id in another org is unknown there
    await scheduler.handle(flagged(teacher="cat", learner="ana"))  # not this pair's direction
    assert await scheduler.published("schedules.updated") == []
    assert (await scheduler.schedule("acme"))["version"] == 1

    once = flagged()
    await scheduler.handle(once)
    with pytest.raises(AlreadyProcessed):  # redelivered: one effect (the consumer acknowledges it)
        await scheduler.handle(once)
    assert len(await scheduler.published("schedules.updated")) == 1

    # Every session ahead already goes ben -> ana, or is the kickoff: nothing left to swap.
    scheduler.wall.at = STARTS_ON + timedelta(days=2)
    await scheduler.handle(flagged(goals=("another",)))
    assert len(await scheduler.published("schedules.updated")) == 2
    scheduler.wall.at = STARTS_ON + timedelta(weeks=2, days=2)
    await scheduler.handle(flagged(goals=("one more",)))
    assert len(await scheduler.published("schedules.updated")) == 2


async def test_a_flag_for_a_cancelled_or_waiting_schedule_changes_nothing(scheduler):
    await active_pair(scheduler)
    await scheduler.handle(MatchWithdrawn(org_id="acme", match_id="m-1", program_id="prog", person_a="ana",
                                          person_b="ben", reason="ended", partnership_ended=True))
    await scheduler.handle(accepted("acme", match_id="m-waiting").model_copy(update={"person_b": "zoe"}))
    for match_id in ("m-1", "m-waiting"):
        await scheduler.handle(flagged(match_id=match_id))
    (cancel,) = await scheduler.published("schedules.updated")
    assert cancel["cancelled"] is True
    assert (await scheduler.schedule("acme"))["status"] == "cancelled"
    assert (await scheduler.schedule("acme", "m-waiting"))["status"] == "waiting"


async def test_an_ended_partnership_cancels_only_the_sessions_still_ahead(scheduler):
    created = await active_pair(scheduler)
    sessions = created["sessions"]
    scheduler.wall.at = datetime.fromisoformat(sessions[1]["starts_at"]) + timedelta(minutes=10)  # during s02
    await scheduler.handle(MatchWithdrawn(org_id="acme", match_id="m-1", program_id="prog", person_a="ana",
                                          person_b="ben", reason="ben left the program", partnership_ended=True))
    (cancel,) = await scheduler.published("schedules.updated")
    assert cancel["cancelled"] is True and cancel["version"] == 2
    assert [s["session_id"] for s in cancel["sessions"]] == [sessions[2]["session_id"], sessions[3]["session_id"]]
    doc = await scheduler.schedule("acme")
    assert doc["status"] == "cancelled" and [s["session_id"] for s in doc["sessions"]] == [
        sessions[0]["session_id"], sessions[1]["session_id"]]
    assert await scheduler.timers("acme", status="pending") == []


async def test_the_reminder_loop_sleeps_until_the_next_timer_on_the_clock(scheduler):
    assert await handlers.seconds_to_next_reminder(scheduler.repo, Clock(), 5.0) == 5.0  # no timer at all
    created = await active_pair(scheduler)
    first_due = datetime.fromisoformat(created["sessions"][0]["starts_at"]) - timedelta(hours=24)
    two_hours_before = first_due - timedelta(hours=2)
    fast = Clock(epoch=two_hours_before, speed=3600, wall=lambda: two_hours_before)
    assert await handlers.seconds_to_next_reminder(scheduler.repo, fast, 5.0) == 2.0  # two virtual hours
    assert await handlers.seconds_to_next_reminder(scheduler.repo, fast, 1.5) == 1.5  # never beyond the poll
    real = Clock(wall=lambda: two_hours_before)
    assert await handlers.seconds_to_next_reminder(scheduler.repo, real, 3 * 3600.0) == 2 * 3600.0
    # A timer already due is not waited for (it fires on this pass or, failing, on the next poll).
    at_first = Clock(epoch=first_due, speed=3600, wall=lambda: first_due + timedelta(seconds=1))
    second_due = datetime.fromisoformat(created["sessions"][1]["starts_at"]) - timedelta(hours=24)
    expected = (second_due - at_first.now()).total_seconds() / 3600
    assert await handlers.seconds_to_next_reminder(scheduler.repo, at_first, 600.0) == pytest.approx(expected)


async def test_a_batch_of_profile_changes_plans_waiting_pairs_once_and_moves_only_what_changed(scheduler):
    """profiles.changed is consumed in batches: both people of a waiting pair arriving in one batch make
    one series; in another batch, a change of name alone moves nothing, a new window moves the series,
    and the same people in another org stay untouched."""
    s = scheduler
    for org in ("acme", "globex"):
        await s.handle(program(org))
        await s.handle(accepted(org))
    await handlers.profiles_changed(
        [profile("acme", "ana", TUESDAY_MORNING), profile("acme", "ben", TUESDAY_MORNING),
         profile("acme", "ben", TUESDAY_MORNING, version=2, changed=("display_name",))],
        s.uow, s.repo, s.settings, s.clock, max_per_transaction=2,
    )
    created = await s.published("schedules.created")
    assert [e["org_id"] for e in created] == ["acme"] and len(created[0]["sessions"]) == 4
    assert (await s.schedule("globex"))["status"] == "waiting"

    await handlers.profiles_changed(
        [profile("acme", "ana", TUESDAY_MORNING, version=3, changed=("display_name",)),
         profile("acme", "ben", ("tue", "09:00", "10:30"), version=4)],
        s.uow, s.repo, s.settings, s.clock,
    )
    updated = await s.published("schedules.updated")
    assert len(updated) == 1 and updated[0]["version"] == 2
    assert all("09:00" <= x["starts_at"][11:16] and x["ends_at"][11:16] <= "10:30" for x in updated[0]["sessions"])
    assert len(await s.published("schedules.created")) == 1
    assert (await s.schedule("globex"))["status"] == "waiting"


async def test_a_waiting_pair_whose_data_arrived_unseen_is_planned_by_the_sweep(scheduler):
    """The acceptance and the last profile committed side by side, neither seeing the other: the
    schedule waits with everything known. The sweep plans it once; a pair still missing a person waits."""
    from services.scheduler.domain import participant_from_profile

    s = scheduler
    await s.handle(program("acme"))
    await s.handle(accepted("acme"))
    await s.handle(accepted("acme", "m-2"))
    async with s.store.client.start_session() as session:
        tx = Tx(s.store.db, session, None)
        for person in ("ana", "ben"):  # written as the unseen transaction would
            await s.repo.save_person(tx, "acme", participant_from_profile(profile("acme", person, TUESDAY_MORNING)))
    assert await handlers.plan_waiting(s.uow, s.repo, s.settings, s.clock.now()) == 2
    assert len(await s.published("schedules.created")) == 2
    assert await handlers.plan_waiting(s.uow, s.repo, s.settings, s.clock.now()) == 0
    await s.handle(MatchAccepted(org_id="acme", match_id="m-3", program_id="prog", person_a="ana", person_b="cy"))
    assert await handlers.plan_waiting(s.uow, s.repo, s.settings, s.clock.now()) == 0
    assert (await s.schedule("acme", "m-3"))["status"] == "waiting"
