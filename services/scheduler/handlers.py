"""Scheduler service layer: accepted matches become session series; changes reschedule; timers remind."""

from datetime import datetime
from typing import Any

import structlog

from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.domain import (
    NOT_STARTED,
    Participant,
    Schedule,
    Scheduled,
    ScheduleStatus,
    SeriesPlan,
    neglected_agenda,
    participant_from_profile,
    pending_reminders,
    plan_from_program,
    plan_series,
    reschedule_result,
    teaching_pairs,
)
from services.scheduler.settings import SchedulerSettings
from shared.clock import Clock
from shared.contract import (
    FORMER_PARTICIPANT,
    ErasureConfirmed,
    Event,
    MatchAccepted,
    MatchWithdrawn,
    PartnershipFlagged,
    ProfileChanged,
    ProfileErased,
    ProgramConfigured,
    Session,
    SessionUpcoming,
)
from shared.store import Tx, UnitOfWork, forget_person
from shared.timers import TimerStatus

log = structlog.get_logger()

RESCHEDULING_FIELDS = {"availability", "timezone", "site", "meeting_modes"}
ALL_BUT_ENDED = (ScheduleStatus.WAITING, ScheduleStatus.UNSCHEDULABLE, ScheduleStatus.ACTIVE)
"""The schedules a profile change can move, in the order they are looked at."""


async def program_configured(
    event: ProgramConfigured, uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings, clock: Clock
) -> None:
    """Waiting requests can now be planned; unschedulable ones are tried again with the new plan."""

    async def work(tx: Tx) -> None:
        now = clock.now()
        await repo.save_plan(tx, event.org_id, plan_from_program(event))
        for schedule in await repo.load_schedules_of_program(event.org_id, event.program_id, NOT_STARTED, tx):
            await _schedule(tx, repo, settings, schedule, now)

    await uow.run(event, work)


async def profile_changed(
    event: ProfileChanged, uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings, clock: Clock
) -> None:
    """One event: a batch of one (see `profiles_changed`)."""
    await profiles_changed([event], uow, repo, settings, clock)


async def profiles_changed(
    events: list[ProfileChanged], uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings,
    clock: Clock, max_per_transaction: int = 50,
) -> None:
    """A batch in offset order, at most `max_per_transaction` events per transaction: one bulk write of
    the people (the last event per person wins) and one read of their schedules. A waiting schedule is
    planned once both people are known; an unschedulable or active one is planned again when a person's
    availability, time zone, site or meeting modes changed (and the person is still active)."""

    async def work(tx: Tx, fresh: list[ProfileChanged]) -> None:
        now = clock.now()
        last = {(e.org_id, e.person_id): e for e in fresh}
        moved = {(e.org_id, e.person_id) for e in fresh if not RESCHEDULING_FIELDS.isdisjoint(e.changed_fields)}
        await repo.save_people(tx, [(e.org_id, participant_from_profile(e)) for e in last.values()])
        schedules = await repo.load_schedules_of_people(tx, list(last), ALL_BUT_ENDED)
        done: set[str] = set()
        for event in tx.each(list(last.values())):
            key = (event.org_id, event.person_id)
            replan = key in moved and event.active
            for schedule in schedules.get(key, []):
                if schedule.match_id in done:
                    continue
                if schedule.status == ScheduleStatus.WAITING:
                    await _schedule(tx, repo, settings, schedule, now)
                elif not replan:
                    continue
                elif schedule.status == ScheduleStatus.UNSCHEDULABLE:
                    await _schedule(tx, repo, settings, schedule, now)
                else:
                    await _reschedule(tx, repo, settings, schedule, now)
                done.add(schedule.match_id)

    for start in range(0, len(events), max_per_transaction):
        await uow.run_batch(events[start:start + max_per_transaction], work)


async def match_accepted(
    event: MatchAccepted, uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings, clock: Clock
) -> None:
    async def work(tx: Tx) -> None:
        if await repo.load_schedule(event.org_id, event.match_id, tx):
            return
        await _schedule(tx, repo, settings, Schedule.requested(event), clock.now())

    await uow.run(event, work)


async def match_withdrawn(event: MatchWithdrawn, uow: UnitOfWork, repo: SchedulerRepository, clock: Clock) -> None:
    """A partnership that ended: cancel the sessions still ahead. A schedule that never got
    sessions (waiting or unschedulable) is cancelled quietly, so it is never planned later."""

    async def work(tx: Tx) -> None:
        if event.erased_person_id:  # forget their name before the cancellation says anything
            await _forget_person(tx, repo, event.org_id, event.erased_person_id)
        schedule = await repo.load_schedule(event.org_id, event.match_id, tx)
        if schedule is None or schedule.status is ScheduleStatus.CANCELLED:
            return
        events = schedule.cancel(event.reason, now=clock.now())
        await repo.save_schedule(tx, schedule)
        if events:
            await repo.cancel_timers(tx, schedule)
        _emit(tx, events)

    await uow.run(event, work)


async def partnership_flagged(event: PartnershipFlagged, uow: UnitOfWork, repo: SchedulerRepository,
                              clock: Clock) -> None:
    """One-sided, with a neglected direction: that direction is taught next, on its neglected goals.
    A fizzling flag, or a flag for a schedule that is unknown or not active, changes nothing."""

    async def work(tx: Tx) -> None:
        if event.kind != "one_sided" or event.neglected is None:
            return
        schedule = await repo.load_schedule(event.org_id, event.match_id, tx)
        if schedule is None or schedule.status is not ScheduleStatus.ACTIVE:
            log.info("scheduler.flag_without_active_schedule", match_id=event.match_id)
            return
        teacher_id, learner_id = event.neglected.teacher, event.neglected.learner
        teacher, learner = await _person(tx, repo, schedule, teacher_id), await _person(tx, repo, schedule, learner_id)
        taught = schedule.a_teaches_b if teacher_id == schedule.person_a else schedule.b_teaches_a
        agenda = neglected_agenda(teacher, learner, event.neglected_goals, teaching_pairs(taught))
        events = schedule.teach_neglected(teacher_id, learner_id, agenda, now=clock.now())
        if events:
            await repo.save_schedule(tx, schedule)
        _emit(tx, events)

    await uow.run(event, work)


async def profile_erased(event: ProfileErased, uow: UnitOfWork, repo: SchedulerRepository) -> None:
    """The person was erased: their zone, availability and name are replaced by "a former participant"
    (their partners' schedules keep their sessions, and the matcher's withdrawals cancel the sessions
    ahead), and their secret calendar address is deleted."""

    async def work(tx: Tx) -> None:
        await _forget_person(tx, repo, event.org_id, event.person_id)
        erased = await repo.erase_feed(tx, event.org_id, event.person_id)
        erased += await forget_person(tx, event.org_id, event.person_id)
        kept = await repo.count_schedules_of(tx, event.org_id, event.person_id)
        tx.emit(event.caused(ErasureConfirmed, person_id=event.person_id, service="scheduler", erased=erased,
                             anonymised=1 + kept))

    await uow.run(event, work)


async def _forget_person(tx: Tx, repo: SchedulerRepository, org_id: str, person_id: str) -> None:
    """The person becomes "a former participant" (no zone, no availability), in their own record and in
    the agendas of every schedule they were in. Once is enough: a second call finds the name gone."""
    known = await repo.person(org_id, person_id, tx)
    if known is not None and known.display_name == FORMER_PARTICIPANT:
        return
    await repo.save_person(tx, org_id, Participant(person_id, FORMER_PARTICIPANT, "UTC"))
    if known is None:
        return
    for schedule in await repo.load_schedules_of(org_id, person_id, tuple(ScheduleStatus), tx):
        if schedule.forget_name(known.display_name, FORMER_PARTICIPANT):
            await repo.save_schedule(tx, schedule)


async def _person(tx: Tx, repo: SchedulerRepository, schedule: Schedule, person_id: str) -> Participant:
    """A partner as the scheduler knows them; only the id when unknown (the agenda then names the id)."""
    return await repo.person(schedule.org_id, person_id, tx) or Participant(person_id, "", "UTC")


async def plan_waiting(uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings, now: datetime,
                       limit: int = 100) -> int:
    """Plan the waiting schedules whose people and program are all known by now: a safety net for
    when the last of them arrived in a transaction that could not yet see the waiting schedule (the
    acceptance and a profile committed side by side). How many were planned."""
    planned = 0
    for waiting in await repo.waiting_schedules(limit):

        async def work(tx: Tx, waiting: Schedule = waiting) -> bool:
            schedule = await repo.load_schedule(waiting.org_id, waiting.match_id, tx)
            if schedule is None or schedule.status is not ScheduleStatus.WAITING:
                return False
            if await _parties(tx, repo, schedule) is None:
                return False
            await _schedule(tx, repo, settings, schedule, now)
            return True

        if await uow.run(None, work):
            log.info("scheduler.waiting_planned", match_id=waiting.match_id)
            planned += 1
    return planned


async def fire_due_reminders(uow: UnitOfWork, repo: SchedulerRepository, now: datetime) -> int:
    fired = 0
    for timer in await repo.due_timers(now):

        async def work(tx: Tx, timer: dict[str, Any] = timer) -> bool:
            schedule = await repo.load_schedule(timer["org_id"], timer["match_id"], tx)
            sessions = schedule.sessions if schedule else []
            session = next((s for s in sessions if s.session_id == timer["session_id"]), None)
            if schedule is None or schedule.status is not ScheduleStatus.ACTIVE or session is None:
                if await repo.close_timer(tx, timer["_id"], now, status=TimerStatus.CANCELLED):
                    log.warning("scheduler.timer_without_session", timer_id=timer["_id"], match_id=timer["match_id"])
                return False
            if not await repo.close_timer(tx, timer["_id"], now):
                return False
            tx.emit(
                SessionUpcoming(
                    org_id=schedule.org_id,
                    correlation_id=schedule.correlation_id,
                    session_id=session.session_id,
                    match_id=schedule.match_id,
                    person_a=schedule.person_a,
                    person_b=schedule.person_b,
                    starts_at=session.starts_at,
                    hours_before=timer["hours_before"],
                )
            )
            return True

        try:
            fired += bool(await uow.run(None, work))
        except Exception:  # one broken timer must not hold back the others
            log.exception("scheduler.timer_failed", timer_id=timer["_id"])
    return fired


async def seconds_to_next_reminder(repo: SchedulerRepository, clock: Clock, poll_s: float) -> float:
    """How long (real seconds) the reminder loop sleeps: until the next pending timer is due on the
    clock, and never longer than `poll_s`, which also bounds how late a timer set meanwhile fires."""
    due = await repo.next_due_at(clock.now())
    return poll_s if due is None else min(poll_s, clock.real_seconds_until(due))


async def _schedule(tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, schedule: Schedule,
                    now: datetime) -> None:
    """Plan the series once both people and the program are known; until then the request waits.
    An unschedulable pair is reported again only when the reason or the suggestion changed."""
    parties = await _parties(tx, repo, schedule)
    if parties is None:
        log.info("scheduler.waiting_for_data", match_id=schedule.match_id)
        await repo.save_schedule(tx, schedule)
        return
    a, b, plan = parties
    result = plan_series(schedule.match_id, a, b, plan, now=now,
                         a_teaches_b=schedule.a_teaches_b, b_teaches_a=schedule.b_teaches_a)
    if not isinstance(result, Scheduled):
        events = schedule.mark_unschedulable(result.reason, result.suggestion)
        await repo.save_schedule(tx, schedule)
        _emit(tx, events)
        return
    events = schedule.create(result.sessions)
    await repo.save_schedule(tx, schedule)
    await _set_timers(tx, repo, settings, schedule, result.sessions, now)
    _emit(tx, events)


async def _reschedule(tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, schedule: Schedule,
                      now: datetime) -> None:
    """Publish schedules.updated only when a session really changed (then the version grows), and
    schedules.unschedulable too when no session ahead fits both people any more."""
    parties = await _parties(tx, repo, schedule)
    if parties is None:
        return
    a, b, plan = parties
    result = reschedule_result(schedule.sessions, a, b, plan, now=now, match_id=schedule.match_id,
                               a_teaches_b=schedule.a_teaches_b, b_teaches_a=schedule.b_teaches_a)
    lost = (result.lost.reason, result.lost.suggestion) if result.lost else None
    events = schedule.reschedule(result.sessions, lost)
    if not events:
        return
    await repo.save_schedule(tx, schedule)
    await _set_timers(tx, repo, settings, schedule, result.sessions, now)
    _emit(tx, events)


def _emit(tx: Tx, events: list[Event]) -> None:
    for event in events:
        tx.emit(event)


async def _parties(
    tx: Tx, repo: SchedulerRepository, schedule: Schedule
) -> tuple[Participant, Participant, SeriesPlan] | None:
    a = await repo.person(schedule.org_id, schedule.person_a, tx)
    b = await repo.person(schedule.org_id, schedule.person_b, tx)
    plan = await repo.plan(schedule.org_id, schedule.program_id, tx)
    return None if a is None or b is None or plan is None else (a, b, plan)


async def _set_timers(tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, schedule: Schedule,
                      sessions: list[Session], now: datetime) -> None:
    hours = settings.reminder_hours_before
    await repo.replace_timers(tx, schedule, pending_reminders(sessions, now=now, hours_before=hours),
                              hours)
