"""A second replica joins the profiles group mid-burst and is killed mid-burst: every submitted
version is applied once and in order, and profiles.changed carries each person's versions in order."""

import itertools
import time
from collections import defaultdict

import pytest
from harness import CountingTap, new_org, report, size
from support import profile

from reciprocal.wire import Frontend

PEOPLE = size(8, 40)
VERSIONS = size(6, 25)


@pytest.mark.faults_full
@pytest.mark.timeout(900)
async def test_a_replica_joining_and_leaving_mid_burst_keeps_every_key_in_order(stack):
    started = time.monotonic()
    org = new_org("replica")
    people = [f"r{i:03d}" for i in range(PEOPLE)]
    total = PEOPLE * VERSIONS
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, ["profiles.changed"]) as tap:
        for v in range(1, VERSIONS + 1):
            for pid in people:
                await fe.publish("profiles.submitted", profile(org, pid, offers=["sql"], wants=["excel"],
                                                               display_name=f"{pid} v{v}"))

        def applied() -> int:
            return len({e["event_id"] for e in tap.of("profiles.changed", org)})

        try:
            await tap.wait_for(lambda t: applied() >= total // 4, what="a quarter", timeout=300)
            stack.start_service("profiles", instance="profiles-b")  # joins the group: a rebalance
            stack.wait_ready(("profiles-b",))
            await tap.wait_for(lambda t: applied() >= 2 * total // 3, what="two thirds", timeout=300)
            # Killed, not stopped: on Tansu, members leaving a group back to back can leave a ghost member.
            stack.stop_service("profiles-b", kill=True)
            await tap.wait_for(lambda t: applied() >= total, what="every version", timeout=300 + total)
            await tap.settle("profiles.changed", quiet=3.0)
        finally:
            if "profiles-b" in stack.procs:
                stack.stop_service("profiles-b", kill=True)

    by_person: dict[str, list[dict]] = defaultdict(list)
    seen: set[str] = set()
    for e in tap.of("profiles.changed", org):  # topic order, which is partition order for one key
        if e["event_id"] not in seen:
            seen.add(e["event_id"])
            by_person[e["person_id"]].append(e)
    lost = dup = out_of_order = misapplied = 0
    for pid in people:
        versions = [e["version"] for e in by_person[pid]]
        lost += len(set(range(1, VERSIONS + 1)) - set(versions))
        dup += len(versions) - len(set(versions))
        out_of_order += sum(1 for x, y in itertools.pairwise(versions) if y <= x)
        misapplied += sum(1 for e in by_person[pid] if e["display_name"] != f"{pid} v{e['version']}")
    report("replica-join-leave[profiles]", started, submitted=total, changed=len(seen), lost=lost, dup=dup,
           out_of_order=out_of_order, misapplied=misapplied)
    assert (lost, dup, out_of_order, misapplied) == (0, 0, 0, 0)
