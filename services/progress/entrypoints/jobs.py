import asyncio

import structlog

from services.progress import handlers
from services.progress.bootstrap import Dependencies

log = structlog.get_logger()

MIN_REAL_POLL_S = 0.2  # an accelerated clock shrinks the virtual poll interval; never spin faster than this


async def request_checkins(deps: Dependencies) -> None:
    """Check-in timers live in MongoDB, so a restarted (or second) replica fires what is due, once.
    Due means due on the service clock; the poll interval is virtual time too (at least MIN_REAL_POLL_S real)."""
    while True:
        try:
            await handlers.fire_due_checkin_requests(deps)
        except Exception:
            log.exception("progress.checkin_requests_failed")
        await asyncio.sleep(max(deps.clock.real_seconds(deps.settings.timer_poll_s), MIN_REAL_POLL_S))


async def keep_program_copies(deps: Dependencies) -> None:
    """Every program's copy of its partnerships, kept pulled up to date (real seconds): the console's figures."""
    await deps.repo.copies.keep_warm(deps.settings.program_copy_warm_s)
