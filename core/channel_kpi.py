"""The KPI split by the channel a tip came in on, every channel included (web, bots and
those officers register), so the on-time target measures every tip a unit received.

Each channel's figures are the KPI's own arithmetic (core/kpi.py) over that channel's tips:
the channels' counts add up to the whole KPI's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.categories import Channel
from core.kpi import StageKpi
from core.stages import Stage


@dataclass(frozen=True)
class ChannelKpi:
    channel: Channel
    received: int
    open: int
    overdue: int
    #: Verified, classified, processed (medians are the whole KPI's business: None here).
    stages: tuple[StageKpi, ...]

    def stage(self, stage: Stage) -> StageKpi:
        return next(s for s in self.stages if s.stage is stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel.value,
            "received": self.received,
            "open": self.open,
            "overdue": self.overdue,
            "stages": [
                {
                    "stage": s.stage.value,
                    "on_time": s.on_time,
                    "late": s.late,
                    "open_within_time": s.open_within_time,
                    "overdue": s.overdue,
                    "not_applicable": s.not_applicable,
                    "on_time_share": None if s.on_time_share is None else round(s.on_time_share, 4),
                }
                for s in self.stages
            ],
        }


def by_channel(found: dict[Channel, ChannelKpi]) -> tuple[ChannelKpi, ...]:
    """Every channel in the order of `Channel`, with zeros where no tip came in."""
    empty = tuple(
        StageKpi(s, 0, 0, 0, 0, 0, None) for s in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED)
    )
    return tuple(found.get(c, ChannelKpi(c, 0, 0, 0, empty)) for c in Channel)


def channel_kpi(channel: Channel, counts: Sequence[int]) -> ChannelKpi:
    """From `storage.kpi_query.count_columns`' counts in their order: received; per stage
    on time, late, open within time, overdue, not applicable; open, at risk, overdue."""
    stages = []
    for i, stage in enumerate((Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED)):
        on_time, late, open_, overdue, na = counts[1 + 5 * i : 6 + 5 * i]
        stages.append(StageKpi(stage, on_time, late, open_, overdue, na, None))
    base = 1 + 5 * len(stages)
    return ChannelKpi(channel, counts[0], counts[base], counts[base + 2], tuple(stages))
