"""Registered tips' entry data and named informants' sealed identities (migration 0012).

The identity is stored only as `core.registration.SealedInformant` gives it: ciphertexts
and a wrapped key. Nothing here can decrypt it; no query of another module reads it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.registration import RegistrationRecord, SealedInformant
from storage.models import TipInformantRow, TipRegistrationRow


class SqlRegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, record: RegistrationRecord) -> None:
        self.session.add(
            TipRegistrationRow(
                tip_id=record.tip_id,
                unit=record.unit,
                registered_by=record.registered_by,
                entered_at=record.entered_at,
                late_reason=record.late_reason,
                forwarded_by=record.forwarded_by,
                external_ref=record.external_ref,
            )
        )
        await self.session.flush()

    async def get(self, tip_id: int) -> RegistrationRecord | None:
        row = await self.session.get(TipRegistrationRow, tip_id)
        if row is None:
            return None
        named = await self.session.scalar(
            sa.select(sa.func.count()).select_from(TipInformantRow).where(TipInformantRow.tip_id == tip_id)
        )
        return RegistrationRecord(
            tip_id=row.tip_id,
            unit=row.unit,
            registered_by=row.registered_by,
            entered_at=row.entered_at,
            late_reason=row.late_reason,
            forwarded_by=row.forwarded_by,
            external_ref=row.external_ref,
            named=bool(named),
        )

    async def add_informant(self, tip_id: int, sealed: SealedInformant, at: datetime) -> None:
        self.session.add(
            TipInformantRow(
                tip_id=tip_id,
                key_id=sealed.key_id,
                wrapped_key=sealed.wrapped_key,
                name=sealed.name,
                phone=sealed.phone,
                address=sealed.address,
                created_at=at,
            )
        )
        await self.session.flush()

    async def informant(self, tip_id: int) -> SealedInformant | None:
        row = await self.session.get(TipInformantRow, tip_id)
        if row is None:
            return None
        return SealedInformant(row.key_id, row.wrapped_key, row.name, row.phone, row.address)

    async def forget_informant(self, tip_id: int) -> bool:
        result = await self.session.execute(
            sa.delete(TipInformantRow).where(TipInformantRow.tip_id == tip_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def known_refs(self, unit: str, refs: Collection[str]) -> set[str]:
        """Which of these register references the unit already imported: the unit's
        references in one read (a few hundred thousand at most), intersected here."""
        if not refs:
            return set()
        found = await self.session.scalars(
            sa.select(TipRegistrationRow.external_ref).where(
                TipRegistrationRow.unit == unit, TipRegistrationRow.external_ref.is_not(None)
            )
        )
        return {ref for ref in found if ref is not None} & set(refs)
