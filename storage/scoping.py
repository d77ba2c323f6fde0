"""`core.jurisdiction.Jurisdiction` as SQL conditions on `tips`: every staff query of tips
adds these, so a tip outside the officer's jurisdiction is simply not found."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement

from core.categories import Category
from core.jurisdiction import Jurisdiction
from core.routing import SUPERVISORS_ONLY
from storage.models import TipNotificationRow, TipRow


def within_where(within: Jurisdiction | None, rows: Any = TipRow) -> list[ColumnElement[bool]]:
    """No conditions for the system (None) or an admin; otherwise the unit or units.
    `rows`: `TipRow`, or a table with the same `category`, `agency_code` and
    `province_code` columns (the dashboard's rollups, storage.dashboard_query)."""
    if within is None or within.everything:
        return []
    where: list[ColumnElement[bool]] = []
    if not within.misconduct:
        where.append(sa.or_(rows.category.is_(None), rows.category != Category.OFFICIAL_MISCONDUCT.value))
    if not within.complaints:
        hidden = [c.value for c in SUPERVISORS_ONLY]
        where.append(sa.or_(rows.category.is_(None), rows.category.not_in(hidden)))
    if within.agency_code is not None:
        where.append(rows.agency_code == within.agency_code)
    elif within.agency_kind and within.area_code and within.province_wide:
        where.append(rows.agency_code.startswith(f"{within.agency_kind}:", autoescape=True))
        where.append(rows.province_code == within.area_code)
    elif within.agency_kind and within.area_code:
        where.append(rows.agency_code == f"{within.agency_kind}:{within.area_code}")
    else:
        where.append(sa.false())  # a malformed jurisdiction sees nothing
    return where


def notified_where(within: Jurisdiction | None) -> list[ColumnElement[bool]]:
    """Tips notified to the officer's unit (or, for a supervisor, to a unit of their kind in
    their area): conditions on `tip_notifications` joined to `tips`. Misconduct and
    complaint rules hold here too."""
    if within is None or within.everything:
        return []
    where: list[ColumnElement[bool]] = []
    if not within.misconduct:
        where.append(sa.or_(TipRow.category.is_(None), TipRow.category != Category.OFFICIAL_MISCONDUCT.value))
    if not within.complaints:
        hidden = [c.value for c in SUPERVISORS_ONLY]
        where.append(sa.or_(TipRow.category.is_(None), TipRow.category.not_in(hidden)))
    notified = TipNotificationRow.agency_code
    if within.agency_code is not None:
        where.append(notified == within.agency_code)
    elif within.agency_kind and within.area_code and within.province_wide:
        where.append(notified.startswith(f"{within.agency_kind}:", autoescape=True))
        where.append(TipRow.province_code == within.area_code)
    elif within.agency_kind and within.area_code:
        where.append(notified == f"{within.agency_kind}:{within.area_code}")
    else:
        where.append(sa.false())
    return where
