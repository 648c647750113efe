"""Composition root of the notifier service: its handler table, jobs, routes and readiness."""

from services.notifier import handlers
from services.notifier.adapters.repository import NotifierRepository
from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints import http, jobs
from services.notifier.settings import NotifierSettings
from shared.contract import (
    CheckInRequested,
    EndRequested,
    ErasureConfirmed,
    MatchAccepted,
    MatchDeclined,
    MatchProposed,
    MatchResponded,
    MatchWithdrawn,
    NotificationFailed,
    NotificationSent,
    PartnershipFlagged,
    ProfileChanged,
    ProfileErased,
    ProfileRejected,
    ScheduleCreated,
    ScheduleUnschedulable,
    ScheduleUpdated,
    SessionCheckedIn,
    SessionUpcoming,
)
from shared.runtime import ServiceSpec

NOTIFYING = (
    ProfileRejected, MatchProposed, MatchAccepted, MatchDeclined, MatchWithdrawn,
    ScheduleCreated, ScheduleUpdated, ScheduleUnschedulable, SessionUpcoming, CheckInRequested, PartnershipFlagged,
)
"""The events people are told about."""


async def setup(settings: NotifierSettings, repo: NotifierRepository) -> None:
    settings.require_link_secret()  # refuse to start without it: see NotifierSettings.require_link_secret
    await repo.ensure_indexes(settings.retention_deliveries_days, settings.retention_inbox_days)


SPEC = ServiceSpec(
    name="notifier",
    description=(
        "Personal, reciprocal messages by email with calendar invites, signed webhooks and an in-app inbox; "
        "signed one-click links to accept, decline, check in and end."
    ),
    settings_cls=NotifierSettings,
    bootstrap=bootstrap,
    handlers={ProfileChanged: handlers.profiles_changed, ProfileErased: handlers.profile_erased}
    | {model: handlers.notify for model in NOTIFYING},
    publishes=(NotificationSent, NotificationFailed, MatchResponded, SessionCheckedIn, EndRequested, ErasureConfirmed),
    http=http.routes,
    setup=setup,
    jobs=[jobs.deliver_notifications, jobs.watch_delivery_backlog],
    readiness={"deliveries": jobs.delivery_backlog_ready},
)
