"""Matcher service layer: keep the pool, propose reciprocal pairs, track responses and expiry."""

from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import structlog

from services.matcher.adapters.repository import MatcherRepository
from services.matcher.domain import (
    Person,
    PoolIndex,
    Program,
    Scored,
    ineligibility,
    person_from_profile,
    program_from_event,
    score_pair,
)
from services.matcher.domain.cohort import optimise
from services.matcher.domain.match import IllegalTransition, Match, MatchStatus
from services.matcher.domain.preview import PreviewStatus, approved, fingerprint, staleness
from services.matcher.known import Known
from services.matcher.settings import BATCH_QUIET_S
from shared.clock import Now, wall_time
from shared.contract import (
    FORMER_PARTICIPANT,
    EndRequested,
    ErasureConfirmed,
    Event,
    MatchApprovalRefused,
    MatchApproved,
    MatchPreviewed,
    MatchRequested,
    MatchResponded,
    ProfileChanged,
    ProfileErased,
    ProgramConfigured,
)
from shared.store import IN_CHUNK, Tx, UnitOfWork, forget_person

log = structlog.get_logger()

CANDIDATES_PER_SLOT = 8  # candidates ranked per free slot before asking the index for more

Indexed = tuple[Program, PoolIndex, list[str]]
"""A cached pool index of a program, and the arrivals a transaction put into it (`_arrive`)."""


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
    """One event in its own transaction (see `profiles_changed`)."""

    written = _Written()

    async def work(tx: Tx) -> None:
        matches = await repo.matches_of_people(tx, [(event.org_id, event.person_id)])
        revs = await repo.save_profile(tx, event)
        written.attempt(revs, await _rematch_arrivals(tx, repo, [event], matches, list, now()))

    await uow.run(event, work)
    written.committed(repo)


async def profiles_changed(events: list[ProfileChanged], uow: UnitOfWork, repo: MatcherRepository,
                           max_per_transaction: int = 50, *, now: Now = wall_time) -> None:
    """A batch in offset order, at most `max_per_transaction` events per transaction (so one stays
    short whatever the batch size): one bulk profile write (the last event per person wins) and one
    read of everyone's matches per transaction, then the incremental rematch."""

    for start in range(0, len(events), max_per_transaction):
        written = _Written()

        async def work(tx: Tx, fresh: list[ProfileChanged], written: _Written = written) -> None:
            matches = await repo.matches_of_people(tx, [(e.org_id, e.person_id) for e in fresh])
            revs = await repo.save_profiles(tx, list({(e.org_id, e.person_id): e for e in fresh}.values()))
            indexed = await _rematch_arrivals(tx, repo, fresh, matches, lambda group: _each_as_cause(tx, group), now())
            written.attempt(revs, indexed)

        await uow.run_batch(events[start:start + max_per_transaction], work)
        written.committed(repo)


class _Written:
    """What a transaction's last attempt wrote to the people collection and put into which cached pool
    indexes: told to the pool cache once it has committed (a retried attempt writes new revs)."""

    def __init__(self) -> None:
        self.revs: dict[tuple[str, str], str] = {}
        self.indexed: list[Indexed] = []

    def attempt(self, revs: dict[tuple[str, str], str], indexed: list["Indexed"]) -> None:
        self.revs, self.indexed = revs, indexed

    def committed(self, repo: MatcherRepository) -> None:
        for program, index, person_ids in self.indexed:
            revs = {pid: rev for pid in person_ids if (rev := self.revs.get((program.org_id, pid)))}
            repo.pool_committed(program, index, revs)


async def _rematch_arrivals(
    tx: Tx, repo: MatcherRepository, events: list[ProfileChanged],
    matches_of: dict[tuple[str, str], list[Match]],
    each: Callable[[list[ProfileChanged]], Iterable[ProfileChanged]], now: datetime,
) -> list[Indexed]:
    """Incremental rematch, per program the events touch (`matches_of`: every match of each arriving
    person, read before the events were saved): take the program's matching turn and build its pool
    index once; the arrivals are known from their events and those matches, and the people and pair
    history of their partners are read once; then for each event in order withdraw what is no longer
    eligible and fill the free capacity of the person and of every partner a withdrawal freed. Returns
    each cached pool index the arrivals were put into, with who was put in."""
    indexed: list[Indexed] = []
    open_matches = {person: [m for m in ms if m.is_open] for person, ms in matches_of.items()}
    latest = {(e.org_id, e.person_id): e for e in events}  # as saved: the last event per person
    by_program: dict[tuple[str, str], list[ProfileChanged]] = {}
    for event in events:
        for program_id in _programs_touched(event, open_matches.get((event.org_id, event.person_id), [])):
            by_program.setdefault((event.org_id, program_id), []).append(event)
    for (org_id, program_id), arrivals in by_program.items():
        program = await repo.program(org_id, program_id, tx)
        if program is None:
            log.info("matcher.program_unknown", program_id=program_id)
            continue
        await repo.take_matching_turn(tx, program)
        index = await repo.pool_index(program) if program.proposes_one_by_one else None
        matches = {m.match_id: m for e in arrivals for m in open_matches.get((org_id, e.person_id), [])
                   if m.program_id == program_id}
        known = Known(program)
        arriving = {e.person_id: latest[(org_id, e.person_id)] for e in arrivals}
        known.seed({pid: person_from_profile(e, program.skill_aliases) for pid, e in arriving.items()},
                   [m for pid in arriving for m in matches_of.get((org_id, pid), [])])
        await known.ensure(tx, repo, {pid for m in matches.values() for pid in m.people})
        if index is not None:
            indexed.append((program, index, sorted({e.person_id for e in arrivals})))
            await _prefetch_candidates(tx, repo, index, known, [e.person_id for e in arrivals])
        waiting = False
        for event in each(arrivals):
            if index is not None:
                _arrive(index, program, event)
            mine = [m for m in matches.values() if event.person_id in m.people and m.is_open]
            freed = await _withdraw_ineligible(tx, repo, known, event.person_id, mine, now)
            waiting |= bool(freed) or _in_program(known.persons.get(event.person_id), program)
            if index is not None:
                for person_id in [event.person_id, *freed]:
                    await _fill(tx, repo, index, known, person_id, now)
        await known.flush(tx, repo)
        if waiting:
            await _schedule_batch(tx, repo, program, now)
    return indexed


async def _prefetch_candidates(tx: Tx, repo: MatcherRepository, index: PoolIndex, known: Known,
                               person_ids: list[str]) -> None:
    """Load, in one go, the candidates the index ranks first for these people, so that filling their
    places rarely reads again."""
    program = known.program
    if not program.proposes_one_by_one:
        return
    wanted: set[str] = set()
    at_least = IN_CHUNK // max(len(person_ids), 1)  # a read of fewer than IN_CHUNK costs about as much
    for person_id in person_ids:
        person = known.persons.get(person_id)
        if _in_program(person, program):
            assert person is not None
            limit = CANDIDATES_PER_SLOT * max(person.max_partners - known.load(person_id), 0)
            if limit:
                limit = max(limit, at_least)
                wanted.update(pid for pid, _ in index.ranked(person, blocked_pairs=known.blocked(person_id),
                                                             limit=limit))
    await known.ensure(tx, repo, wanted)


def _arrive(index: PoolIndex, program: Program, event: ProfileChanged) -> None:
    """Put the person into the cached index as this transaction just wrote them, so that later people
    of a batch are matched with earlier ones as if each had committed on its own. (The cache holds only
    what was committed; every candidate is checked against the database inside the transaction, so an
    entry not yet committed never makes a wrong proposal, and the next refresh restores what the
    database says.)"""
    person = person_from_profile(event, program.skill_aliases)
    if _in_program(person, program):
        index.upsert(person)
    elif event.person_id in index:
        index.remove(event.person_id)


def _each_as_cause(tx: Tx, events: list[ProfileChanged]) -> Iterator[ProfileChanged]:
    """The batch's events in order, each the cause (and trace) of what is emitted while it is current."""
    try:
        for event in tx.each(events):
            tx.cause = event
            yield event
    finally:
        tx.cause = None


async def match_responded(event: MatchResponded, uow: UnitOfWork, repo: MatcherRepository, *,
                          now: Now = wall_time) -> None:
    async def work(tx: Tx) -> None:
        at = now()
        match = await repo.match(event.org_id, event.match_id, tx)
        if match is None:
            log.info("matcher.response_ignored", match_id=event.match_id, status=None)
            return
        was = match.status
        try:
            if event.decision == "decline":
                events = match.decline(event.person_id, event.reason, at, _correlation(tx.cause))
            else:
                events = match.accept(event.person_id, at, _correlation(tx.cause))
        except IllegalTransition:
            log.info("matcher.response_ignored", match_id=event.match_id, status=was)
            return
        if not await repo.save_transition(tx, match, was):
            return
        _emit(tx, events)
        if match.status is MatchStatus.DECLINED:
            await _rematch_program_of(tx, repo, match, at)

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
        if match is None:
            log.info("matcher.end_ignored", match_id=event.match_id, status=None, from_partner=False)
            return
        was = match.status
        try:
            events = match.end(event.person_id, event.reason, at, _correlation(tx.cause))
        except IllegalTransition:
            log.info("matcher.end_ignored", match_id=event.match_id, status=was,
                     from_partner=event.person_id in match.people)
            return
        if not await repo.save_transition(tx, match, was):
            return
        _emit(tx, events)
        await _rematch_program_of(tx, repo, match, at)

    await uow.run(event, work)


async def profile_erased(event: ProfileErased, uow: UnitOfWork, repo: MatcherRepository, *,
                         now: Now = wall_time) -> None:
    """The person was erased: their open proposals are withdrawn and their partnerships ended (the
    partners are told, and matched again), and their profile copy is deleted. The pair history stays,
    by ids only, so the partner's history is intact and the pair is never proposed again."""

    async def work(tx: Tx) -> None:
        at = now()
        matches = await repo.open_matches_of(event.org_id, event.person_id, tx)
        erased = await repo.erase_person(tx, event.org_id, event.person_id)
        for match in matches:
            was = match.status
            events = match.withdraw(f"{FORMER_PARTICIPANT} left the program", at, _correlation(tx.cause),
                                    erased_person_id=event.person_id)
            if await repo.save_transition(tx, match, was):
                _emit(tx, events)
                await _rematch_program_of(tx, repo, match, at)
        erased += await forget_person(tx, event.org_id, event.person_id)
        kept = await repo.count_matches_of(tx, event.org_id, event.person_id)
        tx.emit(event.caused(ErasureConfirmed, person_id=event.person_id, service="matcher", erased=erased,
                             anonymised=kept))

    await uow.run(event, work)


async def match_requested(event: MatchRequested, uow: UnitOfWork, repo: MatcherRepository, *,
                          now: Now = wall_time) -> None:
    """Whole-cohort optimisation over everyone with free capacity in the program; the run's report is
    kept for `GET /programs/{program_id}/cohort-report`. For a cohort program still waiting for its
    close, this is the cohort's match: from then on it proposes one by one."""

    async def work(tx: Tx) -> None:
        program = await repo.program(event.org_id, event.program_id, tx)
        if program is None:
            log.warning("matcher.program_unknown", program_id=event.program_id)
            return
        at = now()
        if event.preview or program.approval_required:  # the admin approves a preview; nothing proposed before
            await _preview(tx, repo, program, at)
            return
        if program.awaits_cohort_match:
            await repo.mark_cohort_matched(tx, program, at)
        await _match_cohort(tx, repo, program, str(event.event_id), at)

    await uow.run(event, work)


async def close_registrations(uow: UnitOfWork, repo: MatcherRepository, now: datetime) -> int:
    """Match each cohort program whose registration has closed by `now` (the service clock), once,
    whichever replica gets there first. How many cohorts were matched."""
    matched = 0
    for due in await repo.cohorts_due(now):

        async def work(tx: Tx, due: Program = due) -> bool:
            if due.approval_required:  # a preview waits for the admin's approval, made once
                if not await repo.mark_cohort_previewed(tx, due, now):
                    return False
                await _preview(tx, repo, due, now)
                return True
            if not await repo.mark_cohort_matched(tx, due, now):
                return False
            await _match_cohort(tx, repo, due, f"registration-closed-{now.isoformat()}", now)
            return True

        matched += bool(await uow.run(None, work))
    return matched


class PreviewRefused(Exception):
    """An approval that cannot be carried out: `status` is the HTTP answer, the message its reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


async def preview_cohort(uow: UnitOfWork, repo: MatcherRepository, org_id: str, program_id: str,
                         at: datetime) -> dict[str, Any]:
    """What a whole-cohort match would propose now, kept under a new preview id; nothing is proposed.
    Raises PreviewRefused (404) for an unknown program."""

    async def work(tx: Tx) -> dict[str, Any]:
        program = await repo.program(org_id, program_id, tx)
        if program is None:
            raise PreviewRefused(404, "program not found")
        return await _preview(tx, repo, program, at)

    return await _required(uow.run(None, work))


async def approve_preview(uow: UnitOfWork, repo: MatcherRepository, org_id: str, program_id: str,
                          preview_id: str, at: datetime) -> dict[str, Any]:
    """Propose exactly the preview's pairs, once (a second approval answers with the first one's
    proposals). Raises PreviewRefused: 404 for an unknown preview, 409 when the pool changed since."""

    async def work(tx: Tx) -> dict[str, Any]:
        return await _approve(tx, repo, org_id, program_id, preview_id, at)

    return await _required(uow.run(None, work))


async def match_approved(event: MatchApproved, uow: UnitOfWork, repo: MatcherRepository, *,
                         now: Now = wall_time) -> None:
    """The event form of an approval; a refusal is answered with `programs.match-approval-refused`."""

    async def work(tx: Tx) -> None:
        try:
            await _approve(tx, repo, event.org_id, event.program_id, event.preview_id, now())
        except PreviewRefused as refused:  # refused before anything was written
            log.info("matcher.approval_refused", program_id=event.program_id, status=refused.status)
            tx.emit(MatchApprovalRefused(**_caused_fields(tx.cause, event.org_id), program_id=event.program_id,
                                         preview_id=event.preview_id, reason=str(refused)))

    await uow.run(event, work)


async def _approve(tx: Tx, repo: MatcherRepository, org_id: str, program_id: str, preview_id: str,
                   at: datetime) -> dict[str, Any]:
    preview = await repo.preview(org_id, program_id, preview_id, tx)
    program = await repo.program(org_id, program_id, tx)
    if preview is None or program is None:
        raise PreviewRefused(404, "preview not found")
    if preview["status"] == PreviewStatus.APPROVED:
        return preview
    revisions = await repo.pool_revisions(program, tx)
    history = await repo.history(program, tx)
    same = fingerprint(revisions, history.taken(), history.load) == preview["fingerprint"]
    if why := staleness(set(preview["people"]), set(revisions), same):
        raise PreviewRefused(409, why)
    pool = await repo.pool(program, tx)
    created = _aware_utc(preview["created_at"])
    result = optimise(pool.values(), program, blocked_pairs=history.taken(), load=history.load, now=created)
    pairs = [(s.person_a, s.person_b) for s in result.pairs]
    if pairs != [(p["person_a"], p["person_b"]) for p in preview["pairs"]]:  # same input, same optimiser
        raise PreviewRefused(409, "the optimiser no longer gives this preview's pairs: preview again")
    await repo.take_matching_turn(tx, program)
    if program.awaits_cohort_match:
        await repo.mark_cohort_matched(tx, program, at)
    proposed = await _propose_all(tx, repo, program, result.pairs, at, f"preview-{preview_id}")
    preview = approved(preview, at, proposed)
    await repo.save_preview(tx, preview)
    await repo.save_cohort_report(tx, {
        "_id": f"{org_id}|{program_id}|preview-{preview_id}", "org_id": org_id, "program_id": program_id,
        "run_id": f"preview-{preview_id}", "requested_at": at, "match_ids": proposed, **result.to_doc(),
    })  # fmt: skip
    log.info("matcher.preview_approved", program_id=program_id, pairs=len(proposed))
    return preview


async def _preview(tx: Tx, repo: MatcherRepository, program: Program, at: datetime) -> dict[str, Any]:
    revisions = await repo.pool_revisions(program, tx)
    pool = await repo.pool(program, tx)
    history = await repo.history(program, tx)
    result = optimise(pool.values(), program, blocked_pairs=history.taken(), load=history.load, now=at)
    preview_id = uuid4().hex
    org_id, program_id = program.org_id, program.program_id
    doc = {
        "_id": f"{org_id}|{program_id}|{preview_id}", "preview_id": preview_id, "org_id": org_id,
        "program_id": program_id, "created_at": at, "status": PreviewStatus.PENDING.value, "match_ids": [],
        "people": sorted(revisions), "fingerprint": fingerprint(revisions, history.taken(), history.load),
        **result.to_doc(),
    }  # fmt: skip
    await repo.save_preview(tx, doc)
    tx.emit(MatchPreviewed(
        **_caused_fields(tx.cause, org_id), program_id=program_id, preview_id=preview_id, mode=result.mode,
        objective=result.objective, upper_bound=result.upper_bound, coverage=result.coverage,
        pairs=len(result.pairs), unmatched=len(result.unmatched),
    ))
    log.info("matcher.cohort_previewed", program_id=program_id, pairs=len(result.pairs),
             objective=result.objective, coverage=result.coverage)
    return doc


async def _required(result: Awaitable[dict[str, Any] | None]) -> dict[str, Any]:
    done = await result
    assert done is not None  # a unit of work without a cause always runs
    return done


def _aware_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _match_cohort(tx: Tx, repo: MatcherRepository, program: Program, run_id: str, at: datetime) -> None:
    await repo.take_matching_turn(tx, program)
    pool = await repo.pool(program, tx)
    history = await repo.history(program, tx)
    result = optimise(pool.values(), program, blocked_pairs=history.taken(), load=history.load, now=at)
    proposed = await _propose_all(tx, repo, program, result.pairs, at, run_id)
    await repo.save_cohort_report(tx, {
        "_id": f"{program.org_id}|{program.program_id}|{run_id}",
        "org_id": program.org_id, "program_id": program.program_id, "run_id": run_id,
        "requested_at": at, "match_ids": proposed, **result.to_doc(),
    })  # fmt: skip
    log.info("matcher.cohort_matched", program_id=program.program_id, mode=result.mode, pairs=len(proposed),
             participants=result.participants, objective=result.objective, coverage=result.coverage)


async def expire_proposals(uow: UnitOfWork, repo: MatcherRepository, now: datetime) -> int:
    """Withdraw proposals past their expiry; the pair is never proposed again and both are rematched."""
    expired = await repo.expired(now)
    for match in expired:

        async def work(tx: Tx, match: Match = match) -> None:
            events = match.expire(now)
            if not await repo.save_transition(tx, match, MatchStatus.PROPOSED):
                return
            _emit(tx, events)
            await _rematch_program_of(tx, repo, match, now)

        await uow.run(None, work)
    return len(expired)


async def _rematch_program_of(tx: Tx, repo: MatcherRepository, match: Match, now: datetime) -> None:
    """A pair came apart: both are matched again in its program."""
    program = await repo.program(match.org_id, match.program_id, tx)
    if program:
        await _rematch(tx, repo, program, match.people, now)


def _programs_touched(event: ProfileChanged, open_matches: list[Match]) -> list[str]:
    """The programs the person is in now, and those where they had an open match before the batch."""
    return sorted({m.program_id for m in open_matches} | set(event.program_ids))


async def _withdraw_ineligible(tx: Tx, repo: MatcherRepository, known: Known, person_id: str,
                               open_matches: list[Match], now: datetime) -> list[str]:
    """Withdraw the person's open matches in the program that are no longer eligible (end partnerships
    if they left), given everyone in them (loaded in `known`). Returns the partners this freed."""
    program, people, history = known.program, known.persons, known.history
    freed: list[str] = []
    for match in open_matches:
        a, b = people.get(match.person_a), people.get(match.person_b)
        left = [p for p in match.people if not _in_program(people.get(p), program)]
        if left:
            reasons = [f"{pid} left the program" for pid in left]
        elif match.status is MatchStatus.ACCEPTED:
            continue
        else:
            without_this = {pid: history.load.get(pid, 0) - 1 for pid in match.people}
            blocked = history.taken() - {frozenset(match.people)}
            reasons = ineligibility(a, b, program, blocked_pairs=blocked, load=without_this, now=now)
        if not reasons:
            continue
        was = match.status
        events = match.withdraw("; ".join(reasons), now, _correlation(tx.cause))
        if await repo.save_transition(tx, match, was):
            _emit(tx, events)
            known.withdrawn(match)
            freed += [pid for pid in match.people if pid != person_id]
    return freed


async def _rematch(tx: Tx, repo: MatcherRepository, program: Program, person_ids: list[str], now: datetime) -> None:
    """Fill each person's free capacity with their best available partners, in order (or, where the
    program matches in batches, in its next batch)."""
    await repo.take_matching_turn(tx, program)
    if not person_ids or await _schedule_batch(tx, repo, program, now):
        return
    index = await repo.pool_index(program)
    known = Known(program)
    await known.ensure(tx, repo, person_ids)
    await _prefetch_candidates(tx, repo, index, known, person_ids)
    for person_id in person_ids:
        await _fill(tx, repo, index, known, person_id, now)
    await known.flush(tx, repo)


async def _schedule_batch(tx: Tx, repo: MatcherRepository, program: Program, now: datetime) -> bool:
    """Where the program matches in batches, make sure a batch is due by the end of one window from
    now; True if the program matches in batches."""
    if program.awaits_cohort_match or not program.matches_in_batches:
        return False
    await repo.schedule_batch(tx, program, now + timedelta(seconds=program.batch_window_s), now)
    return True


async def match_due_batches(uow: UnitOfWork, repo: MatcherRepository, now: datetime,
                            quiet_s: float = BATCH_QUIET_S) -> int:
    """Match each program whose batch closes by `now` (the service clock; `Program.batch_closes`): the
    optimiser over everyone with a free place, its pairs proposed, or, in a program that requires
    approval, kept as a preview for the admin. Each batch runs once, whichever replica claims it. How
    many batches ran."""
    ran = 0
    for program, due, last_arrival in await repo.batches_due(now):
        if not program.batch_closes(due, last_arrival, now, quiet_s):
            continue

        async def work(tx: Tx, program: Program = program, due: datetime = due) -> bool:
            if not await repo.claim_batch(tx, program, due):
                return False
            if program.approval_required:
                await _preview(tx, repo, program, now)
            else:
                await _match_cohort(tx, repo, program, f"batch-{due.isoformat()}", now)
            return True

        ran += bool(await uow.run(None, work))
    return ran


async def _fill(tx: Tx, repo: MatcherRepository, index: PoolIndex, known: Known, person_id: str,
                now: datetime) -> None:
    """Rank candidates with the cached vectorised pool, then take them best first, each checked
    against the database as this transaction has it (profiles, capacity, pair history: `known`)."""
    program = known.program
    if not program.proposes_one_by_one:  # the optimiser proposes: at the cohort's close, or in batches
        return
    await known.ensure(tx, repo, [person_id])
    person = known.persons.get(person_id)
    if not _in_program(person, program):
        return
    assert person is not None
    seen: set[str] = set()
    limit = CANDIDATES_PER_SLOT * max(person.max_partners - known.load(person_id), 0)
    while known.load(person_id) < person.max_partners:
        ranked = index.ranked(person, blocked_pairs=known.blocked(person_id), limit=limit)
        batch = [pid for pid, _ in ranked if pid not in seen]
        seen.update(batch)
        await known.ensure(tx, repo, batch)
        for pid in batch:
            partner = known.persons.get(pid)
            if partner is None or known.load(person_id) >= person.max_partners:
                continue
            pair = {person_id: known.load(person_id), pid: known.load(pid)}
            if ineligibility(person, partner, program, blocked_pairs=known.blocked(person_id), load=pair, now=now):
                continue
            match, events = Match.propose(program, score_pair(person, partner, program, now=now), now,
                                          _correlation(tx.cause))
            known.propose(match)
            _emit(tx, events)
        if len(ranked) < limit:
            return
        limit *= 2


def _in_program(person: Person | None, program: Program) -> bool:
    return person is not None and person.active and program.program_id in person.program_ids


async def _propose_all(tx: Tx, repo: MatcherRepository, program: Program, pairs: list[Scored], now: datetime,
                       run_id: str) -> list[str]:
    """Propose an optimiser run's pairs in one bulk write, each unless it already has a match; the
    match ids proposed. Without a cause (a close, a batch), the run's id correlates its proposals."""
    proposals = [Match.propose(program, scored, now, _correlation(tx.cause) or run_id) for scored in pairs]
    new = {m.match_id for m in await repo.insert_new_matches(tx, [m for m, _ in proposals])}
    for match, events in proposals:
        if match.match_id in new:
            _emit(tx, events)
        else:
            log.info("matcher.pair_exists", match_id=match.match_id)
    return [m.match_id for m, _ in proposals if m.match_id in new]


def _emit(tx: Tx, events: list[Event]) -> None:
    for event in events:
        tx.emit(event)


def _correlation(cause: Event | None) -> str | None:
    return (cause.correlation_id or str(cause.event_id)) if cause else None


def _caused_fields(cause: Event | None, org_id: str) -> dict[str, Any]:
    return {"org_id": org_id, "correlation_id": _correlation(cause)}
