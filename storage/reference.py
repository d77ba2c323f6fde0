"""Reference data every deployment needs: the gazetteer, agencies and the deadline policy.

All functions are idempotent, so `hotline db upgrade` can run them on every deploy.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.routing import OWNER_BY_CATEGORY, AgencyKind, agency_code
from core.sla import DEFAULT_RULES
from core.text import fold
from storage.gazetteer import iter_areas
from storage.models import AgencyRow, AreaRow, PolicyRow, RoutingRuleRow, RuleRow


async def sync_areas(session: AsyncSession) -> int:
    """Insert units the database lacks and rename changed ones; returns rows inserted.

    The `remote` flag of an existing unit is left alone: administrators own it.
    """
    existing = {row.code: row for row in await session.scalars(sa.select(AreaRow))}
    inserted = 0
    for area in iter_areas():  # provinces come first, so foreign keys resolve
        row = existing.get(area.code)
        if row is None:
            session.add(
                AreaRow(
                    code=area.code,
                    name=area.name,
                    search_name=fold(area.name),
                    level=area.level,
                    division_type=area.division_type,
                    province_code=area.province_code,
                    remote=area.remote,
                )
            )
            inserted += 1
        elif row.name != area.name:
            row.name, row.search_name = area.name, fold(area.name)
    await session.flush()
    return inserted


async def ensure_default_policy(session: AsyncSession) -> int:
    """Load the shipped deadline policy as version 1 when no policy exists yet."""
    current = await session.scalar(sa.select(sa.func.max(PolicyRow.version)))
    if current is not None:
        return int(current)
    session.add(
        PolicyRow(
            version=1,
            created_at=datetime.now(UTC),
            created_by="system",
            note="Shipped defaults: Criminal Procedure Code 2015 art. 146-147",
        )
    )
    await session.flush()
    session.add_all(
        RuleRow(policy_version=1, key=r.key, amount=r.amount, unit=r.unit.value, note=r.note)
        for r in DEFAULT_RULES
    )
    await session.flush()
    return 1


async def ensure_agencies(session: AsyncSession, province_code: str) -> int:
    """Provincial police, health, inspectorate; police and People's Committee per commune."""
    province = await session.get(AreaRow, province_code)
    if province is None:
        raise LookupError(f"province {province_code} is not in the gazetteer")
    wanted = {
        agency_code(AgencyKind.POLICE, province.code): (
            "police",
            province.code,
            f"Công an {province.name}",
        ),
        agency_code(AgencyKind.HEALTH, province.code): (
            "health",
            province.code,
            f"Sở Y tế {province.name}",
        ),
        agency_code(AgencyKind.INSPECTORATE, province.code): (
            "inspectorate",
            province.code,
            f"Thanh tra {province.name}",
        ),
    }
    communes = await session.scalars(sa.select(AreaRow).where(AreaRow.province_code == province.code))
    for commune in communes:
        wanted[agency_code(AgencyKind.POLICE, commune.code)] = (
            "police",
            commune.code,
            f"Công an {commune.name}",
        )
        wanted[agency_code(AgencyKind.COMMUNE, commune.code)] = (
            "commune",
            commune.code,
            f"UBND {commune.name}",
        )
    have = set(await session.scalars(sa.select(AgencyRow.code).where(AgencyRow.code.in_(wanted))))
    missing = [code for code in wanted if code not in have]
    session.add_all(
        AgencyRow(code=code, kind=wanted[code][0], area_code=wanted[code][1], name=wanted[code][2])
        for code in missing
    )
    await session.flush()
    return len(missing)


async def ensure_routing(session: AsyncSession) -> int:
    """The shipped routing rules for categories that have none; edited rules are kept."""
    have = set(await session.scalars(sa.select(RoutingRuleRow.category)))
    now = datetime.now(UTC)
    missing = [c for c in OWNER_BY_CATEGORY if c.value not in have]
    session.add_all(
        RoutingRuleRow(
            category=c.value, agency_kind=OWNER_BY_CATEGORY[c].value, updated_at=now, updated_by="default"
        )
        for c in missing
    )
    await session.flush()
    return len(missing)


async def load_reference_data(session: AsyncSession, province_code: str) -> None:
    await sync_areas(session)
    await ensure_default_policy(session)
    await ensure_agencies(session, province_code)
    await ensure_routing(session)
