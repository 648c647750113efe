"""Composition root of the scheduler service."""

from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.entrypoints import consumers, http, jobs
from services.scheduler.settings import SchedulerSettings
from shared.contract import ScheduleCreated, ScheduleUnschedulable, ScheduleUpdated, SessionUpcoming
from shared.runtime import Context, ServiceSpec


async def setup(ctx: Context) -> None:
    await SchedulerRepository(ctx.store.db).ensure_indexes()


SPEC = ServiceSpec(
    name="scheduler",
    description="Turns accepted matches into session series across both people's time zones, with reminders.",
    settings_cls=SchedulerSettings,
    consumers=consumers.consumers,
    publishes=(ScheduleCreated, ScheduleUpdated, ScheduleUnschedulable, SessionUpcoming),
    http=http.routes,
    setup=setup,
    jobs=[jobs.fire_reminders, jobs.plan_waiting_schedules],
)
