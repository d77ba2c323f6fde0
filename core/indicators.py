"""Plan indicators: shares with a numerator, a denominator and a target per deployment.

Indicators come from sources registered in an `IndicatorRegistry`: each source is one
async function that counts its indicators for a period and a scope in one go (one query
set), so a new area of the plan adds a source without touching the command or the page.
Targets are data (`indicator_targets`), with the provincial plans' figures as defaults.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import InvalidInput
from core.kpi import Period


class Direction(StrEnum):
    AT_LEAST = "at_least"  # met when value >= target
    AT_MOST = "at_most"  # met when value <= target


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NO_DATA = "no_data"  # nothing to count (denominator 0)


@dataclass(frozen=True)
class Spec:
    name: str
    #: English words; pages translate them, the CLI prints them.
    label: str
    direction: Direction
    default_target: float


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str
    value: float | None
    numerator: int
    denominator: int
    target: float
    direction: Direction
    status: Status

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": None if self.value is None else round(self.value, 4),
            "numerator": self.numerator,
            "denominator": self.denominator,
            "target": self.target,
            "direction": self.direction.value,
            "status": self.status.value,
        }


def evaluate(spec: Spec, ratio: Ratio, target: float) -> Indicator:
    """The share and whether it meets the target; no denominator is "no data", never 0 %."""
    if ratio.denominator <= 0:
        value, status = None, Status.NO_DATA
    else:
        value = ratio.numerator / ratio.denominator
        met = value >= target - 1e-9 if spec.direction is Direction.AT_LEAST else value <= target + 1e-9
        status = Status.MET if met else Status.NOT_MET
    return Indicator(
        spec.name, spec.label, value, ratio.numerator, ratio.denominator, target, spec.direction, status
    )


#: Counts a source's indicators for a period within a scope (an area code, None: all).
Source = Callable[[Period, str | None], Awaitable[Mapping[str, Ratio]]]
#: The deployment's targets as set so far: name → target, for an area code (None: province).
Targets = Callable[[str | None], Awaitable[Mapping[str, float]]]


class IndicatorRegistry:
    def __init__(self) -> None:
        self.specs: dict[str, Spec] = {}
        self._sources: list[tuple[tuple[str, ...], Source]] = []

    def add(self, specs: Sequence[Spec], source: Source) -> None:
        for spec in specs:
            if spec.name in self.specs:
                raise ValueError(f"indicator {spec.name} registered twice")
            self.specs[spec.name] = spec
        self._sources.append((tuple(s.name for s in specs), source))

    def spec(self, name: str) -> Spec:
        if name not in self.specs:
            raise InvalidInput(f"unknown indicator {name!r}; known: {', '.join(self.specs)}")
        return self.specs[name]

    async def compute(self, period: Period, area: str | None, targets: Targets) -> list[Indicator]:
        """Every registered indicator, in registration order, against the targets set for
        the area (a commune's own target, else the province's, else the default)."""
        set_targets = await targets(area)
        out = []
        for names, source in self._sources:
            ratios = await source(period, area)
            for name in names:
                spec = self.specs[name]
                target = set_targets.get(name, spec.default_target)
                out.append(evaluate(spec, ratios.get(name, Ratio(0, 0)), target))
        return out


def check_target(spec: Spec, target: float) -> float:
    if not 0 <= target <= 1:
        raise InvalidInput("a target is a share between 0 and 1 (0.95 for 95 %)")
    return target


# --- sources beyond the register: the tips' KPI per stage and the reach per audience ---------

#: Tips handled within their deadline, per stage, with the deployment's default targets
#: (`core/data/indicator_targets.json`; `hotline indicators targets set` changes them).
TIP_STAGES = ("received", "verified", "classified", "processed")
TIP_LABELS = {
    "received": "Tips acknowledged on time",
    "verified": "Tips verified on time",
    "classified": "Tips classified on time",
    "processed": "Tips processed on time",
}
REACH_LABELS = {
    "student": "Students reached with prevention news",
    "worker": "Workers reached with prevention news",
    "service_worker": "Service workers reached with prevention news",
}


def default_targets() -> dict[str, float]:
    """The defaults kept as data, name → share (`core/data/indicator_targets.json`)."""
    import json
    from importlib import resources

    raw = json.loads(
        resources.files("core").joinpath("data/indicator_targets.json").read_text(encoding="utf-8")
    )
    return {name: float(t["target"]) for name, t in raw.items() if not name.startswith("_")}


def tip_kpi_specs() -> tuple[Spec, ...]:
    targets = default_targets()
    return tuple(
        Spec(f"tips_{s}_on_time", TIP_LABELS[s], Direction.AT_LEAST, targets[f"tips_{s}_on_time"])
        for s in TIP_STAGES
    )


def tip_kpi_source(kpi: Callable[[Period, str | None], Awaitable[Any]]) -> Source:
    """The KPI's on-time counts as ratios: on time / (on time + late + overdue), per stage,
    from the same KPI report the KPI page and `hotline kpi` show."""

    async def source(period: Period, area: str | None) -> Mapping[str, Ratio]:
        report = await kpi(period, area)
        out = {}
        for stage in report.stages:
            name = f"tips_{stage.stage.value}_on_time"
            out[name] = Ratio(stage.on_time, stage.on_time + stage.late + stage.overdue)
        return out

    return source


def reach_specs() -> tuple[Spec, ...]:
    """One indicator per audience the plans give a target for (`core/data/reach_targets.json`:
    met at the range's upper end, as on the reach table)."""
    from core.reach import targets

    return tuple(
        Spec(f"reach_{audience}", REACH_LABELS.get(audience, audience), Direction.AT_LEAST, t.upper)
        for audience, t in targets().items()
    )


def reach_source(report: Callable[[Period, str | None], Awaitable[Any]]) -> Source:
    """Distinct subscribers of the audience reached in the period / its population."""

    async def source(period: Period, area: str | None) -> Mapping[str, Ratio]:
        found = await report(period, area)
        return {f"reach_{line.audience}": Ratio(line.reached, line.population or 0) for line in found.lines}

    return source
