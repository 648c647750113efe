"""The plumbing's own Prometheus metrics, registered once per service in its registry."""

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# From 1 ms to 10 s: a hop on the embedded stack is a few ms, a slow transaction retries for seconds.
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class PlumbingMetrics:
    outbox_lag_seconds: Gauge
    outbox_pending: Gauge
    outbox_dead_lettered: Counter
    outbox_flush_failures: Counter
    dead_lettered: Counter
    dead_letters_repeated: Counter
    handler_seconds: Histogram
    db_seconds: Histogram


def plumbing_metrics(registry: CollectorRegistry | None = None) -> PlumbingMetrics:
    registry = registry if registry is not None else CollectorRegistry()
    return PlumbingMetrics(
        outbox_lag_seconds=Gauge(
            "reciprocal_outbox_lag_seconds", "Age of the oldest outbox row not yet published.", registry=registry
        ),
        outbox_pending=Gauge("reciprocal_outbox_pending", "Outbox rows not yet published.", registry=registry),
        outbox_dead_lettered=Counter(
            "reciprocal_outbox_dead_lettered", "Outgoing events moved to outbox_dead: they can never be published.",
            ["topic", "reason"], registry=registry,
        ),
        outbox_flush_failures=Counter(
            "reciprocal_outbox_flush_failures", "Relay passes that failed and will be retried.", registry=registry
        ),
        dead_lettered=Counter(
            "reciprocal_dead_lettered", "Consumed messages published to <topic>.dlq.", ["topic", "reason"],
            registry=registry,
        ),
        dead_letters_repeated=Counter(
            "reciprocal_dead_letters_repeated",
            "Consumed messages that failed again after this service had dead-lettered them (not published again).",
            ["topic", "reason"], registry=registry,
        ),
        handler_seconds=Histogram(
            "reciprocal_handler_seconds", "One attempt of a consumer handler: parse, validate, handle.", ["topic"],
            buckets=SECONDS, registry=registry,
        ),
        db_seconds=Histogram(
            "reciprocal_db_seconds", "The unit of work's transaction (ledger, state, outbox, commit, retries).",
            ["topic"], buckets=SECONDS, registry=registry,
        ),
    )
