"""Reach of the prevention news: per audience and period, the distinct
subscribers who received at least one campaign item, against the population an
administrator entered and the plan's target.

A subscriber who left later still counts for the period in which they received an item:
reach measures who was reached, not who is subscribed today.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Protocol

from core.chat.ports import AUDIENCES
from core.errors import InvalidInput
from core.kpi import Period
from core.officers import Officer, Role

MAX_POPULATION = 200_000_000


@dataclass(frozen=True)
class Target:
    """The plan's share to reach; `lower` < `upper` when the plan gives a range."""

    lower: float
    upper: float
    source: str


@cache
def targets() -> dict[str, Target]:
    """The plan's targets per audience (`core/data/reach_targets.json`)."""
    raw = json.loads(resources.files("core").joinpath("data/reach_targets.json").read_text(encoding="utf-8"))
    return {
        audience: Target(float(t["lower"]), float(t["upper"]), str(t["source"]))
        for audience, t in raw.items()
        if not audience.startswith("_")
    }


class Status(StrEnum):
    MET = "met"  # at or above the upper end
    WITHIN = "within"  # inside the plan's range (ranges only)
    BELOW = "below"
    NO_TARGET = "no_target"
    NO_POPULATION = "no_population"


@dataclass(frozen=True)
class Population:
    audience: str
    area_code: str
    population: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class ReachLine:
    audience: str
    area_code: str | None
    reached: int
    population: int | None
    target: Target | None

    @property
    def share(self) -> float | None:
        return self.reached / self.population if self.population else None

    @property
    def status(self) -> Status:
        if self.target is None:
            return Status.NO_TARGET
        share = self.share
        if share is None:
            return Status.NO_POPULATION
        if share >= self.target.upper:
            return Status.MET
        if share >= self.target.lower:
            return Status.WITHIN
        return Status.BELOW

    def to_dict(self) -> dict[str, object]:
        share = self.share
        return {
            "audience": self.audience,
            "area_code": self.area_code,
            "reached": self.reached,
            "population": self.population,
            "share": round(share, 4) if share is not None else None,
            "target_lower": self.target.lower if self.target else None,
            "target_upper": self.target.upper if self.target else None,
            "status": self.status.value,
        }


@dataclass(frozen=True)
class ReachReport:
    period: Period
    area_code: str | None
    lines: tuple[ReachLine, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "area_code": self.area_code,
            "audiences": [line.to_dict() for line in self.lines],
        }


class ReachRepository(Protocol):
    async def reached(self, start: datetime, end: datetime, area_code: str | None) -> dict[str, int]:
        """Distinct subscribers with at least one item sent in [start, end), by audience."""
        ...

    async def populations(self) -> Sequence[Population]: ...

    async def set_population(
        self, audience: str, area_code: str, population: int, *, by: str, at: datetime
    ) -> None:
        """Insert or replace the denominator of (audience, area)."""
        ...


def area_for(officer: Officer) -> str | None:
    """The area whose reach an officer sees: administrators and provincial staff the whole
    province (None), a commune's supervisor their commune only."""
    return officer.area_code if officer.role is not Role.ADMIN and len(officer.area_code) == 5 else None


def check_population(audience: str, population: int) -> None:
    if audience not in AUDIENCES:
        raise InvalidInput(f"unknown audience {audience!r}; one of {', '.join(AUDIENCES)}")
    if not 0 < population <= MAX_POPULATION:
        raise InvalidInput("the population must be a positive whole number")


def build_report(
    period: Period, area_code: str | None, reached: dict[str, int], populations: Sequence[Population]
) -> ReachReport:
    """One line per audience; the population is the one entered for exactly this area."""
    denominators = {p.audience: p.population for p in populations if p.area_code == area_code}
    plan = targets()
    lines = tuple(
        ReachLine(a, area_code, reached.get(a, 0), denominators.get(a), plan.get(a)) for a in AUDIENCES
    )
    return ReachReport(period, area_code, lines)


class ReachService:
    """Reach reports and denominators; the whole province is the deployment's own."""

    def __init__(self, repo: ReachRepository, *, province_code: str, clock: Callable[[], datetime]) -> None:
        self.repo = repo
        self.province_code = province_code
        self._clock = clock

    async def report(self, period: Period, area_code: str | None = None) -> ReachReport:
        area = area_code or self.province_code
        start, end = period.bounds()
        reached = await self.repo.reached(start, end, None if area == self.province_code else area)
        return build_report(period, area, reached, await self.repo.populations())

    async def set_population(
        self, audience: str, population: int, *, area_code: str | None = None, by: str
    ) -> None:
        check_population(audience, population)
        await self.repo.set_population(
            audience, area_code or self.province_code, population, by=by, at=self._clock()
        )

    async def populations(self) -> Sequence[Population]:
        return await self.repo.populations()
