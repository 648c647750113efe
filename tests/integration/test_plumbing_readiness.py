"""/readyz and /metrics of the real runtime: a stuck outbox relay turns readiness red, and it turns
green again once the backlog is published."""

import asyncio
from datetime import UTC, datetime, timedelta

from plumbing_probe import Probe, eventually

from shared.outbox import RELAY_LEASE
from shared.store import LEASES, OUTBOX


async def test_a_stuck_relay_turns_readyz_red_until_its_backlog_is_published(infrastructure):
    probe = Probe(infrastructure)
    await probe.create_topics()
    async with probe.running(outbox_lag_ready_s=5, outbox_lease_s=0.6) as (app, http):
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["outbox"] is True

        # Another replica holds the relay lease and has stopped relaying: nothing is published. (This
        # relay learns it at its next renewal, a third of its lease after the last; the row comes later.)
        db = app.state.ctx.store.db
        await db[LEASES].update_one({"_id": RELAY_LEASE}, {"$set": {
            "owner": "a-stuck-replica", "expires_at": datetime.now(UTC) + timedelta(minutes=5)}}, upsert=True)
        await asyncio.sleep(0.3)
        await db[OUTBOX].insert_one({
            "event_id": "e1", "topic": probe.topic, "key": "k", "value": probe.event("k"), "correlation_id": None,
            "created_at": datetime.now(UTC) - timedelta(seconds=30), "published": False})
        app.state.ctx.relay.kick()
        stuck = await http.get("/readyz")
        assert stuck.status_code == 503
        assert stuck.json() == {"ready": False, "broker": True, "database": True, "outbox": False}
        metrics = (await http.get("/metrics")).text
        assert "reciprocal_outbox_pending 1.0" in metrics
        lag = next(line for line in metrics.splitlines() if line.startswith("reciprocal_outbox_lag_seconds "))
        assert float(lag.split()[1]) >= 30

        await db[LEASES].update_one({"_id": RELAY_LEASE}, {"$set": {"expires_at": datetime.now(UTC)}})
        app.state.ctx.relay.kick()

        async def green() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await eventually(green, what="/readyz to turn green once the relay took over")
        assert "reciprocal_outbox_pending 0.0" in (await http.get("/metrics")).text


async def test_metrics_time_each_handler_and_its_transaction_per_topic(infrastructure):
    probe = Probe(infrastructure)
    await probe.create_topics()
    async with probe.running() as (app, http):
        await probe.publish((b"a", probe.event("a")), (b"b", probe.event("b")))

        async def both() -> bool:
            return await probe.effects(app) == ["a", "b"]

        await eventually(both, what="both messages handled")
        samples = {line.split()[0]: float(line.split()[1]) for line in (await http.get("/metrics")).text.splitlines()
                   if line and not line.startswith("#")}
    label = f'{{topic="{probe.topic}"}}'
    assert samples[f"reciprocal_handler_seconds_count{label}"] == 2
    assert samples[f"reciprocal_db_seconds_count{label}"] == 2
    assert 0 < samples[f"reciprocal_db_seconds_sum{label}"] <= samples[f"reciprocal_handler_seconds_sum{label}"]
