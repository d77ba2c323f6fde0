"""Builds the support service for the server and the command line alike, and adds its
indicators to the plan's registry, so `hotline indicators`, the KPI page and the report
count the same sources."""

from __future__ import annotations

from core.calendar import working_calendar
from core.establishment_service import EstablishmentService
from core.passphrases import PassphraseHasher, pepper_from
from core.services import Clock
from core.support import Sealer
from core.support_service import SupportService
from hotline.settings import Settings
from storage.support import Sessions, support_store


def contact_sealer(settings: Settings) -> Sealer | None:
    """Envelope encryption of contacts when a master key is configured; None refuses contacts."""
    return None


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


def with_support(establishments: EstablishmentService, support: SupportService) -> EstablishmentService:
    """The establishments service's indicator registry, extended with support's sources."""
    support.register_indicators(establishments.registry)
    return establishments
