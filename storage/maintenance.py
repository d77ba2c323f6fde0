"""`hotline db upgrade`: schema first, then the reference data the schema needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage import migrate
from storage.db import create_engine, session_factory
from storage.outreach import load_starter_content
from storage.reference import load_reference_data


async def upgrade_database(url: str, province_code: str, master_keys: Any = None) -> str | None:
    """`master_keys` (see `migrate.upgrade`) encrypts what an older schema kept in clear."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, master_keys=master_keys)
        async with session_factory(engine)() as session:
            await load_reference_data(session, province_code)
            await load_starter_content(session, datetime.now(UTC))
            await session.commit()
        return await migrate.current_revision(engine)
    finally:
        await engine.dispose()
