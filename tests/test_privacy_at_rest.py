"""Tip content at rest: what informants and officers write is stored only encrypted (tips,
places, messages, replies, notes, files), yet officers read it and the search finds it;
keys are checked and rotated from the command line; a moved ciphertext does not open."""

from __future__ import annotations

import asyncio
import glob
import html
import json
import logging
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from core.envelope import Envelope, EnvelopeError, new_master_key_hex, parse_master_key
from core.triage import explain
from hotline.bootstrap import Services, open_services
from hotline.cli import main
from hotline.settings import Settings
from storage.db import session_factory
from storage.models import Base, TipMessageRow, TipNoteRow, TipRow
from storage.repositories import SqlUnitOfWork
from tests.conftest import FakeClock
from tests.test_web_api import jpeg, multipart

TEXT_MARK = "Nhà nghỉ ZQXTEXTMARK"
PLACE_MARK = "ZQXPLACEMARK"
MESSAGE_MARK = "ZQXMESSAGEMARK"
REPLY_MARK = "ZQXREPLYMARK"
NOTE_MARK = "ZQXNOTEMARK"
MARKERS = ["ZQXTEXTMARK", "zqxtextmark", PLACE_MARK, PLACE_MARK.lower(), MESSAGE_MARK, REPLY_MARK, NOTE_MARK]
# A photo whose pixels spell out a marker would survive re-encoding only as pixels; the
# bytes a file carries are checked by a marker in its cleaned form below.
KEY = "7e" * 32


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province="79", master_key=KEY)


async def _post_everything(client: Any, services: Services, admin: dict[str, str]) -> tuple[int, bytes]:
    photo = jpeg((96, 64))
    resp = await client.post(
        "/api/v1/tips",
        data=multipart({"text": f"{TEXT_MARK} cho thuê phòng", "place": f"Phố {PLACE_MARK}"}, [photo]),
    )
    assert resp.status == 201, await resp.text()
    receipt = await resp.json()
    creds = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    form = multipart({**creds, "text": f"thêm {MESSAGE_MARK}"}, [photo])
    assert (await client.post("/api/v1/tips/messages", data=form)).status == 201
    async with services.engine.connect() as conn:
        tip_id = int(await conn.scalar(sa.select(TipRow.id)) or 0)
    for path, text in (("replies", f"cảm ơn {REPLY_MARK}"), ("notes", f"ghi chú {NOTE_MARK}")):
        resp = await client.post(f"/api/v1/staff/tips/{tip_id}/{path}", json={"text": text}, headers=admin)
        assert resp.status == 201, await resp.text()
    stored = await services.tips.attachments(tip_id)
    assert services.tips.store is not None
    original = await services.tips.store.get(stored[0].storage_key)
    return tip_id, original


def _files_and_tmp(settings: Settings) -> tuple[list[str], list[str]]:
    """The attachment files as stored, and the files of the temporary directory."""
    files = [p.read_bytes().decode("latin-1") for p in settings.attachments_path.rglob("*") if p.is_file()]
    tmp = [
        p.read_bytes().decode("latin-1")
        for p in Path(tempfile.gettempdir()).glob("*")
        if p.is_file() and p.stat().st_size < 10_000_000
    ]
    return files, tmp


async def _everything_stored(services: Services, settings: Settings) -> dict[str, str]:
    """Every text column of every table, the SQLite files (WAL included), the files."""
    parts: list[str] = []
    async with services.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).all():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        parts.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        parts.append(json.dumps(value, default=str, ensure_ascii=False))
    if settings.effective_database_url.startswith("sqlite"):
        for name in glob.glob(settings.effective_database_url.removeprefix("sqlite:///") + "*"):
            parts.append((await asyncio.to_thread(Path(name).read_bytes)).decode("latin-1"))
    files, tmp = await asyncio.to_thread(_files_and_tmp, settings)
    return {"database": "\n".join(parts), "attachments": "\n".join(files), "tmp": "\n".join(tmp)}


async def test_what_people_write_is_stored_only_encrypted_and_still_read_and_found(
    client: Any,
    services: Services,
    admin: dict[str, str],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tip_id, original = await _post_everything(client, services, admin)
    assert original[:3] == b"\xff\xd8\xff"  # the cleaned photo opens for officers
    haystacks = {**await _everything_stored(services, settings), "logs": caplog.text}
    for where, text in haystacks.items():
        for marker in MARKERS:
            assert marker not in text, f"{marker!r} found in {where}"
    assert original.decode("latin-1")[:200] not in haystacks["attachments"]

    # Officers still read it all.
    detail = await (await client.get(f"/api/v1/staff/tips/{tip_id}", headers=admin)).json()
    assert TEXT_MARK in detail["text"] and PLACE_MARK in detail["place"]
    assert [n["text"] for n in detail["notes"]] == [f"ghi chú {NOTE_MARK}"]
    page = await (await client.get(f"/staff/tips/{tip_id}", headers={"Cookie": admin["Cookie"]})).text()
    assert MESSAGE_MARK in page and REPLY_MARK in page
    download = await client.get(f"/api/v1/staff/tips/{tip_id}/attachments/1", headers=admin)
    assert download.status == 200 and await download.read() == original

    # And the search finds it, with or without diacritics, by text or place words.
    async def found(q: str) -> list[int]:
        resp = await client.get(f"/api/v1/staff/tips?q={quote(q)}", headers=admin)
        assert resp.status == 200
        return [item["id"] for item in (await resp.json())["items"]]

    for query in ("nha nghi", "Nhà Nghỉ", "zqxtextmark", f"phố {PLACE_MARK.lower()}", "NHA NGHI ZQXTEXTMARK"):
        assert await found(query) == [tip_id], query
    assert await found("nha tro") == []


VENUE_MARK = "ZQXVENUEMARK"
SITE_MARK = "zqxsitemark"
SUPPORT_MARK = "ZQXSUPPORTMARK"
ANSWER_MARK = "ZQXANSWERMARK"


async def test_triage_reasons_and_support_messages_are_stored_only_encrypted(
    client: Any,
    services: Services,
    admin: dict[str, str],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Triage's reasons name the venue and web address two tips share: they are sealed,
    the queue still shows the proposal's codes, and the tip page its reasons in words. A
    support request's messages are sealed too, and read back by the person and staff."""
    caplog.set_level(logging.DEBUG)
    text = f"Quán karaoke {VENUE_MARK} có bán dâm, quảng cáo trên http://{SITE_MARK}.vn/phong"
    ids = []
    for _ in range(2):
        resp = await client.post("/api/v1/tips", json={"text": text, "urgent": False})
        assert resp.status == 201, await resp.text()
    async with services.engine.connect() as conn:
        ids = [int(i) for i in (await conn.scalars(sa.select(TipRow.id).order_by(TipRow.id))).all()]
        stored = (
            await conn.execute(sa.select(TipRow.triage, TipRow.triage_sealed).where(TipRow.id == ids[1]))
        ).one()
    assert stored.triage_sealed is not None
    assert set(stored.triage) <= {
        "language", "category", "urgent", "commune_code", "commune_candidates", "duplicate_of", "scores",
    }  # fmt: skip
    receipt = await services.support.ask(
        kinds=["health"], commune=None, contact=None, message=f"xin giúp {SUPPORT_MARK}"
    )
    case = (await services.support.read(receipt.code, receipt.passphrase)).case
    from core.establishments import Scope

    await services.support.answer(
        case.id, Scope(everything=True), actor="officer:a", message=f"đáp {ANSWER_MARK}"
    )

    haystacks = {**await _everything_stored(services, settings), "logs": caplog.text}
    for where, found in haystacks.items():
        for marker in (
            VENUE_MARK,
            VENUE_MARK.lower(),
            SITE_MARK,
            SITE_MARK.upper(),
            SUPPORT_MARK,
            ANSWER_MARK,
        ):
            assert marker not in found, f"{marker!r} found in {where}"

    # Officers see the whole proposal, its reasons in words; the person and staff the messages.
    detail = await (await client.get(f"/api/v1/staff/tips/{ids[1]}", headers=admin)).json()
    assert detail["triage"]["duplicate_of"] == ids[0] and detail["triage"]["reasons"]
    assert any(f"{SITE_MARK}.vn" in reason for reason in detail["triage"]["reasons"])
    page = await (await client.get(f"/staff/tips/{ids[1]}", headers={"Cookie": admin["Cookie"]})).text()
    words = explain.render(detail["triage"], "vi")
    assert words and all(html.escape(w, quote=False) in page for w in words), words
    queue = await (await client.get("/api/v1/staff/tips", headers=admin)).json()
    assert {item["id"] for item in queue["items"]} == set(ids)
    messages = (await services.support.read(receipt.code, receipt.passphrase)).messages
    assert [m.body for m in messages] == [f"xin giúp {SUPPORT_MARK}", f"đáp {ANSWER_MARK}"]
    staff_view = await services.support.page(case.id, Scope(everything=True))
    assert [m.body for m in staff_view.messages] == [m.body for m in messages]


async def test_a_ciphertext_moved_to_another_row_does_not_open(services: Services) -> None:
    from tests.builders import submit

    first = (await submit(services.intake, text="Tin thứ nhất ở quán A")).tip_id
    second = (await submit(services.intake, text="Tin thứ hai ở quán B")).tip_id
    for tip_id in (first, second):
        await services.tips.add_note(tip_id, actor="officer:a", text=f"ghi chú {tip_id}")
    async with services.engine.begin() as conn:
        text = await conn.scalar(sa.select(TipRow.text).where(TipRow.id == first))
        await conn.execute(sa.update(TipRow).where(TipRow.id == second).values(text=text))
        note = await conn.scalar(sa.select(TipNoteRow.text).where(TipNoteRow.tip_id == first))
        await conn.execute(sa.update(TipNoteRow).where(TipNoteRow.tip_id == second).values(text=note))
    assert (await services.tips.view(first, "officer:a"))[0].text == "Tin thứ nhất ở quán A"
    with pytest.raises(EnvelopeError, match="does not decrypt"):
        await services.tips.view(second, "officer:a")
    with pytest.raises(EnvelopeError):
        await services.tips.notes(second)
    # Another master key opens nothing.
    async with SqlUnitOfWork(session_factory(services.engine), lambda: Envelope(bytes(32))) as uow:
        with pytest.raises(EnvelopeError):
            await uow.tips.get(first)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _seed(settings: Settings, clock: FakeClock) -> int:
    from tests.builders import draft, submit

    async with open_services(settings, clock) as services:
        tip_id = (await submit(services.intake, text="Quán karaoke Hoa Hồng")).tip_id
        await services.tips.add_note(tip_id, actor="officer:a", text="đã gọi điện")
        await services.tips.reply(tip_id, actor="officer:a", text="cảm ơn bạn")
        await services.intake.submit(draft("ảnh kèm theo"), files=[jpeg()])
        await services.support.ask(kinds=["health"], commune=None, contact=None, message="cần giúp đỡ")
    return tip_id


def test_rotation_keeps_everything_readable_and_check_finds_a_corrupt_row(
    settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_PROVINCE", "79")
    monkeypatch.setenv("HOTLINE_MASTER_KEY", KEY)
    tip_id = asyncio.run(_seed(settings, clock))
    code, out, _ = _cli(capsys, "keys", "check")
    assert code == 0 and "every encrypted value opens" in out and "tip: 2 checked, 0 failed" in out
    assert "support_messages: 1 checked, 0 failed" in out

    new = new_master_key_hex()
    assert _cli(capsys, "keys", "rotate")[0] == 2  # no new key given
    key_file = settings.data_dir.parent / "new.key"
    key_file.write_text(new + "\n")
    # During the rotation a server holds both keys: it reads old and new rows alike.
    both = settings.model_copy(update={"new_master_key": new})
    code, out, _ = _cli(capsys, "keys", "rotate", "--new-key-file", str(key_file), "--batch", "1")
    assert code == 0 and "2 tips" in out and "1 files" in out and "1 support messages" in out
    assert _cli(capsys, "keys", "rotate", "--new-key-file", str(key_file))[1].startswith(
        "rewrapped under key"
    )  # again: nothing left to do, still fine

    async def read(with_settings: Settings) -> tuple[str, list[str], list[int]]:
        from core.jurisdiction import Jurisdiction
        from core.queue import QueueFilter

        async with open_services(with_settings, clock) as services:
            tip, _ = await services.tips.view(tip_id, "officer:a")
            notes = [n.text for n in await services.tips.notes(tip_id)]
            found = await services.tips.queue(Jurisdiction(everything=True), QueueFilter(text="hoa hong"))
            return tip.text, notes, [i.id for i in found.items]

    assert asyncio.run(read(both)) == ("Quán karaoke Hoa Hồng", ["đã gọi điện"], [tip_id])
    # The old key alone no longer opens the rows; the new one alone does.
    monkeypatch.setenv("HOTLINE_MASTER_KEY", new)
    code, out, _ = _cli(capsys, "keys", "check")
    assert code == 0, out
    after = settings.model_copy(update={"master_key": new})
    assert asyncio.run(read(after)) == ("Quán karaoke Hoa Hồng", ["đã gọi điện"], [tip_id])
    monkeypatch.setenv("HOTLINE_MASTER_KEY", KEY)
    code, _, err = _cli(capsys, "keys", "check")
    assert code == 1 and "do not open" in err

    # A corrupted row fails the check, counted, its contents never printed.
    async def corrupt() -> None:
        from storage.db import create_engine

        engine = create_engine(settings.effective_database_url)
        try:
            async with engine.begin() as conn:
                blob = bytes(await conn.scalar(sa.select(TipMessageRow.text)) or b"")
                flipped = blob[:-1] + bytes([blob[-1] ^ 1])
                await conn.execute(sa.update(TipMessageRow).values(text=flipped))
        finally:
            await engine.dispose()

    asyncio.run(corrupt())
    monkeypatch.setenv("HOTLINE_MASTER_KEY", new)
    code, out, err = _cli(capsys, "keys", "check")
    assert code == 1 and "tip_messages: 1 checked, 1 failed" in out and "1 encrypted values" in err
    assert "cảm ơn" not in out + err
    assert parse_master_key(new) != parse_master_key(KEY)


def test_serve_on_postgresql_refuses_without_an_explicit_master_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOTLINE_MASTER_KEY", raising=False)
    monkeypatch.delenv("HOTLINE_MASTER_KEY_FILE", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, _, err = _cli(capsys, "serve")
    assert code == 2 and "HOTLINE_MASTER_KEY" in err and "PostgreSQL needs an explicit master key" in err


def test_search_words_are_folded_whole_words_and_hashed() -> None:
    from core import blind_index

    key = bytes(range(32))
    assert blind_index.words("Nhà nghỉ, NHÀ nghỉ; phòng_2") == ["nha", "nghi", "phong", "2"]
    assert blind_index.tokens(key, "Nhà nghỉ", "nha") == [
        blind_index.token(key, "nha"),
        blind_index.token(key, "nghi"),
    ]
    assert blind_index.token(key, "nha") != blind_index.token(bytes(32), "nha")
    assert blind_index.query_tokens([key, bytes(32)], "nhà") == [
        (blind_index.token(key, "nha"), blind_index.token(bytes(32), "nha"))
    ]
    assert blind_index.query_tokens([key], "%_ ,") == []
    assert len(blind_index.words("x" * 500)[0]) == blind_index.MAX_WORD


def test_keys_commands_refuse_bad_keys_clearly_without_echoing_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_MASTER_KEY", KEY)
    bad = tmp_path / "bad.key"
    bad.write_text("not-a-key-SECRETISH")
    code, _, err = _cli(capsys, "keys", "rotate", "--new-key-file", str(bad))
    assert code == 2 and "64 hexadecimal" in err and "SECRETISH" not in err
    code, _, err = _cli(capsys, "keys", "rotate", "--new-key-file", str(tmp_path / "missing.key"))
    assert code == 2 and "missing.key" in err
    same = tmp_path / "same.key"
    same.write_text(KEY)
    assert _cli(capsys, "keys", "rotate", "--new-key-file", str(same))[0] == 2
    fresh = tmp_path / "fresh.key"
    fresh.write_text(new_master_key_hex())
    assert _cli(capsys, "keys", "rotate", "--new-key-file", str(fresh), "--batch", "0")[0] == 2
    monkeypatch.setenv("HOTLINE_MASTER_KEY_FILE", str(bad))
    monkeypatch.delenv("HOTLINE_MASTER_KEY")
    code, _, err = _cli(capsys, "keys", "check")
    assert code == 2 and "SECRETISH" not in err


@pytest.mark.parametrize("cap", [1, 2, 10_000])
async def test_search_finds_the_same_whether_words_are_looked_up_as_ids_or_walked(
    services: Services, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    """A rare word is read out as a list of ids, a common one probed while the queue is
    walked (`SEARCH_IDS_CAP`): the answers are the same; a word nobody wrote finds nothing."""
    import storage.repositories as repositories
    from core.jurisdiction import Jurisdiction
    from core.queue import QueueFilter
    from tests.builders import submit

    monkeypatch.setattr(repositories, "SEARCH_IDS_CAP", cap)
    a = (await submit(services.intake, text="Nhà nghỉ Hoa Hồng gần chợ")).tip_id
    b = (await submit(services.intake, text="nha nghi Binh An, gan cho Ben Thanh")).tip_id
    await submit(services.intake, text="Quán karaoke trên đường Lê Lợi")

    async def found(q: str) -> set[int]:
        page = await services.tips.queue(Jurisdiction(everything=True), QueueFilter(text=q))
        return {item.id for item in page.items}

    assert await found("nha nghi") == {a, b}
    assert await found("gần chợ nhà") == {a, b}
    assert await found("hoa hong cho") == {a}
    assert await found("ben thanh nghi") == {b}
    assert await found("qwxyz") == set()
    assert await found("nha qwxyz") == set()
