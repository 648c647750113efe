"""Matcher service layer: keep the pool, propose reciprocal pairs, track responses and expiry."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from services.matcher.adapters.repository import MatcherRepository
from services.matcher.domain import (
    Person,
    PoolIndex,
    Program,
    Scored,
    expires_at,
    ineligibility,
    match_id,
    program_from_event,
    score_pair,
)
from services.matcher.domain.cohort import optimise
from shared.clock import wall_time
from shared.contract import (
    EndRequested,
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

CANDIDATES_PER_SLOT = 8  # candidates ranked per free slot before asking the index for more

Now = Callable[[], datetime]
"""The service's clock (`ctx.clock.now`): virtual time when the embedded stack runs accelerated."""


async def program_configured(event: ProgramConfigured, uow: UnitOfWork, repo: MatcherRepository, *,
                             now: Now = wall_time) -> None:
    """Save the program; people who arrived before it are matched now."""

    async def work(tx: Tx) -> None:
        program = program_from_event(event)
        await repo.save_program(tx, program)
        await _rematch(tx, repo, program, sorted(await repo.pool(program, tx)), now())

    await uow.run(event, work)


async def profile_changed(event: ProfileChanged, uow: UnitOfWork, repo: MatcherRepository, *,
                          now: Now = wall_time) -> None:
    """Incremental rematch: withdraw what is no longer eligible, then fill the free capacity of the
    person and of every partner a withdrawal freed."""

    async def work(tx: Tx) -> None:
        at = now()
        await repo.save_profile(tx, event)
        for program_id in await _programs_touched(tx, repo, event):
            program = await repo.program(event.org_id, program_id, tx)
            if program is None:
                log.info("matcher.program_unknown", program_id=program_id)
                continue
            freed = await _withdraw_ineligible(tx, repo, program, event.person_id, at)
            await _rematch(tx, repo, program, [event.person_id, *freed], at)

    await uow.run(event, work)


async def match_responded(event: MatchResponded, uow: UnitOfWork, repo: MatcherRepository, *,
                          now: Now = wall_time) -> None:
    async def work(tx: Tx) -> None:
        at = now()
        match = await repo.match(event.org_id, event.match_id, tx)
        if match is None or match["status"] != "proposed" or event.person_id not in match["people"]:
            log.info("matcher.response_ignored", match_id=event.match_id, status=match and match["status"])
            return
        if event.decision == "decline":
            if not await repo.set_status(tx, match["_id"], "proposed",
                                         _status("declined", event.reason or "declined", at)):
                return
            tx.emit(_outcome(tx.cause, MatchDeclined, match, "declined"))
            program = await repo.program(event.org_id, match["program_id"], tx)
            if program:
                await _rematch(tx, repo, program, match["people"], at)
            return
        accepted_by = sorted({*match["accepted_by"], event.person_id})
        if len(accepted_by) < 2:
            await repo.set_status(tx, match["_id"], "proposed", {"accepted_by": accepted_by})
            return
        if await repo.set_status(tx, match["_id"], "proposed", {**_status("accepted", "both accepted", at),
                                                                 "accepted_by": accepted_by}):
            tx.emit(_outcome(tx.cause, MatchAccepted, match, "both accepted"))

    await uow.run(event, work)


async def end_requested(event: EndRequested, uow: UnitOfWork, repo: MatcherRepository, *,
                        now: Now = wall_time) -> None:
    """One of the pair ends their accepted partnership: `matches.withdrawn` with `partnership_ended` and the end
    reason code; the pair stays in the history (so it is never proposed again) and both partners are rematched.
    An end from anyone outside the pair, or of an unknown, pending or already-ended match, is ignored with a
    log line: the link that sends it only ever reaches the two partners, so it changes nothing."""

    async def work(tx: Tx) -> None:
        at = now()
        match = await repo.match(event.org_id, event.match_id, tx)
        if match is None or match["status"] != "accepted" or event.person_id not in match["people"]:
            log.info("matcher.end_ignored", match_id=event.match_id, status=match and match["status"],
                     from_partner=bool(match) and event.person_id in match["people"])
            return
        if not await repo.set_status(tx, match["_id"], "accepted", _status("ended", event.reason, at)):
            return
        tx.emit(_outcome(tx.cause, MatchWithdrawn, match, event.reason, partnership_ended=True))
        program = await repo.program(event.org_id, match["program_id"], tx)
        if program:
            await _rematch(tx, repo, program, match["people"], at)

    await uow.run(event, work)


async def match_requested(event: MatchRequested, uow: UnitOfWork, repo: MatcherRepository, *,
                          now: Now = wall_time) -> None:
    """Whole-cohort optimisation over everyone with free capacity in the program; the run's report is
    kept for `GET /programs/{program_id}/cohort-report`."""

    async def work(tx: Tx) -> None:
        program = await repo.program(event.org_id, event.program_id, tx)
        if program is None:
            log.warning("matcher.program_unknown", program_id=event.program_id)
            return
        await repo.take_matching_turn(tx, program)
        pool = await repo.pool(program, tx)
        history = await repo.history(program, tx)
        at = now()
        result = optimise(pool.values(), program, blocked_pairs=history.taken(), load=history.load, now=at)
        proposed = [mid for scored in result.pairs if (mid := await _propose(tx, repo, program, scored, at))]
        await repo.save_cohort_report(tx, {
            "_id": f"{program.org_id}|{program.program_id}|{event.event_id}",
            "org_id": program.org_id, "program_id": program.program_id, "run_id": str(event.event_id),
            "requested_at": at, "match_ids": proposed, **result.to_doc(),
        })  # fmt: skip
        log.info("matcher.cohort_matched", program_id=program.program_id, mode=result.mode, pairs=len(proposed),
                 participants=result.participants, objective=result.objective, coverage=result.coverage)

    await uow.run(event, work)


async def expire_proposals(uow: UnitOfWork, repo: MatcherRepository, now: datetime) -> int:
    """Withdraw proposals past their expiry; the pair is never proposed again and both are rematched."""
    expired = await repo.expired(now)
    for match in expired:

        async def work(tx: Tx, match: dict[str, Any] = match) -> None:
            if not await repo.set_status(tx, match["_id"], "proposed", _status("expired", "proposal expired", now)):
                return
            tx.emit(_outcome(None, MatchWithdrawn, match, "proposal expired"))
            program = await repo.program(match["org_id"], match["program_id"], tx)
            if program:
                await _rematch(tx, repo, program, match["people"], now)

        await uow.run(None, work)
    return len(expired)


async def _programs_touched(tx: Tx, repo: MatcherRepository, event: ProfileChanged) -> list[str]:
    open_programs = {m["program_id"] for m in await repo.open_matches_of(event.org_id, event.person_id, tx)}
    return sorted(open_programs | set(event.program_ids))


async def _withdraw_ineligible(tx: Tx, repo: MatcherRepository, program: Program, person_id: str,
                               now: datetime) -> list[str]:
    """Withdraw the person's proposals that are no longer eligible (end partnerships if they left).
    Returns the partners whose capacity this freed."""
    freed: list[str] = []
    for match in await repo.open_matches_of(program.org_id, person_id, tx):
        if match["program_id"] != program.program_id:
            continue
        people = await repo.persons(program, match["people"], tx)
        a, b = people.get(match["person_a"]), people.get(match["person_b"])
        left = [p for p in match["people"] if not _in_program(people.get(p), program)]
        if left:
            reasons = [f"{pid} left the program" for pid in left]
        elif match["status"] == "accepted":
            continue
        else:
            history = await repo.history_of(program, match["people"], tx)
            without_this = {pid: history.load.get(pid, 0) - 1 for pid in match["people"]}
            blocked = history.taken() - {frozenset(match["people"])}
            reasons = ineligibility(a, b, program, blocked_pairs=blocked, load=without_this, now=now)
        if not reasons:
            continue
        reason = "; ".join(reasons)
        ended = "ended" if match["status"] == "accepted" else "withdrawn"
        if await repo.set_status(tx, match["_id"], match["status"], _status(ended, reason, now)):
            tx.emit(_outcome(tx.cause, MatchWithdrawn, match, reason,
                             partnership_ended=match["status"] == "accepted"))
            freed += [pid for pid in match["people"] if pid != person_id]
    return freed


async def _rematch(tx: Tx, repo: MatcherRepository, program: Program, person_ids: list[str], now: datetime) -> None:
    """Fill each person's free capacity with their best available partners, in order."""
    await repo.take_matching_turn(tx, program)
    index = await repo.pool_index(program)
    for person_id in person_ids:
        await _fill(tx, repo, program, index, person_id, now)


async def _fill(tx: Tx, repo: MatcherRepository, program: Program, index: PoolIndex, person_id: str,
                now: datetime) -> None:
    """Rank candidates with the cached vectorised pool, then take them best first, each checked
    against the database as it is inside this transaction (profiles, capacity, pair history)."""
    person = (await repo.persons(program, [person_id], tx)).get(person_id)
    if not _in_program(person, program):
        return
    mine = await repo.history_of(program, [person_id], tx)
    load = mine.load.get(person_id, 0)
    taken = mine.taken()  # open pairs are busy, closed ones blocked: a pair is proposed at most once
    seen: set[str] = set()
    limit = CANDIDATES_PER_SLOT * max(person.max_partners - load, 0)
    while load < person.max_partners:
        ranked = index.ranked(person, blocked_pairs=taken, limit=limit)
        batch = [pid for pid, _ in ranked if pid not in seen]
        seen.update(batch)
        partners = await repo.persons(program, batch, tx)
        theirs = await repo.history_of(program, batch, tx)
        for pid in batch:
            partner = partners.get(pid)
            if partner is None or load >= person.max_partners:
                continue
            pair = {person_id: load, pid: theirs.load.get(pid, 0)}
            if ineligibility(person, partner, program, blocked_pairs=taken, load=pair, now=now):
                continue
            if await _propose(tx, repo, program, score_pair(person, partner, program, now=now), now):
                load += 1
                taken.add(frozenset((person_id, pid)))
        if len(ranked) < limit:
            return
        limit *= 2


def _in_program(person: Person | None, program: Program) -> bool:
    return person is not None and person.active and program.program_id in person.program_ids


async def _propose(tx: Tx, repo: MatcherRepository, program: Program, scored: Scored, now: datetime) -> str | None:
    """Propose the pair unless it already has a match (returns the match_id if proposed)."""
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
    if not await repo.insert_match(tx, doc):
        log.info("matcher.pair_exists", match_id=mid)
        return None
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
    return mid


def _status(status: str, reason: str, now: datetime) -> dict[str, Any]:
    return {"status": status, "reason": reason, "updated_at": now}


def _caused_fields(cause: Event | None, org_id: str) -> dict[str, Any]:
    correlation = (cause.correlation_id or str(cause.event_id)) if cause else None
    return {"org_id": org_id, "correlation_id": correlation}


def _outcome(cause: Event | None, event_cls: type, match: dict[str, Any], reason: str, **extra: Any) -> Event:
    return event_cls(
        **_caused_fields(cause, match["org_id"]),
        **extra,
        match_id=match["_id"],
        program_id=match["program_id"],
        person_a=match["person_a"],
        person_b=match["person_b"],
        reason=reason,
        a_teaches_b=[Teaching.model_validate(t) for t in match["a_teaches_b"]],
        b_teaches_a=[Teaching.model_validate(t) for t in match["b_teaches_a"]],
    )
