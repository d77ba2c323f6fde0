"""`hotline files sweep`: files no row names are removed after the grace period, and only those."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from hotline.bootstrap import open_services
from hotline.cli import main
from hotline.masterkey import MasterKeySource
from hotline.settings import Settings
from storage.files import DirectoryStore
from tests.builders import draft
from tests.test_web_api import jpeg


def age(path: Path, minutes: float) -> None:
    then = time.time() - minutes * 60
    os.utime(path, (then, then))


def test_sweep_removes_old_orphans_and_keeps_recorded_and_recent_files(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = DirectoryStore(settings.attachments_path, MasterKeySource(settings))

    async def set_up() -> tuple[list[str], str, str]:
        async with open_services(settings) as services:
            receipt = await services.intake.submit(draft(), files=[jpeg()])
            recorded = [a.storage_key for a in await services.tips.attachments(receipt.tip_id)]
        return (
            recorded,
            await store.put(b"photo of a crash before commit"),
            await store.put(b"upload in flight"),
        )

    tip_files, old_orphan, new_orphan = asyncio.run(set_up())
    half_written = store.root / "ab" / ("ab" * 16 + ".tmp")
    half_written.parent.mkdir(exist_ok=True)
    half_written.write_bytes(b"partial")
    for key in (*tip_files, old_orphan):
        age(store.root / key[:2] / key, minutes=120)
    age(half_written, minutes=120)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_PROVINCE", settings.province)

    assert main(["files", "sweep", "--grace-minutes", "60", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert (
        old_orphan in dry and "would delete 2" in dry and (store.root / old_orphan[:2] / old_orphan).exists()
    )

    assert main(["files", "sweep", "--grace-minutes", "60"]) == 0
    assert "deleted 2" in capsys.readouterr().out

    remaining = {p.name for p in store.root.rglob("*") if p.is_file()}
    assert remaining == {*tip_files, new_orphan}
    assert asyncio.run(store.get(tip_files[0]))  # the recorded photo is still readable
