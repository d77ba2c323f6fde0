"""The KPI dashboard's chart data for the staff API and pages.

The aggregates themselves — tips per week by category, on-time share per stage, open
tips by age, workload per agency — are `storage.dashboard_query.dashboard`, tuned for a
million tips and scoped with storage/scoping.py like every staff query; this module gives
the web layer one call with its own transaction and audits exports of the numbers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.dashboard import Dashboard
from core.jurisdiction import Jurisdiction
from core.kpi import Period
from storage.dashboard_query import dashboard
from storage.models import AuditRow


class SqlCharts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def dashboard(
        self,
        period: Period,
        now: datetime,
        within: Jurisdiction | None,
        *,
        exported_by: str | None = None,
    ) -> Dashboard:
        """The charts' data of `period` within the jurisdiction; an export is audited."""
        async with self._sessions() as session:
            found = await dashboard(session, period, now, within)
            if exported_by is not None:
                detail = f"dashboard {period.start.isoformat()}..{period.end.isoformat()}"
                session.add(AuditRow(actor=exported_by, action="export", tip_id=None, at=now, detail=detail))
                await session.commit()
        return found
