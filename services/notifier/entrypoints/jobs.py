import asyncio
import contextlib

import structlog

from services.notifier.adapters.repository import NotifierRepository
from services.notifier.entrypoints.consumers import wakeup
from services.notifier.handlers import Deliverer
from shared.runtime import Context

log = structlog.get_logger()


async def deliver_notifications(ctx: Context) -> None:
    waiting = wakeup(ctx)
    deliverer = Deliverer(ctx.uow, NotifierRepository(ctx.store.db), ctx.settings, ctx.settings.instance_id)
    try:
        while True:
            waiting.clear()
            try:
                while await deliverer.deliver_due():
                    pass
            except Exception:
                log.exception("delivery.loop_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.wait(), ctx.settings.delivery_poll_s)
    finally:
        await deliverer.close()
