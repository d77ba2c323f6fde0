"""Triage read in a helper process (hotline/triage_worker.py): the same proposals as on the
event loop, and a helper that is slow to start, dies, hangs or talks nonsense costs a
batch its read-ahead, never a tip."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.intake_triage import shared_triage
from core.receipts import normalise
from core.triage import DuplicateIndex, Triage
from handlers.keys import SERVICES
from hotline.settings import Settings
from hotline.triage_worker import TriageWorker
from storage.models import TipRow
from storage.sealed import TRIAGE_CLEAR
from tests.conftest import PROVINCE

DATA = Path(__file__).parent / "data" / "triage_dev.jsonl"
URGENT = "co be gai 14 tuoi bi ep tiep khach o nha nghi, dang bi nhot khong cho ve"
VENUE = "Quán karaoke Hoa Hồng số 12 đường Lê Lợi có nhân viên bán dâm cho khách, gọi 0912 345 678"


def dev_texts() -> list[str]:
    return [json.loads(line)["text"] for line in DATA.read_text(encoding="utf-8").splitlines()]


async def ready(worker: TriageWorker, seconds: float = 60) -> None:
    await worker.start()
    for _ in range(int(seconds * 20)):
        if worker.ready:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the triage helper did not get ready")


def test_analyse_then_match_is_propose() -> None:
    """Reading a text alone and matching it against the index later gives what `propose`
    gives in one go, for every text of the dev set (duplicates included)."""
    triage = shared_triage()
    texts = dev_texts()
    index = DuplicateIndex()
    for key, text in enumerate(texts):
        base, fp = triage.analyse(text, province_code=PROVINCE)
        assert base.duplicate_of is None
        assert Triage.match(base, fp, index) == triage.propose(text, province_code=PROVINCE, earlier=index)
        index.add(key, fp)


async def test_the_helper_reads_texts_as_the_event_loop_does() -> None:
    worker = TriageWorker()
    try:
        await ready(worker)
        texts = dev_texts()[:40]
        answer = await worker.analyse(texts, PROVINCE)
        assert answer == [shared_triage().analyse(t, province_code=PROVINCE) for t in texts]
        assert worker.answered == 1
    finally:
        await worker.close()


async def test_a_helper_that_dies_is_replaced_and_its_batch_read_here() -> None:
    worker = TriageWorker(restart_after=0)
    try:
        await ready(worker)
        assert worker._proc is not None
        worker._proc.kill()
        await worker._proc.wait()
        assert await worker.analyse([VENUE], PROVINCE) is None  # the caller reads it itself
        await ready(worker)  # started again
        assert await worker.analyse([VENUE], PROVINCE) is not None
    finally:
        await worker.close()


HANGS = "import sys, pickle, struct, time\n" + (
    "p = pickle.dumps('ready'); sys.stdout.buffer.write(struct.pack('>I', len(p)) + p); sys.stdout.flush()\n"
    "sys.stdin.buffer.read(1); time.sleep(600)\n"
)
NONSENSE = "import sys\nsys.stdout.buffer.write(b'\\x00\\x00\\x00\\x03abc'); sys.stdout.flush()\n"


@pytest.mark.parametrize(
    "script", [HANGS, NONSENSE, "raise SystemExit(3)"], ids=["hangs", "nonsense", "exits"]
)
async def test_a_broken_helper_never_holds_intake(script: str) -> None:
    worker = TriageWorker(command=(sys.executable, "-c", script), base_timeout=0.5, per_text=0)
    try:
        if script == HANGS:
            await ready(worker)  # it said ready: the batch goes to it, and it never answers
        else:
            await worker.start()
            if worker._proc is not None:
                await asyncio.wait_for(worker._proc.wait(), 10)  # it misbehaved and is gone
        assert await asyncio.wait_for(worker.analyse([VENUE], PROVINCE), 5) is None
        assert worker._proc is None or not worker.ready
    finally:
        await asyncio.wait_for(worker.close(), 10)


async def test_tips_through_the_app_are_triaged_by_the_helper(
    db_url: str, tmp_path: Path, aiohttp_client: Any
) -> None:
    """The real app with the helper on: a report while it starts (read on the event loop)
    and a burst once it is ready (read by the helper) get the same proposals, the urgent one
    shortens its deadlines, and the repeat points at the original."""
    from handlers.app import create_app

    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        triage_worker=True,
        submissions_per_source_per_minute=1000,  # one test client sends the whole burst
    )
    client = await aiohttp_client(create_app(settings))
    services = client.app[SERVICES]
    worker = services.intake.analyser
    assert isinstance(worker, TriageWorker)

    async def report(text: str) -> int:
        resp = await client.post("/api/v1/tips", json={"text": text})
        assert resp.status == 201, await resp.text()
        receipt = await resp.json()
        async with services.engine.connect() as conn:
            code = normalise(receipt["receipt_code"])
            tip_id = await conn.scalar(sa.select(TipRow.id).where(TipRow.receipt_code == code))
        return int(tip_id)

    assert worker._proc is not None  # started with the app, ready a second or two later
    first = await report(VENUE)  # most likely read here, while the helper loads
    await ready(worker)
    texts = dev_texts()[:30]
    ids = await asyncio.gather(*(report(t) for t in [URGENT, VENUE, *texts]))
    assert worker.answered >= 1
    async with services.engine.connect() as conn:
        rows = {r.id: r for r in await conn.execute(sa.select(TipRow.id, TipRow.triage, TipRow.urgent))}
    urgent, repeat = rows[ids[0]], rows[ids[1]]
    assert urgent.triage["category"] == "minor" and urgent.urgent
    assert repeat.triage["duplicate_of"] == first
    engine = shared_triage()
    for tip_id, text in zip(ids[2:], texts, strict=True):
        expected = engine.analyse(text, province_code=PROVINCE)[0].to_dict()
        # The stored row keeps the proposal's codes; the repository opens the sealed rest.
        assert set(rows[tip_id].triage) <= set(TRIAGE_CLEAR)
        stored = dict((await services.tips.view(tip_id, "officer:a"))[0].triage or {})
        stored.pop("duplicate_of"), expected.pop("duplicate_of")
        stored["reasons"] = [r for r in stored["reasons"] if not r.startswith("duplicate")]
        assert stored == json.loads(json.dumps(expected))
    # Monitoring sees the helper ready and the intake writer's batching.
    metrics = await (await client.get("/metrics")).text()
    assert "hotline_triage_helper_ready 1.0" in metrics
    assert f'hotline_triage_helper_batches_total{{outcome="answered"}} {float(worker.answered)}' in metrics
    assert f"hotline_intake_tips_total {float(len(ids) + 1)}" in metrics
    assert f"hotline_intake_batches_total {float(services.intake.writer.batches)}" in metrics
    assert services.intake.writer.batches < len(ids) + 1


WRONG_SIZE = "import sys, pickle, struct, time\n" + (
    "def send(v):\n"
    "    p = pickle.dumps(v); sys.stdout.buffer.write(struct.pack('>I', len(p)) + p); sys.stdout.flush()\n"
    "send('ready')\n"
    "n = struct.unpack('>I', sys.stdin.buffer.read(4))[0]; texts = pickle.loads(sys.stdin.buffer.read(n))[0]\n"
    "send(texts * 2)\n"
    "sys.stdin.buffer.read()\n"
)


async def test_a_wrong_sized_answer_is_dropped_without_logging_the_tips(caplog: Any) -> None:
    worker = TriageWorker(command=(sys.executable, "-c", WRONG_SIZE))
    try:
        await ready(worker, seconds=10)
        assert await worker.analyse([VENUE], PROVINCE) is None
        assert "Hoa Hồng" not in caplog.text and "list of 2" in caplog.text
    finally:
        await asyncio.wait_for(worker.close(), 10)
