"""The KPI per channel (core/channel_kpi.py) in one grouped pass over the period's tips.

The same count expressions as the whole KPI (`storage.kpi_query.count_columns`), grouped
by `channel`, within the officer's jurisdiction; `received_at` bounds the scan through
`ix_tips_received`. See docs/benchmarks.md for its cost.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.categories import Channel
from core.channel_kpi import ChannelKpi, by_channel, channel_kpi
from core.jurisdiction import Jurisdiction
from core.kpi import KpiScope, Period
from storage.kpi_query import cohort, count_columns
from storage.models import TipRow
from storage.scoping import within_where


async def kpi_by_channel(
    session: AsyncSession, period: Period, now: datetime, within: Jurisdiction | None
) -> tuple[ChannelKpi, ...]:
    where = [*cohort(period, KpiScope()), *within_where(within)]
    rows = await session.execute(
        sa.select(TipRow.channel, *count_columns(now)).where(*where).group_by(TipRow.channel)
    )
    found = {}
    for row in rows:
        channel = Channel(row[0])
        found[channel] = channel_kpi(channel, [int(v) for v in row[1:]])
    return by_channel(found)


class SqlChannelKpi:
    """One call with its own transaction, for the pages and the API."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __call__(
        self, period: Period, now: datetime, within: Jurisdiction | None
    ) -> tuple[ChannelKpi, ...]:
        async with self._sessions() as session:
            return await kpi_by_channel(session, period, now, within)
