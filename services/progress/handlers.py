"""Progress service layer: partnerships begin, get their sessions, collect check-ins and end; the
ledger and the flags follow. Every change, and the events it causes, commit in one unit of work."""

from typing import Any

import structlog

from services.progress.bootstrap import Dependencies
from services.progress.domain import (
    CheckIn,
    CheckInRefused,
    Goal,
    IllegalTransition,
    Partnership,
    PartnershipStatus,
    Thresholds,
    check_in_errors,
)
from shared.contract import (
    CheckInRejected,
    ErasureConfirmed,
    Event,
    MatchAccepted,
    MatchWithdrawn,
    ProfileErased,
    ProgramConfigured,
    ScheduleCreated,
    ScheduleUpdated,
    SessionCheckedIn,
    Teaching,
)
from shared.store import Tx, forget_person
from shared.timers import TimerStatus

log = structlog.get_logger()


async def program_configured(event: ProgramConfigured, deps: Dependencies) -> None:
    """New thresholds: the program's running partnerships are judged again and re-timed."""

    async def work(tx: Tx) -> None:
        thresholds = Thresholds.of_program(event)
        await deps.repo.save_thresholds(tx, event.org_id, event.program_id, thresholds)
        for p in await deps.repo.of_program(event.org_id, event.program_id, (PartnershipStatus.ACTIVE,), tx):
            await _commit(tx, deps, p, p.review(thresholds, deps.now()), thresholds)

    await deps.uow.run(event, work)


async def match_accepted(event: MatchAccepted, deps: Dependencies) -> None:
    async def work(tx: Tx) -> None:
        p = await deps.repo.get(event.org_id, event.match_id, tx) or _begin(event)
        thresholds = await deps.repo.thresholds(event.org_id, p.program_id, tx)
        events = p.learn_goals(_goals(event.b_teaches_a), _goals(event.a_teaches_b), began_at=event.occurred_at,
                               thresholds=thresholds, now=deps.now())
        await _commit(tx, deps, p, events, thresholds)

    await deps.uow.run(event, work)


async def schedule_changed(event: ScheduleCreated | ScheduleUpdated, deps: Dependencies) -> None:
    """The sessions of a partnership; a schedule may arrive before its matches.accepted."""

    async def work(tx: Tx) -> None:
        p = await deps.repo.get(event.org_id, event.match_id, tx) or _begin(event)
        thresholds = await deps.repo.thresholds(event.org_id, p.program_id, tx)
        try:
            events = p.schedule(event.sessions, version=event.version, cancelled=getattr(event, "cancelled", False),
                                thresholds=thresholds, now=deps.now())
        except IllegalTransition as refused:
            log.info("progress.schedule_ignored", match_id=event.match_id, why=str(refused))
            return
        await _commit(tx, deps, p, events, thresholds)

    await deps.uow.run(event, work)


async def match_withdrawn(event: MatchWithdrawn, deps: Dependencies) -> None:
    """Only the end of a running partnership matters here; a withdrawn proposal never began."""
    if not event.partnership_ended:
        return

    async def work(tx: Tx) -> None:
        p = await deps.repo.get(event.org_id, event.match_id, tx) or _begin(event)
        thresholds = await deps.repo.thresholds(event.org_id, p.program_id, tx)
        try:
            events = p.end(event.reason or "unknown", at=event.occurred_at, thresholds=thresholds, now=deps.now())
        except IllegalTransition as refused:
            log.info("progress.end_ignored", match_id=event.match_id, why=str(refused))
            return
        await _commit(tx, deps, p, events, thresholds)

    await deps.uow.run(event, work)


async def checked_in(event: SessionCheckedIn, deps: Dependencies) -> None:
    """Record the check-in, or answer with sessions.checkin-rejected and change nothing."""

    async def work(tx: Tx) -> None:
        p = await deps.repo.get(event.org_id, event.match_id, tx)
        now = deps.now()
        if p is None:
            tx.emit(_rejection(event, check_in_errors(None, event.session_id, event.person_id, now)))
            return
        thresholds = await deps.repo.thresholds(event.org_id, p.program_id, tx)
        checkin = CheckIn(event.session_id, event.person_id, event.happened, event.learned, event.helped, event.note)
        try:
            events = p.check_in(checkin, thresholds=thresholds, now=now)
        except CheckInRefused as refused:
            tx.emit(_rejection(event, refused.errors))
            return
        await _commit(tx, deps, p, events, thresholds)

    await deps.uow.run(event, work)


async def profile_erased(event: ProfileErased, deps: Dependencies) -> None:
    """The person was erased: their private check-in notes are deleted. Their partnerships stay, with
    the ratings both gave, so the partner's balance and history are intact (by ids only)."""

    async def work(tx: Tx) -> None:
        partnerships = await deps.repo.of_person(event.org_id, event.person_id, tx)
        erased = 0
        for p in partnerships:
            if forgotten := p.forget_notes_of(event.person_id):
                erased += forgotten
                await deps.repo.save(tx, p)
        erased += await forget_person(tx, event.org_id, event.person_id)
        tx.emit(event.caused(ErasureConfirmed, person_id=event.person_id, service="progress", erased=erased,
                             anonymised=len(partnerships)))

    await deps.uow.run(event, work)


async def fire_due_checkin_requests(deps: Dependencies) -> int:
    """Ask both partners to check in once a session is `checkin_after_minutes` over. Each timer is
    claimed with a guarded update inside the transaction, so of two replicas exactly one fires it."""
    fired = 0
    now = deps.now()
    for timer in await deps.repo.due_timers(now):

        async def work(tx: Tx, timer: dict[str, Any] = timer) -> bool:
            p = await deps.repo.get(timer["org_id"], timer["match_id"], tx)
            if p is None:
                await deps.repo.close_timer(tx, timer["_id"], now, status=TimerStatus.CANCELLED)
                return False
            thresholds = await deps.repo.thresholds(p.org_id, p.program_id, tx)
            try:
                events = p.request_check_in(timer["session_id"], thresholds=thresholds, now=now)
            except IllegalTransition:
                await deps.repo.close_timer(tx, timer["_id"], now, status=TimerStatus.CANCELLED)
                return False
            if not await deps.repo.close_timer(tx, timer["_id"], now):
                return False
            await deps.repo.save(tx, p)
            for e in events:
                tx.emit(e)
            return True

        try:
            fired += bool(await deps.uow.run(None, work))
        except Exception:  # one broken timer must not hold back the others
            log.exception("progress.timer_failed", timer_id=timer["_id"])
    return fired


async def _commit(tx: Tx, deps: Dependencies, p: Partnership, events: list[Event], thresholds: Thresholds) -> None:
    await deps.repo.save(tx, p)
    await deps.repo.replace_timers(tx, p, p.checkins_to_request(thresholds))
    for e in events:
        tx.emit(e)


def _begin(event: MatchAccepted | MatchWithdrawn | ScheduleCreated | ScheduleUpdated) -> Partnership:
    return Partnership.begin(event.org_id, event.match_id, event.program_id, event.person_a, event.person_b,
                             began_at=event.occurred_at, correlation_id=event.correlation_id or str(event.event_id))


def _goals(teachings: list[Teaching]) -> list[Goal]:
    return [Goal(t.skill, t.goal) for t in teachings]


def _rejection(event: SessionCheckedIn, errors: list[Any]) -> CheckInRejected:
    log.info("progress.checkin_rejected", match_id=event.match_id, fields=[e.field for e in errors])
    return event.caused(CheckInRejected, rejected_event_id=str(event.event_id), match_id=event.match_id,
                        session_id=event.session_id, person_id=event.person_id, errors=errors)
