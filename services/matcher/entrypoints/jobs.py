import asyncio
from datetime import UTC, datetime

import structlog

from services.matcher import handlers
from services.matcher.adapters.repository import repository
from shared.runtime import Context

log = structlog.get_logger()


async def expire_proposals(ctx: Context) -> None:
    repo = repository(ctx)
    while True:
        try:
            await handlers.expire_proposals(ctx.uow, repo, datetime.now(UTC))
        except Exception:
            log.exception("matcher.expiry_failed")
        await asyncio.sleep(ctx.settings.expiry_poll_s)
