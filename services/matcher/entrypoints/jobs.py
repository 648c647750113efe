import asyncio

import structlog

from services.matcher import handlers
from services.matcher.adapters.repository import repository
from shared.runtime import Context

log = structlog.get_logger()

MIN_REAL_POLL_S = 0.5  # an accelerated clock shrinks the virtual poll interval; never spin faster than this


async def expire_proposals(ctx: Context) -> None:
    """Expiry, and the close of cohort registrations, are due on `ctx.clock`; the poll interval is virtual
    time too (at least MIN_REAL_POLL_S real)."""
    repo = repository(ctx)
    while True:
        try:
            await handlers.expire_proposals(ctx.uow, repo, ctx.clock.now())
        except Exception:
            log.exception("matcher.expiry_failed")
        try:
            await handlers.close_registrations(ctx.uow, repo, ctx.clock.now())
        except Exception:
            log.exception("matcher.cohort_close_failed")
        await asyncio.sleep(max(ctx.clock.real_seconds(ctx.settings.expiry_poll_s), MIN_REAL_POLL_S))
