"""`core.jurisdiction.Jurisdiction` as SQL conditions on `tips`: every staff query of tips
adds these, so a tip outside the officer's jurisdiction is simply not found."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement

from core.categories import Category
from core.jurisdiction import Jurisdiction
from storage.models import TipRow


def within_where(within: Jurisdiction | None) -> list[ColumnElement[bool]]:
    """No conditions for the system (None) or an admin; otherwise the unit or units."""
    if within is None or within.everything:
        return []
    where: list[ColumnElement[bool]] = []
    if not within.misconduct:
        where.append(sa.or_(TipRow.category.is_(None), TipRow.category != Category.OFFICIAL_MISCONDUCT.value))
    if within.agency_code is not None:
        where.append(TipRow.agency_code == within.agency_code)
    elif within.agency_kind and within.area_code and within.province_wide:
        where.append(TipRow.agency_code.startswith(f"{within.agency_kind}:", autoescape=True))
        where.append(TipRow.province_code == within.area_code)
    elif within.agency_kind and within.area_code:
        where.append(TipRow.agency_code == f"{within.agency_kind}:{within.area_code}")
    else:
        where.append(sa.false())  # a malformed jurisdiction sees nothing
    return where
