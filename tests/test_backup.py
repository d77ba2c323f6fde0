"""`hotline backup` and `hotline restore` as an operator runs them: an archive restored into
an empty data directory (SQLite) or empty database (PostgreSQL) serves the same tips and
files; a tampered or truncated archive, a wrong key and a non-empty target are refused
clearly with nothing left behind; the archive holds no marker text in plain form."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.archive import CHUNK, ArchiveError, DecryptingReader, EncryptingWriter, read_header
from core.categories import Category
from hotline.bootstrap import open_services
from hotline.cli import main
from hotline.settings import Settings
from storage.db import create_engine
from tests.builders import draft
from tests.conftest import COMMUNE, FakeClock
from tests.test_web_api import jpeg

KEY = "11" * 32
OTHER_KEY = "22" * 32
MARKERS = ("MARKER-BACKUP-TEXT Hoa Hồng", "MARKER-BACKUP-PLACE hẻm 7", "MARKER-BACKUP-NOTE")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def use(monkeypatch: pytest.MonkeyPatch, *, url: str, data_dir: Path, **extra: str) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOTLINE_PROVINCE", "79")
    monkeypatch.setenv("HOTLINE_MASTER_KEY", KEY)
    monkeypatch.delenv("HOTLINE_BACKUP_KEY", raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


async def seed(settings: Settings) -> None:
    from datetime import UTC, datetime

    clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    async with open_services(settings, clock) as services:
        for i in range(3):
            receipt = await services.intake.submit(
                draft(f"{MARKERS[0]} {i}", place=MARKERS[1], commune_code=COMMUNE, category=Category.VENUE),
                files=[jpeg((40 + i, 30))],
            )
            await services.tips.add_note(receipt.tip_id, actor="officer:test", text=MARKERS[2])


def snapshot(url: str, files: Path) -> dict[str, Any]:
    stored = {p.relative_to(files).as_posix(): p.read_bytes() for p in files.rglob("*") if p.is_file()}
    return {**asyncio.run(_rows(url)), "files": stored}


async def _rows(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tips = (
                await conn.execute(
                    sa.text("SELECT id, receipt_code, text, place, stage FROM tips ORDER BY id")
                )
            ).all()
            notes = (await conn.execute(sa.text("SELECT tip_id, text FROM tip_notes ORDER BY id"))).all()
    finally:
        await engine.dispose()
    return {"tips": [tuple(t) for t in tips], "notes": [tuple(n) for n in notes]}


def test_a_backup_restores_into_an_empty_target_and_serves_the_same_tips(
    settings: Settings,
    empty_db_url: str,
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source_dir = settings.data_dir
    use(monkeypatch, url=settings.effective_database_url, data_dir=source_dir)
    asyncio.run(
        seed(Settings(database_url=settings.effective_database_url, data_dir=source_dir, province="79"))
    )
    before = snapshot(settings.effective_database_url, settings.attachments_path)
    assert len(before["tips"]) == 3 and len(before["files"]) == 3

    archive = tmp_path / "backups" / "hotline.bak"
    code, out, err = run(capsys, "backup", "--out", str(archive))
    assert code == 0, err
    assert "3 attachment files" in out
    blob = archive.read_bytes()
    for marker in MARKERS:
        assert marker.encode() not in blob and marker.split()[0].encode() not in blob
    assert b"SQLite format" not in blob and b"PGDMP" not in blob
    assert not list(archive.parent.glob(".*partial"))

    target_dir = tmp_path / "restored"
    target_url = f"sqlite:///{target_dir / 'hotline.db'}" if backend == "sqlite" else empty_db_url

    # A wrong key, a truncated and an altered archive: refused, nothing left behind.
    use(monkeypatch, url=target_url, data_dir=target_dir, HOTLINE_MASTER_KEY=OTHER_KEY)
    code, _, err = run(capsys, "restore", "--from", str(archive))
    assert code == 1 and "wrong key" in err and "nothing was restored" in err
    use(monkeypatch, url=target_url, data_dir=target_dir)
    truncated = tmp_path / "truncated.bak"
    truncated.write_bytes(blob[:-40])
    code, _, err = run(capsys, "restore", "--from", str(truncated))
    assert code == 1 and ("truncated" in err or "altered" in err), err
    altered = tmp_path / "altered.bak"
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x01
    altered.write_bytes(bytes(flipped))
    code, _, err = run(capsys, "restore", "--from", str(altered))
    assert code == 1 and "altered" in err, err
    code, _, err = run(capsys, "restore", "--from", str(tmp_path / "missing.bak"))
    assert code == 1 and "cannot read" in err
    assert not target_dir.exists() or not any(target_dir.iterdir())
    if backend == "postgresql":
        assert asyncio.run(_tables(empty_db_url)) == 0

    code, out, err = run(capsys, "restore", "--from", str(archive))
    assert code == 0, err
    restored_files = target_dir / "attachments"
    assert (snapshot(target_url, restored_files)) == before
    # The restored copy works as a hotline: the service reads the tips and their files.
    # Texts and files are stored encrypted: compare what each copy's service opens.
    restored = Settings(database_url=target_url, data_dir=target_dir, province="79")
    original = Settings(database_url=settings.effective_database_url, data_dir=source_dir, province="79")

    async def read_back(copy: Settings) -> tuple[str, bytes]:
        async with open_services(copy) as services:
            tip, _ = await services.tips.view(before["tips"][0][0], actor="officer:test")
            _, data = await services.tips.download(tip.id, 1, actor="officer:test")
            return tip.text, data

    text, data = asyncio.run(read_back(restored))
    assert text.startswith(MARKERS[0]) and (text, data) == asyncio.run(read_back(original))

    # A second restore into what is now not empty is refused.
    code, _, err = run(capsys, "restore", "--from", str(archive))
    assert code == 1 and "not empty" in err


async def _tables(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                    )
                )
                or 0
            )
    finally:
        await engine.dispose()


def test_the_backup_key_is_needed_and_named(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not settings.effective_database_url.startswith("sqlite"):
        pytest.skip("the key handling is the same on both databases")
    use(monkeypatch, url=settings.effective_database_url, data_dir=settings.data_dir, HOTLINE_BACKUP_KEY=KEY)
    asyncio.run(seed(Settings(database_url=settings.effective_database_url, data_dir=settings.data_dir)))
    archive = tmp_path / "b.bak"
    assert run(capsys, "backup", "--out", str(archive))[0] == 0
    target = tmp_path / "t"
    use(monkeypatch, url=f"sqlite:///{target / 'hotline.db'}", data_dir=target)
    code, _, err = run(capsys, "restore", "--from", str(archive))
    assert code == 1 and "HOTLINE_BACKUP_KEY" in err
    use(monkeypatch, url=f"sqlite:///{target / 'hotline.db'}", data_dir=target, HOTLINE_BACKUP_KEY=OTHER_KEY)
    code, _, err = run(capsys, "restore", "--from", str(archive))
    assert code == 1 and "wrong key" in err
    monkeypatch.setenv("HOTLINE_BACKUP_KEY", "not hex")
    code, _, err = run(capsys, "restore", "--from", str(archive))
    assert code == 2 and "HOTLINE_BACKUP_KEY" in err
    with pytest.raises(SystemExit) as exc:
        main(["backup"])
    assert exc.value.code == 2


def test_the_stream_format_refuses_reordered_dropped_and_appended_parts() -> None:
    secret = bytes(32)
    out = io.BytesIO()
    writer = EncryptingWriter(out, secret, 0)
    payload = bytes(range(256)) * (CHUNK // 256) * 3 + b"tail"
    writer.write(payload)
    writer.close()
    blob = out.getvalue()

    def read(data: bytes) -> bytes:
        raw = io.BytesIO(data)
        header, _ = read_header(raw)
        reader = DecryptingReader(raw, secret, header)
        got = reader.read()
        reader.finish()
        return got

    assert read(blob) == payload
    header_len = len(writer.header)
    part = 4 + CHUNK + 16
    first, second = blob[header_len : header_len + part], blob[header_len + part : header_len + 2 * part]
    swapped = blob[:header_len] + second + first + blob[header_len + 2 * part :]
    dropped = blob[:header_len] + second + blob[header_len + 2 * part :]
    for bad in (swapped, dropped, blob + b"x", blob[: header_len + 2 * part], b"junk" * 20, blob[:10]):
        with pytest.raises(ArchiveError):
            read(bad)


def test_two_backups_and_two_restores_at_once(
    settings: Settings,
    empty_db_url: str,
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from hotline.backup import BackupError, restore_backup, write_backup

    monkeypatch.delenv("HOTLINE_BACKUP_KEY", raising=False)
    source = Settings(
        database_url=settings.effective_database_url,
        data_dir=settings.data_dir,
        province="79",
        master_key=KEY,
    )
    asyncio.run(seed(source))
    archive = tmp_path / "same.bak"
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda _: write_backup(source, archive), range(2)))
    assert all("3 attachment files" in d for d in done)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    target_dir = tmp_path / "restored"
    target_url = f"sqlite:///{target_dir / 'hotline.db'}" if backend == "sqlite" else empty_db_url
    target = Settings(database_url=target_url, data_dir=target_dir, province="79", master_key=KEY)

    def attempt(_: int) -> str:
        try:
            return restore_backup(target, archive)
        except BackupError as exc:
            return f"refused: {exc}"

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(attempt, range(2)))
    assert sum(r.startswith("restored") for r in results) == 1, results
    refused = next(r for r in results if r.startswith("refused"))
    assert "another restore" in refused or "not empty" in refused
    before = snapshot(source.effective_database_url, source.attachments_path)
    assert snapshot(target_url, target.attachments_path) == before
