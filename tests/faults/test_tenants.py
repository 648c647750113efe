"""tenant-c reusing tenant-a's event_id is still a new event for tenant-c: no data, and no
de-duplication, crosses tenants (the processed-event ledger is per tenant)."""

import time
import uuid

from harness import CountingTap, new_org, report
from support import PROGRAM, profile

from reciprocal.wire import Frontend


async def test_another_tenant_reusing_an_event_id_still_takes_effect(stack):
    started = time.monotonic()
    tenant_a, tenant_c = new_org("tenant-a"), new_org("tenant-c")
    program_event = str(uuid.uuid4())
    profile_events = [str(uuid.uuid4()), str(uuid.uuid4())]
    topics = ["profiles.changed", "matches.proposed"]
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, topics) as tap:
        for org in (tenant_a, tenant_c):  # the same event ids, first in tenant-a, then in tenant-c
            people = [profile(org, "ana", offers=["leadership"], wants=["python"]),
                      profile(org, "raj", offers=["python"], wants=["leadership"], department="Marketing")]
            for event_id, person in zip(profile_events, people, strict=True):
                await fe.publish("profiles.submitted", {**person, "event_id": event_id})
            await fe.publish("programs.configured", {"org_id": org, **PROGRAM, "event_id": program_event})
        try:
            await tap.wait_for(lambda t: all(len(t.of("profiles.changed", o)) == 2 and t.of("matches.proposed", o)
                                             for o in (tenant_a, tenant_c)),
                               what="both tenants' profiles and proposals", timeout=30)
        except TimeoutError:
            pass
    counts = {f"{stage}_{o[:8]}": len(tap.of(topic, o)) for o in (tenant_a, tenant_c)
              for stage, topic in (("changed", "profiles.changed"), ("proposed", "matches.proposed"))}
    lost = (2 - counts["changed_tenant-c"]) + (1 - min(counts["proposed_tenant-c"], 1))
    report("cross-tenant-event-id", started, **counts, lost=lost)
    assert counts["changed_tenant-a"] == 2 and counts["proposed_tenant-a"] == 1
    assert counts["changed_tenant-c"] == 2, "tenant-c's profiles were taken for tenant-a's duplicates"
    assert counts["proposed_tenant-c"] == 1, "tenant-c's program was taken for tenant-a's duplicate"
