"""Prometheus metrics, one registry per application (tests build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


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
