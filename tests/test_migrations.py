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


async def test_0019_encrypts_existing_tips_in_place_and_will_not_go_back(empty_db_url: str) -> None:
    """Tips stored in clear before 0019 come out of it as ciphertexts, readable and found by
    the blind index; 0019 refuses to run on them without the master key, and refuses to be
    undone while tips exist."""
    from datetime import UTC, datetime

    import pytest
    import sqlalchemy as sa

    from core.envelope import Envelope
    from core.jurisdiction import Jurisdiction
    from core.queue import QueueFilter
    from storage.db import session_factory
    from storage.reference import load_reference_data
    from storage.repositories import SqlUnitOfWork
    from storage.types import UTCDateTime

    envelope = Envelope(bytes(range(32)))
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine, "0018")
        async with session_factory(engine)() as session:
            await load_reference_data(session, PROVINCE)
            await session.commit()
        at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
        dated = (
            "received_at",
            "verified_due_at",
            "classified_due_at",
            "processed_due_at",
            "updated_at",
            "next_due_at",
        )
        tips = sa.table(
            "tips",
            *(sa.column(c) for c in ("receipt_code", "text", "channel", "urgent", "place", "province_code")),
            *(sa.column(c) for c in ("remote", "agency_code", "stage", "extensions", "policy_version")),
            *(sa.column(c) for c in ("version", "search_text")),
            *(sa.column(c, UTCDateTime()) for c in dated),
        )
        async with engine.begin() as conn:
            for n, (text, place) in enumerate([("Nhà nghỉ Hoa Hồng MARKER19", "Phố Huế"), ("khác", None)]):
                await conn.execute(
                    tips.insert().values(
                        receipt_code=f"AAAA-BBBB-C{n}",
                        text=text,
                        channel="web",
                        urgent=False,
                        place=place,
                        province_code=PROVINCE,
                        remote=False,
                        agency_code=f"police:{PROVINCE}",
                        stage="received",
                        extensions=0,
                        policy_version=1,
                        version=1,
                        search_text=text,
                        **dict.fromkeys(dated, at),
                    )
                )
            tip_id = await conn.scalar(sa.text("SELECT id FROM tips WHERE receipt_code = 'AAAA-BBBB-C0'"))
            await conn.execute(
                sa.text(
                    "INSERT INTO tip_messages (tip_id, author, actor, text, at) VALUES (:t, 'reporter', 'r', :x, :at)"
                ),
                {"t": tip_id, "x": "thêm MARKER19", "at": at.replace(tzinfo=None)},
            )
        with pytest.raises(RuntimeError, match="master key"):
            await migrate.upgrade(engine)
        await migrate.upgrade(engine, master_keys=lambda: envelope)
        async with engine.connect() as conn:
            for table in ("tips", "tip_messages"):
                for (blob,) in await conn.execute(sa.text(f"SELECT text FROM {table}")):
                    assert b"MARKER19" not in bytes(blob)
            assert await conn.run_sync(_diff) == []
        async with SqlUnitOfWork(session_factory(engine), lambda: envelope) as uow:
            tip = await uow.tips.get(tip_id)
            assert (tip.text, tip.place) == ("Nhà nghỉ Hoa Hồng MARKER19", "Phố Huế")
            assert [m.text for m in await uow.conversation.messages(tip_id)] == ["thêm MARKER19"]
            found = await uow.tips.queue(
                Jurisdiction(everything=True), QueueFilter(text="hoa hong pho hue"), at
            )
            assert [item.id for item in found.items] == [tip_id]
        with pytest.raises(RuntimeError, match="cannot be undone"):
            await migrate.downgrade(engine, "0018")
    finally:
        await engine.dispose()


async def test_0021_seals_existing_triage_reasons_and_support_messages(empty_db_url: str) -> None:
    """Triage reasons and support messages stored in clear before 0021 come out of it
    sealed, the proposal's codes still in clear and everything readable again; 0021 refuses
    to run on them without the master key, and refuses to be undone once they are sealed."""
    import json
    from datetime import UTC, datetime

    import pytest
    import sqlalchemy as sa

    from core.envelope import Envelope, Place
    from hotline.support_wiring import EnvelopeSealer
    from storage.db import session_factory
    from storage.reference import load_reference_data
    from storage.repositories import SqlUnitOfWork
    from storage.sealed import key_place
    from storage.support import SqlSupportStore

    envelope = Envelope(bytes(range(32)))
    engine = create_engine(empty_db_url)
    proposal = {
        "language": "vi",
        "category": "venue",
        "urgent": False,
        "commune_code": None,
        "commune_candidates": [],
        "duplicate_of": None,
        "scores": {"venue": 0.5},
        "reasons": ["duplicate: same link marker21site.vn"],
        "explanations": [{"code": "terms", "terms": ["karaoke MARKER21VENUE"]}],
    }
    code = "AAAA-BBBB-C1"
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    naive = at.replace(tzinfo=None)
    try:
        await migrate.upgrade(engine, "0020")
        async with session_factory(engine)() as session:
            await load_reference_data(session, PROVINCE)
            await session.commit()
        data_key = envelope.new_data_key()
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO tips (receipt_code, text, channel, urgent, province_code, remote,"
                    " agency_code, stage, extensions, policy_version, version, received_at,"
                    " verified_due_at, classified_due_at, processed_due_at, updated_at, triage)"
                    " VALUES (:code, :text, 'web', false, :p, false, :agency, 'received', 0, 1, 1,"
                    " :at, :at, :at, :at, :at, :triage)"
                ),
                {
                    "code": code,
                    "text": Envelope.encrypt(data_key, "karaoke MARKER21VENUE", Place("tips", code, "text")),
                    "p": PROVINCE,
                    "agency": f"police:{PROVINCE}",
                    "at": naive,
                    "triage": json.dumps(proposal),
                },
            )
            tip_id = await conn.scalar(sa.text("SELECT id FROM tips"))
            await conn.execute(
                sa.text("INSERT INTO tip_keys (tip_id, key_id, wrapped_key) VALUES (:t, :k, :w)"),
                {"t": tip_id, "k": envelope.key_id, "w": envelope.wrap(data_key, key_place(code))},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO support_cases (receipt_code, passphrase_hash, province_code, kinds, state,"
                    " assessed, served, received_at, first_contact_due) VALUES ('SSSSTTTTU1', 'x', :p,"
                    " 'health', 'received', false, false, :at, :at)"
                ),
                {"p": PROVINCE, "at": naive},
            )
            case_id = await conn.scalar(sa.text("SELECT id FROM support_cases"))
            await conn.execute(
                sa.text(
                    "INSERT INTO support_messages (case_id, at, author, body) VALUES (:c, :at, 'person', :b)"
                ),
                {"c": case_id, "at": naive, "b": "xin giúp MARKER21MSG"},
            )
        with pytest.raises(RuntimeError, match="master key"):
            await migrate.upgrade(engine)
        await migrate.upgrade(engine, master_keys=lambda: envelope)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            stored = json.dumps(
                [list(r) for r in await conn.execute(sa.text("SELECT triage FROM tips"))], default=str
            )
            stored += json.dumps(
                [[str(v) for v in r] for r in await conn.execute(sa.text("SELECT * FROM support_messages"))]
            )
            assert "MARKER21" not in stored and "marker21" not in stored
            assert "venue" in stored and "reasons" not in stored and "explanations" not in stored
        async with SqlUnitOfWork(session_factory(engine), lambda: envelope) as uow:
            assert (await uow.tips.get(tip_id)).triage == proposal
        async with session_factory(engine)() as session:
            page = await SqlSupportStore(session).page(case_id, EnvelopeSealer(lambda: envelope))
            assert [m.body for m in page.messages] == ["xin giúp MARKER21MSG"]
        with pytest.raises(RuntimeError, match="cannot be undone"):
            await migrate.downgrade(engine, "0020")
    finally:
        await engine.dispose()


async def test_0022_moves_the_blind_index_into_arrays_and_back(empty_db_url: str) -> None:
    """On PostgreSQL 0022 moves each tip's `tip_tokens` rows into one array of
    `tip_token_sets` (SQLite keeps the rows); the search finds the same tips before and
    after, and the downgrade gives the rows back."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from core import blind_index
    from core.envelope import Envelope
    from core.jurisdiction import Jurisdiction
    from core.queue import QueueFilter
    from storage.db import session_factory
    from storage.reference import load_reference_data
    from storage.repositories import SqlUnitOfWork

    envelope = Envelope(bytes(range(32)))
    texts = {
        "AAAA-BBBB-C1": "Nhà nghỉ Hoa Hồng",
        "AAAA-BBBB-C2": "karaoke Hoa Sen",
        "AAAA-BBBB-C3": "quán bia",
    }
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    engine = create_engine(empty_db_url)
    pg = engine.dialect.name == "postgresql"

    async def found(words: str) -> list[str]:
        async with SqlUnitOfWork(session_factory(engine), lambda: envelope) as uow:
            page = await uow.tips.queue(Jurisdiction(everything=True), QueueFilter(text=words), at)
            codes = {tip_id: code for code, tip_id in ids.items()}
            return sorted(codes[item.id] for item in page.items)

    async def token_rows() -> set[tuple[int, int]]:
        async with engine.connect() as conn:
            return {
                (int(t), int(i))
                for t, i in await conn.execute(sa.text("SELECT token, tip_id FROM tip_tokens"))
            }

    try:
        await migrate.upgrade(engine, "0021")
        async with session_factory(engine)() as session:
            await load_reference_data(session, PROVINCE)
            await session.commit()
        ids: dict[str, int] = {}
        async with engine.begin() as conn:
            for code, text in texts.items():
                await conn.execute(
                    sa.text(
                        "INSERT INTO tips (receipt_code, text, channel, urgent, province_code, remote,"
                        " agency_code, stage, extensions, policy_version, version, received_at,"
                        " verified_due_at, classified_due_at, processed_due_at, next_due_at, updated_at)"
                        " VALUES (:code, :text, 'web', false, :p, false, :agency, 'received', 0, 1, 1,"
                        " :at, :at, :at, :at, :at, :at)"
                    ),
                    {"code": code, "text": b"sealed", "p": PROVINCE, "agency": f"police:{PROVINCE}",
                     "at": at.replace(tzinfo=None)},
                )  # fmt: skip
                ids[code] = int(
                    await conn.scalar(sa.text("SELECT id FROM tips WHERE receipt_code = :c"), {"c": code})
                )
                for token in blind_index.tokens(envelope.index_keys()[0], text, None):
                    await conn.execute(
                        sa.text("INSERT INTO tip_tokens (token, tip_id) VALUES (:t, :i)"),
                        {"t": token, "i": ids[code]},
                    )
        before = await token_rows()
        assert len(before) == 9
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            sets = await conn.scalar(sa.text("SELECT count(*) FROM tip_token_sets"))
        assert (await token_rows(), sets) == ((set(), 3) if pg else (before, 0))
        assert await found("hoa") == ["AAAA-BBBB-C1", "AAAA-BBBB-C2"]
        assert await found("HOA hong") == ["AAAA-BBBB-C1"]
        assert await found("hoa bia") == []
        assert await found("quan") == ["AAAA-BBBB-C3"]
        await migrate.downgrade(engine, "0021")
        assert await token_rows() == before
        await migrate.upgrade(engine)
        assert await found("nha nghi") == ["AAAA-BBBB-C1"]
    finally:
        await engine.dispose()
