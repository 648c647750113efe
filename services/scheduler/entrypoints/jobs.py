import asyncio

import structlog

from services.scheduler import handlers
from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.settings import SchedulerSettings
from shared.clock import Clock
from shared.store import UnitOfWork

log = structlog.get_logger()


WAITING_SWEEP_S = 10.0


async def plan_waiting_schedules(uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings,
                                 clock: Clock) -> None:
    """Every WAITING_SWEEP_S (real seconds), plan waiting schedules whose data is all there."""
    while True:
        try:
            await handlers.plan_waiting(uow, repo, settings, clock.now())
        except Exception:
            log.exception("scheduler.waiting_sweep_failed")
        await asyncio.sleep(WAITING_SWEEP_S)


async def fire_reminders(uow: UnitOfWork, repo: SchedulerRepository, settings: SchedulerSettings,
                         clock: Clock) -> None:
    """Reminder timers live in MongoDB, so a restarted (or second) scheduler fires what is due, once.
    Due means due on the service clock, which runs faster in an accelerated embedded stack."""
    while True:
        wait = settings.timer_poll_s
        try:
            await handlers.fire_due_reminders(uow, repo, clock.now())
            wait = await handlers.seconds_to_next_reminder(repo, clock, wait)
        except Exception:
            log.exception("scheduler.reminders_failed")
        await asyncio.sleep(wait)
