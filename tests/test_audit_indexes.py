"""Indexes of the audit log's filters (migration 0010), on SQLite and PostgreSQL: they exist
after the migrations and are gone after a step down, the append-only triggers survive both
steps, and the query the `/staff/audit` page really runs (captured from the app) reads a
filtered page through them instead of walking the whole log by id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from core.ports import AuditFilter
from hotline.bootstrap import Services
from storage import migrate
from storage.db import create_engine, session_factory
from storage.models import AuditRow
from storage.repositories import SqlUnitOfWork
from tests.test_staff_audit_page import ROW_ID
from tests.test_web_api import app_services

NEW_INDEXES = {"ix_audit_log_actor_id": ["actor", "id"], "ix_audit_log_action_id": ["action", "id"]}
LOG_ROWS = 20_000
pytestmark = pytest.mark.slow  # a 20,000-row audit log


def _indexes(conn: sa.Connection) -> dict[str, list[str]]:
    return {
        str(i["name"]): [str(c) for c in i["column_names"]] for i in sa.inspect(conn).get_indexes("audit_log")
    }


async def _append_only(engine: Any) -> None:
    async with engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await conn.execute(sa.update(AuditRow).values(detail="edited"))


async def test_0010_adds_and_removes_the_indexes_and_keeps_the_triggers(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(_indexes)
        assert {name: found.get(name) for name in NEW_INDEXES} == NEW_INDEXES
        assert found["ix_audit_log_at"] == ["at"] and found["ix_audit_log_tip_id"] == ["tip_id"]
        async with engine.begin() as conn:  # not empty across the steps
            at = datetime(2026, 3, 2, tzinfo=UTC)
            await conn.execute(sa.insert(AuditRow).values(actor="system", action="test", tip_id=None, at=at))
        await migrate.downgrade(engine, "0009")
        async with engine.connect() as conn:
            assert not set(NEW_INDEXES) & set(await conn.run_sync(_indexes))
        await _append_only(engine)
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert set(NEW_INDEXES) <= set(await conn.run_sync(_indexes))
        await _append_only(engine)
    finally:
        await engine.dispose()


async def _fill(services: Services) -> None:
    """A log of 20,000 entries: 200 busy officers viewing, and a few rare actions/actors."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        {
            "at": start + timedelta(minutes=i),
            "actor": "officer:rare" if i % 2000 == 1 else f"officer:o{i % 200}",
            "action": "totp_reset" if i % 2000 == 7 else ("view" if i % 3 else "transition"),
            "tip_id": None,
            "detail": "",
        }
        for i in range(LOG_ROWS)
    ]
    async with services.engine.begin() as conn:
        await conn.execute(sa.insert(AuditRow), rows)
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("ANALYZE audit_log"))


async def _page_plan(client: Any, admin: dict[str, str], query: str) -> str:
    """Open the audit page with `query`, capture its SELECT on audit_log, and explain it."""
    engine = app_services(client).engine
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM audit_log" in statement and "ORDER BY audit_log.id DESC" in statement:
            captured.append((statement, params))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        resp = await client.get(f"/staff/audit?{query}", headers={"Cookie": admin["Cookie"]})
        assert resp.status == 200, await resp.text()
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(captured) == 1, captured
    statement, params = captured[0]
    async with engine.connect() as conn:
        explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        rows = await conn.exec_driver_sql(explain + statement, tuple(params))
        return "\n".join(" ".join(str(v) for v in row) for row in rows)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("action=totp_reset", "ix_audit_log_action_id"),
        ("actor=officer:rare", "ix_audit_log_actor_id"),
        # a bare name means `rare` or `officer:rare`: one index walk per spelling, merged
        ("actor=rare", "ix_audit_log_actor_id"),
    ],
)
async def test_the_page_reads_a_filtered_page_through_its_index(
    client: Any, admin: dict[str, str], services: Services, query: str, index: str
) -> None:
    await _fill(services)
    plan = await _page_plan(client, admin, query)
    assert index in plan, plan
    resp = await client.get(f"/staff/audit?{query}", headers={"Cookie": admin["Cookie"]})
    assert len(ROW_ID.findall(await resp.text())) == LOG_ROWS // 2000


async def test_a_bare_name_pages_through_both_spellings_newest_first(services: Services) -> None:
    """The merged per-spelling walks give exactly the page an IN list would, page after page,
    with the date and action filters applied inside each walk."""
    start = datetime(2026, 5, 1, tzinfo=UTC)
    actors = ["lan", "officer:lan", "officer:minh", "system"]
    rows = [
        {
            "at": start + timedelta(minutes=i),
            "actor": actors[(i * 7) % 4],
            "action": "view" if i % 5 else "reply",
            "tip_id": None,
            "detail": "",
        }
        for i in range(120)
    ]
    async with services.engine.begin() as conn:
        await conn.execute(sa.insert(AuditRow), rows)
        all_rows = (
            await conn.execute(sa.select(AuditRow.id, AuditRow.actor, AuditRow.action, AuditRow.at))
        ).all()
    since = start + timedelta(minutes=10)
    for action in (None, "view"):
        where = AuditFilter(
            since=since, until=None, actors=("lan", "officer:lan"), action=action, tip_id=None
        )
        expected = sorted(
            (
                r.id
                for r in all_rows
                if r.actor in ("lan", "officer:lan") and r.at >= since and action in (None, r.action)
            ),
            reverse=True,
        )
        got: list[int] = []
        before: int | None = None
        while True:
            async with SqlUnitOfWork(session_factory(services.engine), services.master_keys) as uow:
                page = await uow.audit.recent(before_id=before, limit=7, where=where)
            got += [e.id for e in page]
            if len(page) < 7:
                break
            before = page[-1].id
        assert got == expected and len(got) > 20
