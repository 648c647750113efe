import asyncio
from collections.abc import Mapping

from services.notifier import handlers
from services.notifier.adapters.repository import NotifierRepository
from shared.contract import (
    CheckInRequested,
    Event,
    MatchAccepted,
    MatchDeclined,
    MatchProposed,
    MatchWithdrawn,
    PartnershipFlagged,
    ProfileChanged,
    ProfileRejected,
    ScheduleCreated,
    ScheduleUnschedulable,
    ScheduleUpdated,
    SessionUpcoming,
)
from shared.messaging import AnyHandler, Batched
from shared.runtime import Context

NOTIFYING = (
    ProfileRejected, MatchProposed, MatchAccepted, MatchDeclined, MatchWithdrawn,
    ScheduleCreated, ScheduleUpdated, ScheduleUnschedulable, SessionUpcoming, CheckInRequested, PartnershipFlagged,
)


def consumers(ctx: Context) -> Mapping[type[Event], AnyHandler]:
    repo = NotifierRepository(ctx.store.db)
    deliveries_waiting = wakeup(ctx)

    async def on_profiles_changed(events: list[ProfileChanged]) -> None:
        await handlers.profiles_changed(events, ctx.uow, repo, ctx.settings, ctx.clock.now())
        deliveries_waiting.set()

    async def on_notifying_event(event: Event) -> None:
        await handlers.notify(event, ctx.uow, repo, ctx.settings, ctx.clock.now())
        deliveries_waiting.set()

    handlers_by_model: dict[type[Event], AnyHandler] = {ProfileChanged: Batched(on_profiles_changed)}
    return handlers_by_model | {model: on_notifying_event for model in NOTIFYING}


def wakeup(ctx: Context) -> asyncio.Event:
    """Set when new deliveries were recorded, so the delivery job sends them at once."""
    return ctx.extras.setdefault("deliveries_waiting", asyncio.Event())
