"""Writing an imported register (core/tip_import.py) in the caller's transaction: the tips
already at the stage they reached, their history, their registration rows, the weekly
counts and, for tips already closed, the KPI rollups. Multi-row statements, a chunk of rows
each, so 100,000 rows take seconds rather than minutes (docs/benchmarks.md, "Import")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.kpi import whole_seconds
from core.notifications import NotificationRepository
from core.routing import notified_agencies
from core.stages import Stage
from core.tip_import import ImportedTip
from core.tips import creation_record
from storage import token_rows
from storage.dashboard_query import add_closed_tips, add_weeks, week_totals
from storage.models import TipKeyRow, TipRegistrationRow, TipRow, TipTokenRow, TransitionRow
from storage.new_tips import _json, _sqlite_rows, _sqlite_values, _typed, _unnest
from storage.registrations import SqlRegistrationRepository
from storage.sealed import SealedTip, TipCipher

CHUNK = 5000
_TIPS = cast(sa.Table, TipRow.__table__)
_HISTORY = cast(sa.Table, TransitionRow.__table__)
_REGISTRATIONS = cast(sa.Table, TipRegistrationRow.__table__)
_KEYS = cast(sa.Table, TipKeyRow.__table__)
_TOKENS = cast(sa.Table, TipTokenRow.__table__)
#: Ciphertext columns of the tables written here (hexadecimal in SQLite's JSON rows).
_BLOBS = ("text", "place", "wrapped_key")


def _tip_row(item: ImportedTip, sealed: SealedTip) -> dict[str, Any]:
    tip, draft = item.tip, item.tip.draft
    reached = item.reached
    last = max(reached.values())
    if item.moves:
        last = max(last, item.moves[-1][2])
    row: dict[str, Any] = {
        "receipt_code": tip.receipt_code,
        "text": sealed.text,
        "channel": draft.channel.value,
        "category": draft.category.value if draft.category else None,
        "urgent": False,
        "language": None,
        "place": sealed.place,
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
    }
    for stage in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED):
        at = reached.get(stage)
        row[f"{stage.value}_at"] = at
        row[f"{stage.value}_secs"] = None if at is None else whole_seconds(tip.received_at, at)
    return row


def _history(item: ImportedTip, tip_id: int, actor: str, entered_at: datetime) -> list[dict[str, Any]]:
    """Two lines: received (on its channel, at its time), and imported (by whom, when, to
    which stage, with the register's reference and the time of each stage reached)."""
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
            # The stages reached and when (also on the tip itself), in one line.
            "details": {
                "external_ref": item.row.external_ref,
                **{target.value: at.isoformat() for _, target, at in item.moves},
            },
        }
    )
    return rows


def _bulk_statement(table: sa.Table, columns: Sequence[str], returning: str, dialect: str) -> sa.TextClause:
    """One INSERT of many rows whose text does not depend on their number: PostgreSQL takes
    one array per column (`unnest`), SQLite one JSON array of rows (`json_each`), as the
    intake writer does (storage/new_tips.py)."""
    names = ", ".join(columns)
    tail = f" RETURNING {returning}" if returning else ""
    if dialect == "postgresql":
        source = _unnest(_typed(table, columns), "p_", "r")
        return sa.text(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {source}{tail}")  # noqa: S608
    order = " ORDER BY key" if returning else ""
    return sa.text(
        f"INSERT INTO {table.name} ({names}) SELECT {_sqlite_values(columns, _BLOBS)} FROM json_each(:rows)"  # noqa: S608
        f"{order}{tail}"
    )


async def _bulk_insert(
    session: AsyncSession,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    json_columns: Sequence[str] = (),
    returning: str = "",
) -> list[Any]:
    if not rows:
        return []
    columns = list(rows[0])
    dialect = session.get_bind().dialect.name
    statement = _bulk_statement(table, columns, returning, dialect)
    params: dict[str, Any]
    if dialect == "postgresql":
        params = {
            f"p_{name}": [_json(r[name]) if name in json_columns else r[name] for r in rows]
            for name in columns
        }
    else:
        params = {"rows": _sqlite_rows(rows, columns, json_columns)}
    result = await session.execute(statement, params)
    return list(result.all()) if returning else []


class SqlImportWriter:
    def __init__(
        self,
        session: AsyncSession,
        registrations: SqlRegistrationRepository,
        notifications: NotificationRepository,
        cipher: TipCipher,
    ) -> None:
        self.session = session
        self._cipher = cipher
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
            # (The ORM's bulk insert ran a statement per row; Core's executemany, 4 ms a row.)
            sealed = [
                self._cipher.seal_tip(item.tip.receipt_code, item.tip.draft.text, item.tip.draft.place)
                for item in chunk
            ]
            found = await _bulk_insert(
                self.session, _TIPS, [_tip_row(item, seal) for item, seal in zip(chunk, sealed, strict=True)],
                json_columns=("triage",), returning="id, receipt_code",
            )  # fmt: skip
            by_code = {code: int(tip_id) for tip_id, code in found}
            chunk_ids = [by_code[item.tip.receipt_code] for item in chunk]
            pairs = list(zip(chunk_ids, sealed, strict=True))
            await _bulk_insert(
                self.session,
                _KEYS,
                [{"tip_id": i, "key_id": seal.key_id, "wrapped_key": seal.wrapped_key} for i, seal in pairs],
            )
            if token_rows.is_postgresql(self.session):
                await token_rows.insert(self.session, [(i, seal.tokens) for i, seal in pairs])
            else:
                await _bulk_insert(
                    self.session,
                    _TOKENS,
                    [{"token": t, "tip_id": i} for i, seal in pairs for t in seal.tokens],
                )
            history = [
                row
                for item, tip_id in zip(chunk, chunk_ids, strict=True)
                for row in _history(item, tip_id, actor, entered_at)
            ]
            await _bulk_insert(self.session, _HISTORY, history, json_columns=("details",))
            await _bulk_insert(
                self.session,
                _REGISTRATIONS,
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
        # The closed ones (the rollup's own condition) among the tips this import wrote.
        written = sa.select(_REGISTRATIONS.c.tip_id).where(
            _REGISTRATIONS.c.unit == unit, _REGISTRATIONS.c.entered_at == entered_at
        )
        await add_closed_tips(self.session, [TipRow.id.in_(written)])
        # Health learns of open trafficking and minor tips, as on intake (closed ones are history).
        for t, tip_id in zip(tips, ids, strict=True):
            category = t.tip.draft.category
            if t.closed or category is None:
                continue
            for agency in notified_agencies(category, t.tip.province_code):
                await self._notifications.add(tip_id, agency, f"category:{category.value}", entered_at)
        return ids
