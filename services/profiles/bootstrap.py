"""The profiles service's dependencies, built once per process."""

from dataclasses import dataclass

from services.profiles.adapters.repository import ProfileRepository
from shared.clock import Clock
from shared.egress import EgressPolicy
from shared.runtime import Context
from shared.store import UnitOfWork


@dataclass(frozen=True)
class Dependencies:
    uow: UnitOfWork
    repo: ProfileRepository
    clock: Clock
    egress: EgressPolicy
    """Where a profile's webhook may point (RECIPROCAL_WEBHOOK_ALLOWED_HOSTS)."""


def bootstrap(ctx: Context) -> Dependencies:
    return Dependencies(uow=ctx.uow, repo=ProfileRepository(ctx.store.db), clock=ctx.clock,
                        egress=ctx.settings.egress)
