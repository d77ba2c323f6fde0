"""Migrations from empty to head and back, on both databases, and the models match them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage import migrate
from storage.db import create_engine
from storage.maintenance import upgrade_database
from storage.models import Base
from tests.conftest import PROVINCE


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_empty_to_head_down_to_base_and_up_again(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
        # Step down one revision at a time, then all the way up again.
        script = ScriptDirectory.from_config(migrate.alembic_config())
        for revision in script.walk_revisions():
            await migrate.downgrade(engine, revision.down_revision or "base")  # type: ignore[arg-type]
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_upgrade_with_reference_data_is_idempotent(empty_db_url: str) -> None:
    first = await upgrade_database(empty_db_url, PROVINCE)
    second = await upgrade_database(empty_db_url, PROVINCE)
    assert first == second == migrate.head_revision()
    engine = create_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            import sqlalchemy as sa

            areas = await conn.scalar(sa.text("SELECT count(*) FROM areas"))
            provinces = await conn.scalar(sa.text("SELECT count(*) FROM areas WHERE level = 'province'"))
            agencies = await conn.scalar(sa.text("SELECT count(*) FROM agencies"))
            rules = await conn.scalar(sa.text("SELECT count(*) FROM deadline_rules"))
    finally:
        await engine.dispose()
    assert provinces == 34
    assert areas is not None and areas > 3300
    assert agencies is not None and agencies > 3
    assert rules is not None and rules >= 10


async def test_0005_folds_the_text_of_existing_tips(db_url: str, services: object) -> None:
    import sqlalchemy as sa

    from hotline.bootstrap import Services
    from storage.models import TipRow
    from tests.builders import submit

    assert isinstance(services, Services)
    tip_id = (await submit(services.tips, text="Quán Hoa Hồng ở Đồng Khởi")).tip_id
    engine = create_engine(db_url)
    try:
        await migrate.downgrade(engine, "0004")
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            folded = await conn.scalar(sa.select(TipRow.search_text).where(TipRow.id == tip_id))
    finally:
        await engine.dispose()
    assert folded == "quan hoa hong o dong khoi"
