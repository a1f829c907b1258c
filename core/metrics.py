"""What ``destkit serve`` exposes at ``/metrics``, in Prometheus's text format.

Each service has its own registry, so several can live in one process (tests, a router that
mounts two).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .outcome import Outcome

__all__ = ["ServiceMetrics", "CONTENT_TYPE_LATEST"]


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter("destkit_events_received", "Events accepted and stored", ["type"], registry=self.registry)
        self.rejected = Counter("destkit_requests_rejected", "Requests refused", ["reason"], registry=self.registry)
        self.outcomes = Counter(
            "destkit_outcomes", "Settled outcomes", ["destination", "subscription", "status"], registry=self.registry
        )
        self.errors = Counter("destkit_errors", "Errors by code", ["destination", "code"], registry=self.registry)
        self.retries = Counter("destkit_retries", "Attempts beyond the first", registry=self.registry)
        self.queue_depth = Gauge("destkit_queue_depth", "Events accepted and not yet settled", registry=self.registry)
        self.parked = Gauge("destkit_parked", "Deliveries parked for a later attempt", registry=self.registry)
        self.suspended = Gauge(
            "destkit_destination_suspended",
            "1 while nothing is sent to the destination, its credentials refused again and again",
            ["destination"],
            registry=self.registry,
        )
        self.lookups = Counter(
            "destkit_profile_lookups", "Profile lookups (/ee/v2/interact) by result", ["result"], registry=self.registry
        )
        self.latency = Histogram(
            "destkit_delivery_seconds",
            "From acceptance to settled outcome",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

    def settled(self, outcomes: list[Outcome], seconds: float) -> None:
        self.latency.observe(seconds)
        for outcome in outcomes:
            destination = outcome.destination or "-"
            self.outcomes.labels(destination, outcome.subscription or "-", outcome.status.value).inc()
            if outcome.attempts > 1:
                self.retries.inc(outcome.attempts - 1)
            if outcome.error is not None:
                self.errors.labels(destination, outcome.error.code).inc()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
