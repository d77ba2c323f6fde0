"""Deadline policy: data, not code.

A policy is a versioned set of rules such as `verified.default = 24 hours`. Each tip pins the
version in force when it was received, and its deadlines are recomputed from that version
at every transition (the category or urgency may have changed) and stored on the tip, so
the queue can sort and filter by them in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.calendar import WorkingCalendar, add_months
from core.categories import Category
from core.errors import ExtensionRefused, InvalidInput
from core.stages import Stage

#: Stages that carry a deadline (received is reached on arrival).
DEADLINE_STAGES: tuple[Stage, ...] = (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED)

VARIANTS = ("info_request", "urgent", "remote", "default")


class Unit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WORKING_DAYS = "working_days"
    MONTHS = "months"
    PERCENT = "percent"
    COUNT = "count"


@dataclass(frozen=True)
class Rule:
    key: str
    amount: int
    unit: Unit
    note: str = ""


#: Shipped defaults (Criminal Procedure Code 2015 art. 146-147).
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("verified.default", 24, Unit.HOURS, "hand-off to the competent agency, CPC art. 146"),
    Rule("verified.remote", 48, Unit.HOURS, "hand-off from a commune marked remote"),
    Rule("verified.urgent", 2, Unit.HOURS, "urgent: verification starts within 2 hours"),
    Rule("verified.info_request", 1, Unit.WORKING_DAYS, "question read by a counsellor"),
    Rule("classified.default", 72, Unit.HOURS, "category and owner settled"),
    Rule("classified.remote", 96, Unit.HOURS, "category and owner settled, remote commune"),
    Rule("classified.urgent", 12, Unit.HOURS, "urgent: classified the same day"),
    Rule("classified.info_request", 2, Unit.WORKING_DAYS, "question routed"),
    Rule("processed.default", 20, Unit.DAYS, "decision within 20 days, CPC art. 147(1)"),
    Rule("processed.info_request", 3, Unit.WORKING_DAYS, "question answered"),
    Rule("extension.first", 2, Unit.MONTHS, "complex case: up to 2 months from receipt"),
    Rule("extension.second", 2, Unit.MONTHS, "once more, up to 2 months, procuracy approval"),
    Rule("extension.max", 2, Unit.COUNT, "no more than two extensions"),
    Rule("at_risk.threshold", 75, Unit.PERCENT, "a deadline is at risk once 75% of it is used"),
)


@dataclass(frozen=True)
class TipFacts:
    """What the policy needs to know about a tip."""

    received_at: datetime
    category: Category | None
    urgent: bool
    remote: bool


class DeadlinePolicy:
    """One version of the policy table."""

    def __init__(self, version: int, rules: Iterable[Rule]) -> None:
        self.version = version
        self.rules: Mapping[str, Rule] = {r.key: r for r in rules}
        for stage in DEADLINE_STAGES:
            if f"{stage.value}.default" not in self.rules:
                raise InvalidInput(f"deadline policy v{version} has no rule {stage.value}.default")
        for key in ("extension.first", "extension.second", "extension.max", "at_risk.threshold"):
            if key not in self.rules:
                raise InvalidInput(f"deadline policy v{version} has no rule {key}")

    @property
    def at_risk_fraction(self) -> float:
        return self.rules["at_risk.threshold"].amount / 100

    def rule_for(self, stage: Stage, facts: TipFacts) -> Rule:
        """The most specific rule: information request, then urgent, then remote."""
        wanted = {
            "info_request": facts.category is Category.INFO_REQUEST,
            "urgent": facts.urgent,
            "remote": facts.remote,
            "default": True,
        }
        for variant in VARIANTS:
            rule = self.rules.get(f"{stage.value}.{variant}")
            if rule is not None and wanted[variant]:
                return rule
        raise AssertionError("unreachable: the default rule is checked at construction")

    def deadlines(self, facts: TipFacts, calendar: WorkingCalendar) -> dict[Stage, datetime]:
        """Deadline of each stage, counted from receipt."""
        return {
            stage: apply_rule(self.rule_for(stage, facts), facts.received_at, calendar)
            for stage in DEADLINE_STAGES
        }

    def extended_deadline(
        self,
        *,
        received_at: datetime,
        current_due: datetime,
        extensions_so_far: int,
        days: int | None = None,
    ) -> datetime:
        """New decision deadline after one more extension (CPC art. 147(2)).

        The first extension runs to `extension.first` after receipt; the second adds up to
        `extension.second` (the full amount unless `days` asks for less).
        """
        limit = self.rules["extension.max"].amount
        if extensions_so_far >= limit:
            raise ExtensionRefused(f"the deadline was already extended {limit} times, the limit")
        if days is not None and days < 1:
            raise ExtensionRefused("an extension must be at least one day")
        if extensions_so_far == 0:
            new_due = add_months(received_at, self.rules["extension.first"].amount)
            if days is not None:
                new_due = min(new_due, current_due + timedelta(days=days))
        else:
            cap = add_months(current_due, self.rules["extension.second"].amount)
            new_due = cap if days is None else min(cap, current_due + timedelta(days=days))
        if new_due <= current_due:
            raise ExtensionRefused("the extension would not move the deadline later")
        return new_due


def apply_rule(rule: Rule, start: datetime, calendar: WorkingCalendar) -> datetime:
    """`start` plus the rule's amount in its unit."""
    if rule.unit is Unit.HOURS:
        return start + timedelta(hours=rule.amount)
    if rule.unit is Unit.DAYS:
        return start + timedelta(days=rule.amount)
    if rule.unit is Unit.WORKING_DAYS:
        return calendar.add_working_days(start, rule.amount)
    if rule.unit is Unit.MONTHS:
        return add_months(start, rule.amount)
    raise InvalidInput(f"rule {rule.key} has unit {rule.unit.value}, not a duration")


def at_risk_moment(received_at: datetime, due: datetime | None, fraction: float) -> datetime | None:
    """When a deadline turns "at risk": `fraction` of the time from receipt used."""
    if due is None:
        return None
    return received_at + (due - received_at) * fraction


def deadline_state(now: datetime, received_at: datetime, due: datetime, at_risk_fraction: float) -> str:
    """`on_time`, `at_risk` (most of the time used) or `overdue` for an unreached stage."""
    if now > due:
        return "overdue"
    span = (due - received_at).total_seconds()
    used = (now - received_at).total_seconds()
    if span > 0 and used / span >= at_risk_fraction:
        return "at_risk"
    return "on_time"
