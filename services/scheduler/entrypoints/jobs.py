import asyncio

import structlog

from services.scheduler import handlers
from services.scheduler.adapters.repository import SchedulerRepository
from shared.runtime import Context

log = structlog.get_logger()


WAITING_SWEEP_S = 10.0


async def plan_waiting_schedules(ctx: Context) -> None:
    """Every WAITING_SWEEP_S (real seconds), plan waiting schedules whose data is all there."""
    repo = SchedulerRepository(ctx.store.db)
    while True:
        try:
            await handlers.plan_waiting(ctx.uow, repo, ctx.settings, ctx.clock.now())
        except Exception:
            log.exception("scheduler.waiting_sweep_failed")
        await asyncio.sleep(WAITING_SWEEP_S)


async def fire_reminders(ctx: Context) -> None:
    """Reminder timers live in MongoDB, so a restarted (or second) scheduler fires what is due, once.
    Due means due on `ctx.clock`, which runs faster in an accelerated embedded stack."""
    repo = SchedulerRepository(ctx.store.db)
    while True:
        wait = ctx.settings.timer_poll_s
        try:
            await handlers.fire_due_reminders(ctx.uow, repo, ctx.clock.now())
            wait = await handlers.seconds_to_next_reminder(repo, ctx.clock, wait)
        except Exception:
            log.exception("scheduler.reminders_failed")
        await asyncio.sleep(wait)
