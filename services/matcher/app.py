"""Composition root of the matcher service."""

from services.matcher.adapters.repository import repository
from services.matcher.entrypoints import consumers, http, jobs
from services.matcher.settings import MatcherSettings
from shared.contract import (
    MatchAccepted,
    MatchApprovalRefused,
    MatchDeclined,
    MatchPreviewed,
    MatchProposed,
    MatchWithdrawn,
)
from shared.runtime import Context, ServiceSpec


async def setup(ctx: Context) -> None:
    settings = ctx.settings
    assert isinstance(settings, MatcherSettings)
    await repository(ctx).ensure_indexes(settings.retention_reports_days, settings.retention_previews_days)


SPEC = ServiceSpec(
    name="matcher",
    description="Reciprocal matching: proposes pairs where both people teach and both learn.",
    settings_cls=MatcherSettings,
    consumers=consumers.consumers,
    publishes=(MatchProposed, MatchAccepted, MatchDeclined, MatchWithdrawn, MatchPreviewed, MatchApprovalRefused),
    http=http.routes,
    setup=setup,
    jobs=[jobs.expire_proposals],
)
