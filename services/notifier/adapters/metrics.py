"""The notifier's own Prometheus gauges, on the service's registry."""

from prometheus_client import CollectorRegistry, Gauge


class DeliveryGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pending = Gauge(
            "notifier_deliveries_pending", "Email and webhook deliveries waiting for their next attempt, due or not.",
            registry=registry,
        )
        self.oldest_due = Gauge(
            "notifier_delivery_backlog_age_seconds",
            "How long the longest-waiting due delivery has waited for a sender (0: none is waiting).",
            registry=registry,
        )

    def show(self, pending: int, oldest_due_s: float) -> None:
        self.pending.set(pending)
        self.oldest_due.set(oldest_due_s)
