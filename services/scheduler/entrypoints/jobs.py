import asyncio
from datetime import UTC, datetime

import structlog

from services.scheduler import handlers
from services.scheduler.adapters.repository import SchedulerRepository
from shared.runtime import Context

log = structlog.get_logger()


async def fire_reminders(ctx: Context) -> None:
    """Reminder timers live in MongoDB, so a restarted (or second) scheduler fires what is due, once."""
    repo = SchedulerRepository(ctx.store.db)
    while True:
        try:
            await handlers.fire_due_reminders(ctx.uow, repo, datetime.now(UTC))
        except Exception:
            log.exception("scheduler.reminders_failed")
        await asyncio.sleep(ctx.settings.timer_poll_s)
