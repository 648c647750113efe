import asyncio

import structlog

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from services.matcher.settings import MatcherSettings
from shared.clock import Clock
from shared.store import UnitOfWork

log = structlog.get_logger()

MIN_REAL_POLL_S = 0.5  # an accelerated clock shrinks the virtual poll interval; never spin faster than this


async def expire_proposals(uow: UnitOfWork, repo: MatcherRepository, clock: Clock, settings: MatcherSettings) -> None:
    """Expiry, and the close of cohort registrations, are due on the service clock; the poll interval is
    virtual time too (at least MIN_REAL_POLL_S real)."""
    while True:
        try:
            await handlers.expire_proposals(uow, repo, clock.now())
        except Exception:
            log.exception("matcher.expiry_failed")
        try:
            await handlers.close_registrations(uow, repo, clock.now())
        except Exception:
            log.exception("matcher.cohort_close_failed")
        await asyncio.sleep(max(clock.real_seconds(settings.expiry_poll_s), MIN_REAL_POLL_S))


async def match_batches(uow: UnitOfWork, repo: MatcherRepository, clock: Clock, settings: MatcherSettings) -> None:
    """Runs each program's batch when it closes on the service clock (its window over and arrivals
    paused for `batch_quiet_s`, or one more window passed); polled every
    `batch_poll_s` of service time (at least MIN_REAL_POLL_S real), so a batch starts at most that late."""
    while True:
        try:
            await handlers.match_due_batches(uow, repo, clock.now(), settings.batch_quiet_s)
        except Exception:
            log.exception("matcher.batch_failed")
        await asyncio.sleep(max(clock.real_seconds(settings.batch_poll_s), MIN_REAL_POLL_S))


async def keep_program_ledgers(repo: MatcherRepository, settings: MatcherSettings) -> None:
    """Every program's copy of its matches, kept pulled up to date (real seconds): the console's figures."""
    await repo.ledger.keep_warm(settings.program_copy_warm_s)
