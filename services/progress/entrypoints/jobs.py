import asyncio

import structlog

from services.progress import handlers
from services.progress.entrypoints.consumers import dependencies
from shared.runtime import Context

log = structlog.get_logger()


async def request_checkins(ctx: Context) -> None:
    """Check-in timers live in MongoDB, so a restarted (or second) replica fires what is due, once."""
    deps = dependencies(ctx)
    while True:
        try:
            await handlers.fire_due_checkin_requests(deps)
        except Exception:
            log.exception("progress.checkin_requests_failed")
        await asyncio.sleep(ctx.settings.timer_poll_s)
