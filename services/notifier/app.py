"""Composition root of the notifier service."""

from services.notifier.adapters.repository import NotifierRepository
from services.notifier.entrypoints import consumers, http, jobs
from services.notifier.settings import NotifierSettings
from shared.contract import EndRequested, MatchResponded, NotificationFailed, NotificationSent, SessionCheckedIn
from shared.runtime import Context, ServiceSpec


async def setup(ctx: Context) -> None:
    ctx.settings.require_link_secret()  # refuse to start without it: see NotifierSettings.require_link_secret
    settings = ctx.settings
    assert isinstance(settings, NotifierSettings)
    await NotifierRepository(ctx.store.db).ensure_indexes(settings.retention_deliveries_days,
                                                          settings.retention_inbox_days)


SPEC = ServiceSpec(
    name="notifier",
    description=(
        "Personal, reciprocal messages by email with calendar invites, signed webhooks and an in-app inbox; "
        "signed one-click links to accept, decline, check in and end."
    ),
    settings_cls=NotifierSettings,
    consumers=consumers.consumers,
    publishes=(NotificationSent, NotificationFailed, MatchResponded, SessionCheckedIn, EndRequested),
    http=http.routes,
    setup=setup,
    jobs=[jobs.deliver_notifications, jobs.watch_delivery_backlog],
    readiness={"deliveries": jobs.delivery_backlog_ready},
)
