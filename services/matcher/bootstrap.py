"""The matcher's dependencies, built once per process: one repository, and so one pool cache, shared by
the handlers, the expiry job and the HTTP routes."""

from dataclasses import dataclass

from services.matcher.adapters.repository import MatcherRepository
from services.matcher.settings import MatcherSettings
from shared.clock import Clock, Now
from shared.runtime import Context
from shared.store import UnitOfWork


@dataclass(frozen=True)
class Dependencies:
    uow: UnitOfWork
    repo: MatcherRepository
    settings: MatcherSettings
    clock: Clock
    now: Now
    max_per_transaction: int
    """`profiles.changed` events per transaction (RECIPROCAL_PROFILES_PER_TRANSACTION)."""


def bootstrap(ctx: Context) -> Dependencies:
    settings = ctx.settings
    assert isinstance(settings, MatcherSettings)  # ServiceSpec.settings_cls made it
    return Dependencies(
        uow=ctx.uow,
        repo=MatcherRepository(ctx.store.db, overlap_s=settings.pool_refresh_overlap_s,
                               ledger_overlap_s=settings.program_copy_overlap_s,
                               ledger_full_every_s=settings.program_copy_full_every_s),
        settings=settings,
        clock=ctx.clock,
        now=ctx.clock.now,
        max_per_transaction=settings.profiles_per_transaction,
    )
