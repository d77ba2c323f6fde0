"""Builds the support service for the server and the command line alike, and adds its
indicators to the plan's registry, so `hotline indicators`, the KPI page and the report
count the same sources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.calendar import working_calendar
from core.envelope import Envelope
from core.establishment_service import EstablishmentService
from core.indicators import reach_source, reach_specs, tip_kpi_source, tip_kpi_specs
from core.kpi import KpiScope, Period
from core.passphrases import PassphraseHasher, pepper_from
from core.reach import ReachService
from core.services import Clock, TipService
from core.support import Sealer
from core.support_service import SupportService
from hotline.masterkey import MasterKeySource
from hotline.settings import Settings
from storage.sealed import open_standalone, seal_standalone, support_place
from storage.support import Sessions, support_store


class EnvelopeSealer:
    """A contact or message sealed under its own data key, the data key wrapped by the
    master key; stored as: wrapped key length (2 bytes), wrapped key, ciphertext
    (storage.sealed.seal_standalone). Both are bound to `context` (the case, and the message),
    so a sealed value copied onto another case or message does not open."""

    def __init__(self, envelope: Callable[[], Envelope]) -> None:
        self._envelope = envelope

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        return seal_standalone(self._envelope(), support_place(context.decode()), plaintext.decode())

    def open(self, sealed: bytes, context: bytes) -> bytes:
        return open_standalone(self._envelope(), support_place(context.decode()), sealed).encode()


def contact_sealer(settings: Settings) -> Sealer:
    """Envelope encryption of contacts under the deployment's master key (read on first use)."""
    return EnvelopeSealer(MasterKeySource(settings))


def support_service(settings: Settings, sessions: Sessions, clock: Clock, secret: bytes) -> SupportService:
    return SupportService(
        support_store(sessions),
        clock=clock,
        province_code=settings.province_code,
        hasher=PassphraseHasher(
            time_cost=settings.passphrase_argon2_time_cost,
            memory_kib=settings.passphrase_argon2_memory_kib,
            pepper=pepper_from(secret),
        ),
        calendar=working_calendar(settings.holidays_file),
        sealer=contact_sealer(settings),
    )


def with_support(
    establishments: EstablishmentService,
    support: SupportService,
    *,
    tips: TipService | None = None,
    reach: ReachService | None = None,
) -> EstablishmentService:
    """The establishments service's indicator registry, extended with support's sources, the
    tips' on-time handling per stage and the reach per audience."""
    support.register_indicators(establishments.registry)
    if tips is not None:

        async def kpi(period: Period, area: str | None) -> Any:
            return await tips.kpi(period, KpiScope(commune_code=area if area and len(area) > 2 else None))

        establishments.registry.add(tip_kpi_specs(), tip_kpi_source(kpi))
    if reach is not None:
        establishments.registry.add(reach_specs(), reach_source(reach.report))
    return establishments
