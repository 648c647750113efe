"""kill -9 of each service in the middle of a burst, then a restart: every submission has all of its
effects (profiles.changed per person, one proposal, acceptance and schedule per pair, three emails
per person) and none happens twice."""

import time

import pytest
from harness import CHAIN_TOPICS, Chain, CountingTap, new_org, pair_people, report, size, totals

from reciprocal.wire import Frontend

SUBMISSIONS = size(50, 500)
SMOKE_SERVICE: str | None = None
"""All four run in `make faults`: each waits about a minute for the database to reap the killed process's
transaction. `make test` keeps two kill -9 tests of its own among the integration tests (the notifier with a
row held by its dead transaction; the profiles service mid-batch)."""


def stage_of(service: str, chain: Chain):
    """When to pull the plug: a third of the way through the stage the service produces."""
    third = max(1, len(chain.pairs) // 3)
    return {
        "profiles": lambda: chain.changed().seen >= 2 * third,
        "matcher": lambda: chain.proposed().seen >= third,
        "scheduler": lambda: chain.scheduled().seen >= third,
        "notifier": lambda: chain.emails().seen >= 3 * third,
    }[service]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("service", [
    pytest.param(s, marks=() if s == SMOKE_SERVICE else pytest.mark.faults_full)
    for s in ("profiles", "matcher", "scheduler", "notifier")
])
async def test_kill_9_mid_burst_loses_and_duplicates_nothing(stack, service):
    started = time.monotonic()
    org = new_org(f"k9{service[:3]}")
    pairs = pair_people(org, SUBMISSIONS // 2)
    budget = 120 + 2.0 * SUBMISSIONS
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, CHAIN_TOPICS) as tap:
        chain = Chain(stack, fe, tap, org, pairs)
        await chain.configure()
        await chain.submit_all()
        await chain.until(stage_of(service, chain), budget, f"a third of the {service} stage")
        at_kill = chain.summary()
        stack.restart_service(service)  # SIGKILL, then a fresh process under the same instance id
        await chain.until(chain.complete, budget, "every effect of every submission")
        await tap.settle("notifications.sent", quiet=3.0)
        stages = chain.stages()
    counts = totals(stages)
    report(f"kill9[{service}]", started, submitted=SUBMISSIONS, **counts, at_kill=f"'{at_kill}'",
           **{f"{k}_dup": c.dup for k, c in stages.items() if c.dup})
    assert counts["lost"] == 0, chain.summary()
    assert counts["dup"] == 0 and counts["unexpected"] == 0, chain.summary()
