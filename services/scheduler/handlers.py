"""Scheduler service layer: accepted matches become session series; changes reschedule; timers remind."""

from datetime import UTC, datetime
from typing import Any

import structlog

from services.scheduler.adapters.repository import SchedulerRepository, schedule_key, sessions_of
from services.scheduler.settings import SchedulerSettings
from services.scheduler.domain import (
    Participant,
    Scheduled,
    SeriesPlan,
    Unschedulable,
    participant_from_profile,
    pending_reminders,
    plan_from_program,
    plan_series,
    reschedule_result,
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
NOT_STARTED = ("waiting", "unschedulable")  # statuses of a schedule that has no sessions yet


async def program_configured(
    event: ProgramConfigured, uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings
) -> None:
    """Waiting requests can now be planned; unschedulable ones are tried again with the new plan."""

    async def work(tx: Tx) -> None:
        await repo.save_plan(tx, event.org_id, plan_from_program(event))
        for doc in await repo.schedules_of_program(event.org_id, event.program_id, NOT_STARTED, tx):
            await _schedule(tx, repo, settings, doc)

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
        for stuck in await repo.schedules_of(event.org_id, event.person_id, ("unschedulable",), tx):
            await _schedule(tx, repo, settings, stuck)
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
            "_id": schedule_key(event.org_id, event.match_id),
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
    """A partnership that ended: cancel the sessions still ahead. A schedule that never got
    sessions (waiting or unschedulable) is cancelled quietly, so it is never planned later."""

    async def work(tx: Tx) -> None:
        schedule = await repo.schedule(event.org_id, event.match_id, tx)
        if schedule is None or schedule["status"] == "cancelled":
            return
        if schedule["status"] in NOT_STARTED:
            schedule |= {"status": "cancelled", "cancel_reason": event.reason}
            await repo.save_schedule(tx, schedule)
            return
        now = datetime.now(UTC)
        ahead = [s for s in sessions_of(schedule) if s.starts_at > now]
        schedule |= {"status": "cancelled", "version": schedule["version"] + 1, "cancel_reason": event.reason,
                     "sessions": [s.model_dump(mode="json") for s in sessions_of(schedule) if s.starts_at <= now]}
        await repo.save_schedule(tx, schedule)
        await repo.cancel_timers(tx, schedule)
        tx.emit(_schedule_event(ScheduleUpdated, schedule, ahead, cancelled=True))

    await uow.run(event, work)


async def fire_due_reminders(uow: UnitOfWork, repo: SchedulerRepository, now: datetime) -> int:
    fired = 0
    for timer in await repo.due_timers(now):

        async def work(tx: Tx, timer: dict[str, Any] = timer) -> bool:
            schedule = await repo.schedule(timer["org_id"], timer["match_id"], tx)
            sessions = sessions_of(schedule) if schedule else []
            session = next((s for s in sessions if s.session_id == timer["session_id"]), None)
            if schedule is None or schedule["status"] != "active" or session is None:
                if await repo.close_timer(tx, timer["_id"], now, status="cancelled"):
                    log.warning("scheduler.timer_without_session", timer_id=timer["_id"], match_id=timer["match_id"])
                return False
            if not await repo.close_timer(tx, timer["_id"], now):
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

        try:
            fired += bool(await uow.run(None, work))
        except Exception:  # one broken timer must not hold back the others
            log.exception("scheduler.timer_failed", timer_id=timer["_id"])
    return fired


async def _schedule(tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, doc: dict[str, Any]) -> None:
    """Plan the series once both people and the program are known; until then the request waits.
    An unschedulable pair is reported again only when the reason or the suggestion changed."""
    parties = await _parties(tx, repo, doc)
    if parties is None:
        log.info("scheduler.waiting_for_data", match_id=doc["match_id"])
        await repo.save_schedule(tx, doc)
        return
    a, b, plan = parties
    result = plan_series(doc["match_id"], a, b, plan, now=datetime.now(UTC),
                         a_teaches_b=_teachings(doc["a_teaches_b"]), b_teaches_a=_teachings(doc["b_teaches_a"]))
    if not isinstance(result, Scheduled):
        reported = doc["status"] == "unschedulable" and (doc.get("reason"), doc.get("suggestion")) == (
            result.reason, result.suggestion)
        doc |= {"status": "unschedulable", "reason": result.reason, "suggestion": result.suggestion}
        await repo.save_schedule(tx, doc)
        if not reported:
            tx.emit(_unschedulable_event(doc, result))
        return
    for key in ("reason", "suggestion"):
        doc.pop(key, None)
    doc |= {"status": "active", "version": 1, "sessions": [s.model_dump(mode="json") for s in result.sessions]}
    await repo.save_schedule(tx, doc)
    await _set_timers(tx, repo, settings, doc, result.sessions)
    tx.emit(_schedule_event(ScheduleCreated, doc, result.sessions))


async def _reschedule(
    tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, doc: dict[str, Any]
) -> None:
    """Publish schedules.updated only when a session really changed (then the version grows), and
    schedules.unschedulable too when no session ahead fits both people any more."""
    parties = await _parties(tx, repo, doc)
    if parties is None:
        return
    a, b, plan = parties
    before = sessions_of(doc)
    result = reschedule_result(before, a, b, plan, now=datetime.now(UTC), match_id=doc["match_id"],
                               a_teaches_b=_teachings(doc["a_teaches_b"]), b_teaches_a=_teachings(doc["b_teaches_a"]))
    if result.sessions == before:
        return
    doc |= {"version": doc["version"] + 1, "sessions": [s.model_dump(mode="json") for s in result.sessions]}
    await repo.save_schedule(tx, doc)
    await _set_timers(tx, repo, settings, doc, result.sessions)
    tx.emit(_schedule_event(ScheduleUpdated, doc, result.sessions))
    if result.lost:
        tx.emit(_unschedulable_event(doc, result.lost))


async def _parties(
    tx: Tx, repo: SchedulerRepository, doc: dict[str, Any]
) -> tuple[Participant, Participant, SeriesPlan] | None:
    org_id = doc["org_id"]
    a = await repo.person(org_id, doc["person_a"], tx)
    b = await repo.person(org_id, doc["person_b"], tx)
    plan = await repo.plan(org_id, doc["program_id"], tx)
    return None if a is None or b is None or plan is None else (a, b, plan)


async def _set_timers(tx: Tx, repo: SchedulerRepository, settings: SchedulerSettings, doc: dict[str, Any],
                      sessions: list[Session]) -> None:
    hours = settings.reminder_hours_before
    await repo.replace_timers(tx, doc, pending_reminders(sessions, now=datetime.now(UTC), hours_before=hours), hours)


def _teachings(items: list[dict[str, Any]]) -> list[Teaching]:
    return [Teaching.model_validate(t) for t in items]


def _about(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields every scheduler event carries about its match."""
    return {key: doc[key] for key in ("org_id", "match_id", "program_id", "person_a", "person_b")} | {
        "correlation_id": doc.get("correlation_id")}


def _schedule_event(event_cls: type[Event], doc: dict[str, Any], sessions: list[Session], **extra: Any) -> Event:
    return event_cls(**_about(doc), schedule_id=doc["schedule_id"], sessions=sessions, version=doc["version"],
                     **extra)


def _unschedulable_event(doc: dict[str, Any], result: Unschedulable) -> ScheduleUnschedulable:
    return ScheduleUnschedulable(**_about(doc), reason=result.reason, suggestion=result.suggestion)
