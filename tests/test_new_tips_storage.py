"""Intake's batch insert (`TipRepository.add_many`): the tips' rows, the first line of each
history and the weekly counts. PostgreSQL writes them with one statement of its own, SQLite
with three (storage/new_tips.py); both must store exactly what `_tip_values` describes, in
the formats SQLAlchemy's own types write, and a refused batch must leave nothing behind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.categories import Category, Channel
from core.envelope import Envelope
from core.errors import DuplicateKey, Unstorable
from core.stages import Stage
from core.tips import NewTip, TipDraft, creation_record
from storage.dashboard_query import vn_week
from storage.db import create_engine, session_factory
from storage.models import TipRow, TransitionRow, tip_weeks
from storage.new_tips import HISTORY_COLUMNS, TIP_COLUMNS, sqlite_datetime
from storage.repositories import SqlUnitOfWork, _history_values, _tip_values
from storage.sealed import TipCipher
from tests.conftest import COMMUNE, PROVINCE

ENVELOPE = Envelope(bytes(range(32)))


def KEYS() -> Envelope:
    return ENVELOPE


CIPHER = TipCipher(KEYS)


def _values(tip: NewTip) -> dict[str, Any]:
    return _tip_values(tip, CIPHER.seal_tip(tip.receipt_code, tip.draft.text, tip.draft.place, tip.triage))

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


def new_tip(code: str, **draft: Any) -> NewTip:
    received = draft.pop("received_at", T0)
    triage = draft.pop("triage", None)
    return NewTip(
        TipDraft(**{"text": "Quán karaoke Hoa Hồng có gái bán dâm", "channel": Channel.WEB, **draft}),
        receipt_code=code,
        province_code=PROVINCE,
        remote=False,
        agency_code=f"police:{PROVINCE}",
        received_at=received,
        due={
            Stage.VERIFIED: received + timedelta(hours=24),
            Stage.CLASSIFIED: received + timedelta(days=20),
            Stage.PROCESSED: received + timedelta(days=20),
        },
        next_due_at=received + timedelta(hours=24),
        at_risk_at=received + timedelta(hours=18),
        policy_version=1,
        passphrase_hash="p1$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
        triage=triage,
    )


BATCH = [
    new_tip("AAAA-BBBB-C1"),
    new_tip(
        "AAAA-BBBB-C2",
        text="Có người ép trẻ em 15 tuổi bán dâm ở nhà nghỉ",
        category=Category.MINOR,
        urgent=True,
        commune_code=COMMUNE,
        place="gần chợ Bến Thành",
        occurred_at=T0 - timedelta(days=1),
        language="vi",
        triage={"category": "minor", "urgent": True, "reasons": ["trẻ em"]},
    ),
    new_tip(
        "AAAA-BBBB-C3",
        channel=Channel.TELEGRAM,
        received_at=T0 + timedelta(minutes=5),
        # what JSON or SQL could mangle: emoji, an astral letter, a typed `\u0000`, quotes
        text='Quán 🙏 "Hoa Hồng" 𝔘 \\u0000 it\'s \\ \u2028 done',
        place="ngõ 5 'B'",
    ),
]


async def add(engine: AsyncEngine, tips: list[NewTip]) -> list[int]:
    async with SqlUnitOfWork(session_factory(engine), KEYS) as uow:
        ids = await uow.tips.add_many(tips)
        await uow.commit()
    return ids


def _plain(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def test_the_statements_write_every_column_intake_describes() -> None:
    """storage/new_tips.py names its columns once, for statements built at import; a
    column added to `_tip_values` or `_history_values` must be added there too."""
    assert set(TIP_COLUMNS) == set(_values(BATCH[1]))
    assert {"tip_id", *HISTORY_COLUMNS} == set(_history_values(creation_record(BATCH[1], 0)))


async def test_a_batch_stores_exactly_the_rows_intake_describes(engine: AsyncEngine) -> None:
    ids = await add(engine, BATCH)
    assert len(set(ids)) == 3
    async with engine.connect() as conn:
        for tip_id, tip in zip(ids, BATCH, strict=True):
            row = (
                (await conn.execute(sa.select(TipRow.__table__).where(TipRow.id == tip_id))).mappings().one()
            )
            for column, expected in _values(tip).items():
                if column in ("text", "place", "triage_sealed"):  # ciphertexts: fresh nonces
                    continue
                assert _plain(row[column]) == expected, column
            assert tip.draft.text.encode() not in bytes(row["text"])
            history = (
                (await conn.execute(sa.select(TransitionRow.__table__).where(TransitionRow.tip_id == tip_id)))
                .mappings()
                .all()
            )
            assert [(h["action"], h["from_stage"], h["to_stage"], h["actor"]) for h in history] == [
                ("create", None, "received", f"reporter:{tip.draft.channel.value}")
            ]
            assert (_plain(history[0]["at"]), history[0]["reason"], history[0]["to_agency"]) == (
                tip.received_at,
                "",
                None,
            )
            assert history[0]["details"] == {}
        # A tip without a proposal keeps the JSON null SQLAlchemy's JSON type writes.
        stored = await conn.scalar(sa.select(sa.cast(TipRow.triage, sa.Text)).where(TipRow.id == ids[0]))
        assert json.loads(stored) is None
        weeks = (await conn.execute(sa.select(tip_weeks))).mappings().all()
    async with SqlUnitOfWork(session_factory(engine), KEYS) as uow:
        for tip_id, tip in zip(ids, BATCH, strict=True):
            opened = await uow.tips.get(tip_id)
            assert (opened.text, opened.place) == (tip.draft.text, tip.draft.place)
    assert {(w["commune_code"], w["category"]): (w["week"], w["received"]) for w in weeks} == {
        ("", ""): (vn_week(T0), 2),
        (COMMUNE, "minor"): (vn_week(T0), 1),
    }


async def test_weekly_counts_add_up_over_batches(engine: AsyncEngine) -> None:
    await add(engine, BATCH[:1])
    await add(engine, [new_tip("AAAA-BBBB-D1"), new_tip("AAAA-BBBB-D2")])
    async with engine.connect() as conn:
        counts = (await conn.execute(sa.select(tip_weeks.c.received))).scalars().all()
    assert counts == [3]


async def test_a_taken_receipt_code_refuses_the_whole_batch(engine: AsyncEngine) -> None:
    await add(engine, BATCH[:1])
    with pytest.raises(DuplicateKey):
        await add(engine, [new_tip("AAAA-BBBB-E1"), new_tip(BATCH[0].receipt_code)])
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(TipRow)) == 1
        assert await conn.scalar(sa.select(sa.func.count()).select_from(TransitionRow)) == 1
        assert await conn.scalar(sa.select(tip_weeks.c.received)) == 1


async def test_postgresql_refuses_a_value_too_long_instead_of_cutting_it(
    engine: AsyncEngine, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(Unstorable):  # only this tip: its batch is written without it
        await add(engine, [new_tip("AAAA-BBBB-F1", language="x" * 9)])  # VARCHAR(8)
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(TipRow)) == 0


async def test_an_idle_connection_closed_by_the_server_is_replaced_before_use(
    db_url: str, backend: str
) -> None:
    """A database restart or a firewall's idle cut kills pooled connections; the next
    use after the idle limit pings, finds it dead, and gets a fresh connection."""
    if backend != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    engine = create_engine(db_url, ping_after_idle=0)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        other = create_engine(db_url)
        async with other.connect() as admin:
            await admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            await admin.commit()
        await other.dispose()
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT pg_backend_pid()")) != first
    finally:
        await engine.dispose()


def test_sqlite_dates_are_written_as_sqlalchemy_writes_them() -> None:
    """SQLite compares dates as text: the batch insert's text must be the exact text the
    ORM writes for the same moment (UTC, microseconds always), or queues and deadlines
    would order tips wrongly."""
    import random

    from sqlalchemy.dialects import sqlite

    from storage.types import UTCDateTime

    dialect = sqlite.dialect()  # type: ignore[no-untyped-call]
    orm = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert orm is not None
    rng = random.Random(3)
    zones = [UTC, *(timezone(timedelta(minutes=m)) for m in (-600, -30, 0, 420, 345, 840))]
    moments = [
        datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        datetime(1, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=7))),
    ]
    moments += [
        datetime.fromtimestamp(rng.uniform(0, 4e9), rng.choice(zones)).replace(
            microsecond=rng.choice([0, 1, 999_999, rng.randrange(10**6)])
        )
        for _ in range(3000)
    ]
    for moment in moments:
        assert sqlite_datetime(moment) == orm(moment), moment
    with pytest.raises(ValueError, match="naive"):
        sqlite_datetime(datetime(2026, 3, 2))


async def test_sqlite_stores_the_text_the_orm_stores(engine: AsyncEngine, backend: str) -> None:
    """The raw stored text, dates and JSON, is the same for a batch tip and a tip the ORM
    writes, so queries compare them alike."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL stores typed values")
    [batch_id] = await add(engine, [BATCH[1]])
    values = _values(BATCH[1]) | {"receipt_code": "AAAA-BBBB-OR"}
    async with SqlUnitOfWork(session_factory(engine), KEYS) as uow:
        row = TipRow(**values)
        uow.session.add(row)
        await uow.session.flush()
        orm_id = row.id
        await uow.commit()
    raw = sa.text(
        "SELECT received_at, occurred_at, verified_due_at, at_risk_at, updated_at, triage, urgent, remote"
        " FROM tips WHERE id = :id"
    )
    async with engine.connect() as conn:
        batch = (await conn.execute(raw, {"id": batch_id})).one()
        orm = (await conn.execute(raw, {"id": orm_id})).one()
    assert tuple(batch) == tuple(orm)


async def test_a_nul_in_the_text_is_kept_whole(engine: AsyncEngine) -> None:
    """json_extract would end a text at a NUL; the text travels as a ciphertext (hexadecimal
    in SQLite's JSON rows, bytea on PostgreSQL), so it is stored whole. Intake refuses a NUL
    before this anyway (core/services.py)."""
    [tip_id] = await add(engine, [new_tip("AAAA-BBBB-G1", text="Quán\x00 karaoke")])
    async with SqlUnitOfWork(session_factory(engine), KEYS) as uow:
        assert (await uow.tips.get(tip_id)).text == "Quán\x00 karaoke"
