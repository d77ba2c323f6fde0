"""Writing an imported register (core/tip_import.py) in the caller's transaction: the tips
already at the stage they reached, their history, their registration rows, the weekly
counts and, for tips already closed, the KPI rollups. Multi-row statements, a chunk of rows
each, so 100,000 rows take seconds rather than minutes (docs/benchmarks.md, "Import")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.kpi import whole_seconds
from core.notifications import NotificationRepository
from core.routing import notified_agencies
from core.stages import Stage
from core.text import fold
from core.tip_import import ImportedTip
from core.tips import creation_record
from storage.dashboard_query import add_closed_tips, add_weeks, week_totals
from storage.models import TipRegistrationRow, TipRow, TransitionRow
from storage.registrations import SqlRegistrationRepository

CHUNK = 1000


def _tip_row(item: ImportedTip) -> dict[str, Any]:
    tip, draft = item.tip, item.tip.draft
    reached = item.reached
    last = max(reached.values())
    if item.moves:
        last = max(last, item.moves[-1][2])
    row: dict[str, Any] = {
        "receipt_code": tip.receipt_code,
        "text": draft.text,
        "channel": draft.channel.value,
        "category": draft.category.value if draft.category else None,
        "urgent": False,
        "language": None,
        "place": draft.place,
        "occurred_at": None,
        "province_code": tip.province_code,
        "commune_code": draft.commune_code,
        "remote": tip.remote,
        "agency_code": tip.agency_code,
        "stage": item.stage.value,
        "received_at": tip.received_at,
        "verified_due_at": tip.due[Stage.VERIFIED],
        "classified_due_at": tip.due[Stage.CLASSIFIED],
        "processed_due_at": tip.due[Stage.PROCESSED],
        "next_due_at": item.next_due_at,
        "at_risk_at": item.at_risk_at,
        "extensions": 0,
        "policy_version": tip.policy_version,
        "version": 1,
        "updated_at": last,
        "passphrase_hash": None,
        "triage": None,
        "search_text": fold(draft.text),
    }
    for stage in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED):
        at = reached.get(stage)
        row[f"{stage.value}_at"] = at
        row[f"{stage.value}_secs"] = None if at is None else whole_seconds(tip.received_at, at)
    return row


def _history(item: ImportedTip, tip_id: int, actor: str, entered_at: datetime) -> list[dict[str, Any]]:
    first = creation_record(item.tip, tip_id)
    rows = [
        {
            "tip_id": tip_id,
            "action": first.action,
            "from_stage": None,
            "to_stage": first.to_stage.value,
            "actor": first.actor,
            "at": first.at,
            "reason": "",
            "to_agency": None,
            "details": {},
        }
    ]
    for source, target, at in item.moves:
        rows.append(
            {
                "tip_id": tip_id,
                "action": "transition",
                "from_stage": source.value,
                "to_stage": target.value,
                "actor": actor,
                "at": at,
                "reason": "imported from the unit's register",
                "to_agency": None,
                "details": {},
            }
        )
    rows.append(
        {
            "tip_id": tip_id,
            "action": "import",
            "from_stage": None,
            "to_stage": item.stage.value,
            "actor": actor,
            "at": entered_at,
            "reason": "",
            "to_agency": None,
            "details": {"external_ref": item.row.external_ref},
        }
    )
    return rows


class SqlImportWriter:
    def __init__(
        self,
        session: AsyncSession,
        registrations: SqlRegistrationRepository,
        notifications: NotificationRepository,
    ) -> None:
        self.session = session
        self._registrations = registrations
        self._notifications = notifications

    async def known_refs(self, unit: str, refs: Sequence[str]) -> set[str]:
        return await self._registrations.known_refs(unit, refs)

    async def import_tips(
        self,
        tips: Sequence[ImportedTip],
        *,
        unit: str,
        actor: str,
        entered_at: datetime,
    ) -> list[int]:
        """Insert everything; the new ids, in the order given."""
        ids: list[int] = []
        for start in range(0, len(tips), CHUNK):
            chunk = tips[start : start + CHUNK]
            result = await self.session.execute(
                sa.insert(TipRow).returning(TipRow.id, sort_by_parameter_order=True),
                [_tip_row(item) for item in chunk],
            )
            chunk_ids = [int(i) for i in result.scalars()]
            history = [
                row
                for item, tip_id in zip(chunk, chunk_ids, strict=True)
                for row in _history(item, tip_id, actor, entered_at)
            ]
            await self.session.execute(sa.insert(TransitionRow), history)
            await self.session.execute(
                sa.insert(TipRegistrationRow),
                [
                    {
                        "tip_id": tip_id,
                        "unit": unit,
                        "registered_by": actor,
                        "entered_at": entered_at,
                        "late_reason": None,
                        "forwarded_by": item.row.forwarded_by,
                        "external_ref": item.row.external_ref,
                    }
                    for item, tip_id in zip(chunk, chunk_ids, strict=True)
                ],
            )
            ids += chunk_ids
        weeks = week_totals(
            (
                t.tip.received_at,
                t.tip.province_code,
                t.tip.agency_code,
                t.tip.draft.commune_code,
                t.tip.draft.category.value if t.tip.draft.category else None,
                1,
            )
            for t in tips
        )
        for start in range(0, len(weeks), CHUNK):
            await add_weeks(self.session, weeks[start : start + CHUNK])
        await add_closed_tips(self.session, [i for t, i in zip(tips, ids, strict=True) if t.closed])
        # Health learns of open trafficking and minor tips, as on intake (closed ones are history).
        for t, tip_id in zip(tips, ids, strict=True):
            category = t.tip.draft.category
            if t.closed or category is None:
                continue
            for agency in notified_agencies(category, t.tip.province_code):
                await self._notifications.add(tip_id, agency, f"category:{category.value}", entered_at)
        return ids
