"""Prometheus metrics, one registry per application (tests build many apps)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.intake import TipIntake


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "hotline_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hotline_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            registry=self.registry,
        )
        self.tips_received = Counter(
            "hotline_tips_received", "Tips stored, by channel", ["channel"], registry=self.registry
        )
        self.transitions = Counter(
            "hotline_tip_transitions",
            "Stage changes, by target stage",
            ["to"],
            registry=self.registry,
        )

    def watch_intake(self, intake: TipIntake) -> None:
        """Report the intake writer and the triage helper (read when scraped)."""
        self.registry.register(IntakeCollector(intake))


class IntakeCollector(Collector):
    """The intake writer's batching and the triage helper's health, read from their own
    counters at scrape time, so the hot path keeps no second set of books. A helper that is
    not ready, or whose misses grow, means triage is running on the event loop: slower
    intake under a burst (docs/web-intake.md)."""

    def __init__(self, intake: TipIntake) -> None:
        self._intake = intake

    def collect(self) -> Iterator[Metric]:
        writer = self._intake.writer
        yield CounterMetricFamily(
            "hotline_intake_batches", "Transactions committed by the intake writer", value=writer.batches
        )
        yield CounterMetricFamily(
            "hotline_intake_tips", "Tips committed by the intake writer", value=writer.items
        )
        analyser = self._intake.analyser
        if analyser is None:
            return
        yield GaugeMetricFamily(
            "hotline_triage_helper_ready", "1 when the triage helper reads texts", value=int(analyser.ready)
        )
        batches = CounterMetricFamily(
            "hotline_triage_helper_batches", "Batches the triage helper read or missed", labels=["outcome"]
        )
        batches.add_metric(["answered"], analyser.answered)
        batches.add_metric(["missed"], analyser.missed)
        yield batches
