"""Matcher service layer: keep the pool, propose reciprocal pairs, track responses and expiry."""

from datetime import UTC, datetime
from typing import Any

import structlog

from services.matcher.adapters.repository import MatcherRepository
from services.matcher.domain import (
    Program,
    Scored,
    best_partner,
    expires_at,
    ineligibility,
    match_id,
    program_from_event,
)
from services.matcher.domain.cohort import optimise
from shared.contract import (
    Event,
    MatchAccepted,
    MatchDeclined,
    MatchProposed,
    MatchRequested,
    MatchResponded,
    MatchWithdrawn,
    ProfileChanged,
    ProgramConfigured,
    Teaching,
)
from shared.store import Tx, UnitOfWork

log = structlog.get_logger()


async def program_configured(event: ProgramConfigured, uow: UnitOfWork, repo: MatcherRepository) -> None:
    """Save the program; people who arrived before it are matched now."""

    async def work(tx: Tx) -> None:
        program = program_from_event(event)
        await repo.save_program(tx, program)
        await _rematch(tx, repo, program, sorted(await repo.pool(program, tx)))

    await uow.run(event, work)


async def profile_changed(event: ProfileChanged, uow: UnitOfWork, repo: MatcherRepository) -> None:
    """Incremental rematch: withdraw what is no longer eligible, then fill the person's free capacity."""

    async def work(tx: Tx) -> None:
        await repo.save_profile(tx, event)
        for program_id in await _programs_touched(tx, repo, event):
            program = await repo.program(event.org_id, program_id, tx)
            if program is None:
                log.info("matcher.program_unknown", program_id=program_id)
                continue
            await _withdraw_ineligible(tx, repo, program, event.person_id)
            await _rematch(tx, repo, program, [event.person_id])

    await uow.run(event, work)


async def match_responded(event: MatchResponded, uow: UnitOfWork, repo: MatcherRepository) -> None:
    async def work(tx: Tx) -> None:
        match = await repo.match(event.org_id, event.match_id, tx)
        if match is None or match["status"] != "proposed" or event.person_id not in match["people"]:
            log.info("matcher.response_ignored", match_id=event.match_id, status=match and match["status"])
            return
        program = await repo.program(event.org_id, match["program_id"], tx)
        if event.decision == "decline":
            await repo.set_status(tx, match["_id"], "proposed", _status("declined", event.reason or "declined"))
            tx.emit(_outcome(tx.cause, MatchDeclined, match, "declined"))
            if program:
                await _rematch(tx, repo, program, match["people"])
            return
        accepted_by = sorted({*match["accepted_by"], event.person_id})
        if len(accepted_by) < 2:
            await repo.set_status(tx, match["_id"], "proposed", {"accepted_by": accepted_by})
            return
        await repo.set_status(tx, match["_id"], "proposed", {**_status("accepted", "both accepted"),
                                                              "accepted_by": accepted_by})
        tx.emit(_outcome(tx.cause, MatchAccepted, match, "both accepted"))

    await uow.run(event, work)


async def match_requested(event: MatchRequested, uow: UnitOfWork, repo: MatcherRepository) -> None:
    """Whole-cohort optimisation over everyone with free capacity in the program."""

    async def work(tx: Tx) -> None:
        program = await repo.program(event.org_id, event.program_id, tx)
        if program is None:
            log.warning("matcher.program_unknown", program_id=event.program_id)
            return
        pool = await repo.pool(program, tx)
        load, blocked = await repo.history(program.org_id, program.program_id, tx)
        result = optimise(pool.values(), program, blocked_pairs=blocked, load=load, now=datetime.now(UTC))
        for scored in result.pairs:
            await _propose(tx, repo, program, scored)
        log.info("matcher.cohort_matched", pairs=len(result.pairs), objective=result.objective,
                 coverage=result.coverage)

    await uow.run(event, work)


async def expire_proposals(uow: UnitOfWork, repo: MatcherRepository, now: datetime) -> int:
    """Withdraw proposals past their expiry; the pair is never proposed again and both are rematched."""
    expired = await repo.expired(now)
    for match in expired:

        async def work(tx: Tx, match: dict[str, Any] = match) -> None:
            if not await repo.set_status(tx, match["_id"], "proposed", _status("expired", "proposal expired")):
                return
            tx.emit(_outcome(None, MatchWithdrawn, match, "proposal expired"))
            program = await repo.program(match["org_id"], match["program_id"], tx)
            if program:
                await _rematch(tx, repo, program, match["people"])

        await uow.run(None, work)
    return len(expired)


async def _programs_touched(tx: Tx, repo: MatcherRepository, event: ProfileChanged) -> list[str]:
    open_programs = {m["program_id"] for m in await repo.open_matches_of(event.org_id, event.person_id, tx)}
    return sorted(open_programs | set(event.program_ids))


async def _withdraw_ineligible(tx: Tx, repo: MatcherRepository, program: Program, person_id: str) -> None:
    pool = await repo.pool(program, tx)
    load, blocked = await repo.history(program.org_id, program.program_id, tx)
    for match in await repo.open_matches_of(program.org_id, person_id, tx):
        if match["program_id"] != program.program_id:
            continue
        a, b = pool.get(match["person_a"]), pool.get(match["person_b"])
        if a is None or b is None:
            reasons = [f"{person_id} left the program"]
        elif match["status"] == "accepted":
            continue
        else:
            without_this = {pid: n - (pid in match["people"]) for pid, n in load.items()}
            reasons = ineligibility(a, b, program, blocked_pairs=blocked, load=without_this, now=datetime.now(UTC))
        if not reasons:
            continue
        ended = "ended" if match["status"] == "accepted" else "withdrawn"
        reason = "; ".join(reasons)
        if await repo.set_status(tx, match["_id"], match["status"], _status(ended, reason)):
            tx.emit(_outcome(tx.cause, MatchWithdrawn, match, reason))
            for pid in match["people"]:
                load[pid] = load.get(pid, 1) - 1


async def _rematch(tx: Tx, repo: MatcherRepository, program: Program, person_ids: list[str]) -> None:
    pool = await repo.pool(program, tx)
    load, blocked = await repo.history(program.org_id, program.program_id, tx)
    now = datetime.now(UTC)
    for person_id in person_ids:
        person = pool.get(person_id)
        while person is not None and load.get(person_id, 0) < person.max_partners:
            best = best_partner(person, pool.values(), program, blocked_pairs=blocked, load=load, now=now)
            if best is None:
                break
            await _propose(tx, repo, program, best)
            for pid in (best.person_a, best.person_b):
                load[pid] = load.get(pid, 0) + 1


async def _propose(tx: Tx, repo: MatcherRepository, program: Program, scored: Scored) -> None:
    now = datetime.now(UTC)
    mid = match_id(program.org_id, program.program_id, scored.person_a, scored.person_b)
    doc = {
        "_id": mid,
        "org_id": program.org_id,
        "program_id": program.program_id,
        "person_a": scored.person_a,
        "person_b": scored.person_b,
        "people": [scored.person_a, scored.person_b],
        "status": "proposed",
        "accepted_by": [],
        "score": scored.score,
        "a_teaches_b": [t.model_dump() for t in scored.a_teaches_b],
        "b_teaches_a": [t.model_dump() for t in scored.b_teaches_a],
        "explanation": [f.model_dump() for f in scored.explanation],
        "created_at": now,
        "updated_at": now,
        "expires_at": expires_at(program, now),
        "reason": "",
    }
    await repo.save_match(tx, doc)
    base = _caused_fields(tx.cause, program.org_id)
    tx.emit(
        MatchProposed(
            **base,
            match_id=mid,
            program_id=program.program_id,
            person_a=scored.person_a,
            person_b=scored.person_b,
            a_teaches_b=scored.a_teaches_b,
            b_teaches_a=scored.b_teaches_a,
            score=scored.score,
            explanation=scored.explanation,
            expires_at=doc["expires_at"],
        )
    )


def _status(status: str, reason: str) -> dict[str, Any]:
    return {"status": status, "reason": reason, "updated_at": datetime.now(UTC)}


def _caused_fields(cause: Event | None, org_id: str) -> dict[str, Any]:
    correlation = (cause.correlation_id or str(cause.event_id)) if cause else None
    return {"org_id": org_id, "correlation_id": correlation}


def _outcome(cause: Event | None, event_cls: type, match: dict[str, Any], reason: str) -> Event:
    return event_cls(
        **_caused_fields(cause, match["org_id"]),
        match_id=match["_id"],
        program_id=match["program_id"],
        person_a=match["person_a"],
        person_b=match["person_b"],
        reason=reason,
        a_teaches_b=[Teaching.model_validate(t) for t in match["a_teaches_b"]],
        b_teaches_a=[Teaching.model_validate(t) for t in match["b_teaches_a"]],
    )
