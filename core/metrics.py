"""What ``destkit serve`` exposes at ``/metrics``, in Prometheus's text format.

Each service has its own registry, so several can live in one process (tests, a router that
mounts two). Every label value comes from a closed set (:class:`Labels`): a value a client
or a remote API chose is counted as ``other``, so no caller can grow ``/metrics`` (and the
memory behind it) by sending new values.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .events import EVENT_TYPES
from .outcome import Outcome, Status

__all__ = ["ServiceMetrics", "Labels", "OTHER", "CONTENT_TYPE_LATEST", "REJECT_REASONS", "DROP_REASONS", "LOOKUP_RESULTS"]

OTHER = "other"

#: why a request to /v1/* was refused
REJECT_REASONS = ("auth", "json", "batch", "size", "slow", "gone", "invalid", "queue_full", "gzip")
#: why an event of an accepted batch was left out
DROP_REASONS = ("unknown_type", "no_user_anon_id", "invalid")
#: how a profile lookup went
LOOKUP_RESULTS = ("found", "unknown", "rejected")

# The error codes destkit itself names; a plugin's own codes share a small bounded allowance.
_ERROR_CODES = (
    "INVALID_EVENT",
    "MAPPING_FAILED",
    "PAYLOAD_VALIDATION_FAILED",
    "INVALID_AUTHENTICATION",
    "RATE_LIMITED",
    "TIMEOUT",
    "RETRYABLE_ERROR",
    "BAD_REQUEST",
    "CONNECTION_ERROR",
    "ANSWER_UNREADABLE",
    "PLUGIN_ERROR",
    "PROFILE_NOT_FOUND",
    "NOT_FOUND",
    "CONFLICT",
    "PAYLOAD_TOO_LARGE",
    "NOT_IMPLEMENTED",
    "STATE_REQUIRED",
    "BATCH_ROW_FAILED",
)


class Labels:
    """A closed set of label values: a known value is itself, anything else ``other``.

    ``spare`` admits that many values beyond the known ones, first come first kept (codes a
    plugin names, which destkit cannot list); the set stays bounded whatever arrives.
    """

    def __init__(self, known: Iterable[str], spare: int = 0) -> None:
        self._known = set(known)
        self._spare = spare

    def __call__(self, value: object) -> str:
        if isinstance(value, str) and value in self._known:
            return value
        if self._spare > 0 and isinstance(value, str) and 0 < len(value) <= 64:
            self._spare -= 1
            self._known.add(value)
            return value
        return OTHER


class ServiceMetrics:
    """The service's counters; ``destinations`` and ``subscriptions`` are the names the config declares."""

    def __init__(self, destinations: Iterable[str] = (), subscriptions: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        self.event_type = Labels(EVENT_TYPES)
        self.reject_reason = Labels(REJECT_REASONS)
        self.drop_reason = Labels(DROP_REASONS)
        self.lookup_result = Labels(LOOKUP_RESULTS)
        self.destination = Labels(["-", *destinations])
        self.subscription = Labels(["-", *subscriptions])
        self.status = Labels(status.value for status in Status)
        self.error_code = Labels(_ERROR_CODES, spare=32)
        self._received = Counter("destkit_events_received", "Events accepted and stored", ["type"], registry=self.registry)
        self._rejected = Counter("destkit_requests_rejected", "Requests refused", ["reason"], registry=self.registry)
        self._dropped = Counter(
            "destkit_events_dropped", "Events of an accepted batch left out, by reason", ["reason"], registry=self.registry
        )
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
        self._lookups = Counter(
            "destkit_profile_lookups", "Profile lookups (/ee/v2/interact) by result", ["result"], registry=self.registry
        )
        self.latency = Histogram(
            "destkit_delivery_seconds",
            "From acceptance to settled outcome",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

    def received(self, event_type: object) -> None:
        self._received.labels(self.event_type(event_type)).inc()

    def rejected(self, reason: str) -> None:
        self._rejected.labels(self.reject_reason(reason)).inc()

    def dropped(self, reason: str) -> None:
        self._dropped.labels(self.drop_reason(reason)).inc()

    def looked_up(self, result: str) -> None:
        self._lookups.labels(self.lookup_result(result)).inc()

    def settled(self, outcomes: list[Outcome], seconds: float) -> None:
        self.latency.observe(seconds)
        for outcome in outcomes:
            destination = self.destination(outcome.destination or "-")
            subscription = self.subscription(outcome.subscription or "-")
            self.outcomes.labels(destination, subscription, self.status(outcome.status.value)).inc()
            if outcome.attempts > 1:
                self.retries.inc(outcome.attempts - 1)
            if outcome.error is not None:
                self.errors.labels(destination, self.error_code(outcome.error.code)).inc()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
