"""Counts the periodic report needs beyond the indicators: tips by category, channel and
stage, and tips and support cases per commune (the province's report sums its communes)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.kpi import Period
from storage.models import AreaRow, TipRow
from storage.support_tables import SupportCaseRow


class SqlReportCounts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def counts(self, period: Period, area: str | None, province: str) -> dict[str, Any]:
        lo, hi = period.bounds()
        T, C = TipRow, SupportCaseRow
        tip_where: list[Any] = [T.received_at >= lo, T.received_at < hi]
        case_where: list[Any] = [C.received_at >= lo, C.received_at < hi]
        if area is None or len(area) == 2:
            tip_where.append(T.province_code == (area or province))
            case_where.append(C.province_code == (area or province))
        else:
            tip_where.append(T.commune_code == area)
            case_where.append(C.commune_code == area)
        async with self._sessions() as s:

            async def grouped(col: Any, where: list[Any], count_col: Any = None) -> list[tuple[str, int]]:
                rows = await s.execute(
                    sa.select(col, sa.func.count())
                    .where(*where)
                    .group_by(col)
                    .order_by(sa.func.count().desc())
                )
                return [(str(k) if k is not None else "", int(n)) for k, n in rows]

            names = dict(
                (code, name)
                for code, name in await s.execute(
                    sa.select(AreaRow.code, AreaRow.name).where(
                        sa.or_(AreaRow.province_code == province, AreaRow.code == province)
                    )
                )
            )
            return {
                "tips_by_category": await grouped(T.category, tip_where),
                "tips_by_channel": await grouped(T.channel, tip_where),
                "tips_by_stage": await grouped(T.stage, tip_where),
                "tips_by_commune": [
                    (names.get(c, c) if c else "", n) for c, n in await grouped(T.commune_code, tip_where)
                ],
                "cases_by_commune": [
                    (names.get(c, c) if c else "", n) for c, n in await grouped(C.commune_code, case_where)
                ],
                "commune_names": names,
            }
