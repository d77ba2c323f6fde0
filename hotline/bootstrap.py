"""The one place that builds the engine and services; everything else receives them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from core.calendar import default_calendar
from core.ports import UnitOfWork
from core.services import Clock, TipService, utc_now
from core.staff import StaffService
from hotline.settings import Settings
from storage.db import create_engine, session_factory
from storage.repositories import SqlUnitOfWork


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    tips: TipService
    staff: StaffService


@asynccontextmanager
async def open_services(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Services]:
    """Open the database and wire the services; dispose of the engine on the way out."""
    engine = create_engine(settings.effective_database_url)
    sessions = session_factory(engine)

    def uow() -> UnitOfWork:
        return SqlUnitOfWork(sessions)

    try:
        yield Services(
            settings=settings,
            engine=engine,
            tips=TipService(
                uow, province_code=settings.province_code, calendar=default_calendar(), clock=clock
            ),
            staff=StaffService(uow),
        )
    finally:
        await engine.dispose()
