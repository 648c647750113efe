"""Scheduler service layer: accepted matches become session series; changes reschedule; timers remind."""

from datetime import UTC, datetime
from typing import Any

import structlog

from services.scheduler.adapters.repository import SchedulerRepository, sessions_of
from services.scheduler.settings import SchedulerSettings
from services.scheduler.domain import (
    Scheduled,
    participant_from_profile,
    pending_reminders,
    plan_from_program,
    plan_series,
    reschedule,
)
from shared.contract import (
    Event,
    MatchAccepted,
    MatchWithdrawn,
    ProfileChanged,
    ProgramConfigured,
    ScheduleCreated,
    ScheduleUnschedulable,
    ScheduleUpdated,
    Session,
    SessionUpcoming,
    Teaching,
)
from shared.store import Tx, UnitOfWork

log = structlog.get_logger()

RESCHEDULING_FIELDS = {"availability", "timezone", "site", "meeting_modes"}


async def program_configured(
    event: ProgramConfigured, uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings
) -> None:
    async def work(tx: Tx) -> None:
        await repo.save_plan(tx, event.org_id, plan_from_program(event))
        for waiting in await repo.waiting_for_program(event.org_id, event.program_id, tx):
            await _schedule(tx, repo, settings, waiting)

    await uow.run(event, work)


async def profile_changed(
    event: ProfileChanged, uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings
) -> None:
    async def work(tx: Tx) -> None:
        await repo.save_person(tx, event.org_id, participant_from_profile(event))
        for waiting in await repo.schedules_of(event.org_id, event.person_id, ("waiting",), tx):
            await _schedule(tx, repo, settings, waiting)
        if RESCHEDULING_FIELDS.isdisjoint(event.changed_fields) or not event.active:
            return
        for schedule in await repo.schedules_of(event.org_id, event.person_id, ("active",), tx):
            await _reschedule(tx, repo, settings, schedule)

    await uow.run(event, work)


async def match_accepted(
    event: MatchAccepted, uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings
) -> None:
    async def work(tx: Tx) -> None:
        if await repo.schedule(event.org_id, event.match_id, tx):
            return
        doc = {
            "_id": event.match_id,
            "org_id": event.org_id,
            "schedule_id": f"sch-{event.match_id}",
            "match_id": event.match_id,
            "program_id": event.program_id,
            "person_a": event.person_a,
            "person_b": event.person_b,
            "people": [event.person_a, event.person_b],
            "a_teaches_b": [t.model_dump() for t in event.a_teaches_b],
            "b_teaches_a": [t.model_dump() for t in event.b_teaches_a],
            "sessions": [],
            "version": 0,
            "status": "waiting",
            "correlation_id": event.correlation_id or str(event.event_id),
        }
        await _schedule(tx, repo, settings, doc)

    await uow.run(event, work)


async def match_withdrawn(event: MatchWithdrawn, uow: UnitOfWork, repo: SchedulerRepository) -> None:
    """A partnership that ended: cancel the sessions still ahead."""

    async def work(tx: Tx) -> None:
        schedule = await repo.schedule(event.org_id, event.match_id, tx)
        if schedule is None or schedule["status"] != "active":
            return
        now = datetime.now(UTC)
        ahead = [s for s in sessions_of(schedule) if s.starts_at > now]
        schedule |= {"status": "cancelled", "version": schedule["version"] + 1, "reason": event.reason,
                     "sessions": [s.model_dump(mode="json") for s in sessions_of(schedule) if s.starts_at <= now]}
        await repo.save_schedule(tx, schedule)
        await repo.cancel_timers(tx, schedule)
        tx.emit(_schedule_event(ScheduleUpdated, schedule, ahead, cancelled=True))

    await uow.run(event, work)


async def fire_due_reminders(uow: UnitOfWork, repo: SchedulerRepository, now: datetime) -> int:
    fired = 0
    for timer in await repo.due_timers(now):

        async def work(tx: Tx, timer: dict[str, Any] = timer) -> bool:
            if not await repo.fire(tx, timer["_id"], now):
                return False
            schedule = await repo.schedule(timer["org_id"], timer["match_id"], tx)
            session = next((s for s in sessions_of(schedule) if s.session_id == timer["session_id"]), None)
            if schedule is None or schedule["status"] != "active" or session is None:
                return False
            tx.emit(
                SessionUpcoming(
                    org_id=schedule["org_id"],
                    correlation_id=schedule.get("correlation_id"),
                    session_id=session.session_id,
                    match_id=schedule["match_id"],
                    person_a=schedule["person_a"],
                    person_b=schedule["person_b"],
                    starts_at=session.starts_at,
                    hours_before=timer["hours_before"],
                )
            )
            return True

        fired += bool(await uow.run(None, work))
    return fired


async def _schedule(tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, doc: dict[str, Any]) -> None:
    """Plan the series once both people and the program are known; until then the request waits."""
    org_id = doc["org_id"]
    a = await repo.person(org_id, doc["person_a"], tx)
    b = await repo.person(org_id, doc["person_b"], tx)
    plan = await repo.plan(org_id, doc["program_id"], tx)
    if a is None or b is None or plan is None:
        log.info("scheduler.waiting_for_data", match_id=doc["_id"])
        await repo.save_schedule(tx, doc)
        return
    result = plan_series(doc["match_id"], a, b, plan, now=datetime.now(UTC),
                         a_teaches_b=_teachings(doc["a_teaches_b"]), b_teaches_a=_teachings(doc["b_teaches_a"]))
    if not isinstance(result, Scheduled):
        doc |= {"status": "unschedulable", "reason": result.reason}
        await repo.save_schedule(tx, doc)
        tx.emit(
            ScheduleUnschedulable(
                org_id=org_id,
                correlation_id=doc.get("correlation_id"),
                match_id=doc["match_id"],
                program_id=doc["program_id"],
                person_a=doc["person_a"],
                person_b=doc["person_b"],
                reason=result.reason,
                suggestion=result.suggestion,
            )
        )
        return
    doc |= {"status": "active", "version": 1, "sessions": [s.model_dump(mode="json") for s in result.sessions]}
    await repo.save_schedule(tx, doc)
    await _set_timers(tx, repo, settings, doc, result.sessions)
    tx.emit(_schedule_event(ScheduleCreated, doc, result.sessions))


async def _reschedule(
    tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, doc: dict[str, Any]
) -> None:
    org_id = doc["org_id"]
    a = await repo.person(org_id, doc["person_a"], tx)
    b = await repo.person(org_id, doc["person_b"], tx)
    plan = await repo.plan(org_id, doc["program_id"], tx)
    if a is None or b is None or plan is None:
        return
    before = sessions_of(doc)
    after = reschedule(before, a, b, plan, now=datetime.now(UTC), match_id=doc["match_id"],
                       a_teaches_b=_teachings(doc["a_teaches_b"]), b_teaches_a=_teachings(doc["b_teaches_a"]))
    if [s.model_dump(mode="json") for s in after] == doc["sessions"]:
        return
    doc |= {"version": doc["version"] + 1, "sessions": [s.model_dump(mode="json") for s in after]}
    await repo.save_schedule(tx, doc)
    await _set_timers(tx, repo, settings, doc, after)
    tx.emit(_schedule_event(ScheduleUpdated, doc, after))


async def _set_timers(tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, doc: dict[str, Any],
                      sessions: list[Session]) -> None:
    hours = settings.reminder_hours_before
    await repo.replace_timers(tx, doc, pending_reminders(sessions, now=datetime.now(UTC), hours_before=hours), hours)


def _teachings(items: list[dict[str, Any]]) -> list[Teaching]:
    return [Teaching.model_validate(t) for t in items]


def _schedule_event(event_cls: type[Event], doc: dict[str, Any], sessions: list[Session], **extra: Any) -> Event:
    return event_cls(
        org_id=doc["org_id"],
        correlation_id=doc.get("correlation_id"),
        schedule_id=doc["schedule_id"],
        match_id=doc["match_id"],
        program_id=doc["program_id"],
        person_a=doc["person_a"],
        person_b=doc["person_b"],
        sessions=sessions,
        version=doc["version"],
        **extra,
    )
