"""The matcher's handler table, bound as the runtime binds it: `profiles.changed` is consumed in batches,
split into transactions of at most `profiles_per_transaction` events."""

from types import SimpleNamespace
from unittest.mock import MagicMock

from support import profile

from services.matcher.app import SPEC
from services.matcher.bootstrap import bootstrap
from services.matcher.settings import MatcherSettings
from shared.bootstrap import bind_handlers
from shared.clock import Clock
from shared.contract import ProfileChanged
from shared.messaging import Batched


class RecordingUow:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def run_batch(self, causes, work) -> None:
        self.batches.append([c.person_id for c in causes])


async def test_profiles_changed_is_batched_in_transactions_of_the_configured_size():
    uow = RecordingUow()
    ctx = SimpleNamespace(store=SimpleNamespace(db=MagicMock()), uow=uow, clock=Clock(),
                          settings=MatcherSettings(profiles_per_transaction=2))
    handler = bind_handlers(SPEC.handlers, bootstrap(ctx))[ProfileChanged]
    assert isinstance(handler, Batched)
    events = [ProfileChanged(**profile("acme", f"p{i}", offers=["sql"], wants=["go"]), version=1) for i in range(5)]
    await handler.handle(events)
    assert uow.batches == [["p0", "p1"], ["p2", "p3"], ["p4"]]
