"""Officers' triage decisions read back: the share of proposals changed per category (the
staff KPI) and the decisions with their texts (`hotline triage export-corrections`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.jurisdiction import Jurisdiction
from core.triage_feedback import Correction, CorrectionShare
from storage.models import TipRow, TriageDecisionRow
from storage.scoping import within_where


async def correction_shares(
    session: AsyncSession, start: datetime, end: datetime, within: Jurisdiction | None = None
) -> list[CorrectionShare]:
    """Category decisions made in [start, end) on tips within the jurisdiction, per proposed
    category: how many, and how many differ from the proposal."""
    d = TriageDecisionRow
    changed = sa.func.sum(sa.case((d.decided != d.proposed, 1), else_=0))
    rows = await session.execute(
        sa.select(d.proposed, sa.func.count(), changed)
        .join(TipRow, TipRow.id == d.tip_id)
        .where(
            d.field == "category", d.at >= start, d.at < end, d.proposed.is_not(None), *within_where(within)
        )
        .group_by(d.proposed)
        .order_by(d.proposed)
    )
    return [CorrectionShare(str(p), int(n), int(c or 0)) for p, n, c in rows]


Texts = Callable[[Collection[int]], Awaitable[dict[int, tuple[str, datetime]]]]


async def corrections(
    session: AsyncSession, start: datetime, end: datetime, texts: Texts
) -> list[Correction]:
    """Every tip with a category or urgency decision made in [start, end), oldest decision
    first; the latest decision on each field counts. `texts` reads tips' (decrypted) texts."""
    d = TriageDecisionRow
    rows = (
        await session.execute(
            sa.select(d.tip_id, d.field, d.proposed, d.decided, d.at)
            .where(d.field.in_(("category", "urgent")), d.at >= start, d.at < end)
            .order_by(d.at, d.id)
        )
    ).all()
    if not rows:
        return []
    latest: dict[int, dict[str, tuple[str | None, str | None, datetime]]] = {}
    for tip_id, field, proposed, decided, at in rows:
        latest.setdefault(int(tip_id), {})[field] = (proposed, decided, at)
    found = await texts(sorted(latest))
    out = []
    for tip_id, fields in latest.items():
        if tip_id not in found:
            continue
        cat = fields.get("category")
        urg = fields.get("urgent")
        out.append(
            Correction(
                tip_id=tip_id,
                text=found[tip_id][0],
                proposed_category=cat[0] if cat else None,
                proposed_urgent=_flag(urg[0]) if urg else None,
                category=cat[1] if cat else None,
                urgent=_flag(urg[1]) if urg else None,
                decided_at=max(v[2] for v in fields.values()),
            )
        )
    return out


def _flag(value: str | None) -> bool | None:
    return None if value is None else value == "true"
