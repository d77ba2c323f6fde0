"""Group commit of intake: concurrent tips share transactions, each caller still answers only
after its own tip is committed, and a failure reaches exactly the callers it concerns.

The fake store's steps wait on gates the tests open, so the order of events is set by the
tests, never by how long a sleep happens to last on a loaded machine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import InvalidInput
from core.group_commit import GroupCommit, WriterStopped
from handlers.keys import SERVICES
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import TipRow, TransitionRow
from tests.conftest import PROVINCE


async def settle() -> None:
    """Let every task that is ready run until it waits (no wall-clock time involved)."""
    for _ in range(20):
        await asyncio.sleep(0)


class Store:
    """A fake transactional store: `commit` is where a batch becomes visible. A write waits
    at `gate` (open unless the test closes it) and says it started through `writing`."""

    def __init__(self) -> None:
        self.committed: list[int] = []
        self.batches: list[list[int]] = []
        self.fail_with: Exception | None = None
        self.refuse: set[int] = set()
        self.gate = asyncio.Event()
        self.gate.set()
        self.writing = asyncio.Event()

    async def prepare(self, items: Sequence[int]) -> list[int | Exception]:
        return [InvalidInput("negative") if item < 0 else item * 10 for item in items]

    async def write(self, batch: Sequence[int]) -> list[str]:
        self.writing.set()
        await self.gate.wait()  # a transaction in flight: the next arrivals queue up
        if self.fail_with is not None:
            raise self.fail_with
        if self.refuse & set(batch):
            raise InvalidInput("refused")
        self.batches.append(list(batch))
        self.committed.extend(batch)
        return [f"stored {item}" for item in batch]


async def test_concurrent_items_share_transactions_and_each_gets_its_own_result() -> None:
    store = Store()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write)
    store.gate.clear()
    first = asyncio.create_task(writer.submit(0))
    await store.writing.wait()  # its transaction is in flight when the others arrive
    others = [asyncio.create_task(writer.submit(i)) for i in range(1, 50)]
    await settle()
    store.gate.set()
    results = [await first, *await asyncio.gather(*others)]
    assert results == [f"stored {i * 10}" for i in range(50)]
    assert store.batches == [[0], [i * 10 for i in range(1, 50)]]
    assert writer.items == 50 and writer.batches == 2


async def test_a_lone_item_is_not_held_back_waiting_for_company() -> None:
    store = Store()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write)
    assert await asyncio.wait_for(writer.submit(7), timeout=5) == "stored 70"
    assert store.batches == [[70]]


async def test_a_refused_item_fails_alone_and_the_rest_of_its_batch_is_stored() -> None:
    store = Store()
    store.refuse = {30}
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write)
    outcomes = await asyncio.gather(*(writer.submit(i) for i in range(6)), return_exceptions=True)
    assert isinstance(outcomes[3], InvalidInput)
    assert [o for i, o in enumerate(outcomes) if i != 3] == [f"stored {i * 10}" for i in (0, 1, 2, 4, 5)]
    assert 30 not in store.committed


async def test_an_item_that_cannot_be_prepared_fails_alone() -> None:
    store = Store()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write)
    outcomes = await asyncio.gather(
        writer.submit(1), writer.submit(-1), writer.submit(2), return_exceptions=True
    )
    assert outcomes[0] == "stored 10" and outcomes[2] == "stored 20"
    assert isinstance(outcomes[1], InvalidInput)


async def test_a_database_failure_fails_the_whole_batch_and_is_not_retried_item_by_item() -> None:
    """A lost connection may have hidden a COMMIT that happened: writing again could store
    a tip twice, so every caller of the batch is told it was not saved."""
    store = Store()
    store.fail_with = ConnectionError("database unreachable")
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write)
    outcomes = await asyncio.gather(*(writer.submit(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert store.committed == []
    store.fail_with = None
    assert await writer.submit(9) == "stored 90"  # the writer recovers for the next callers


async def test_a_cancelled_caller_still_has_its_item_written() -> None:
    store = Store()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write)
    first = asyncio.create_task(writer.submit(1))
    second = asyncio.create_task(writer.submit(2))
    await asyncio.sleep(0)
    second.cancel()
    assert await first == "stored 10"
    await writer.close()
    assert sorted(store.committed) == [10, 20]


async def test_stopping_the_writer_answers_everyone_who_waits() -> None:
    store = Store()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write)
    store.gate.clear()
    waiting = [asyncio.create_task(writer.submit(i)) for i in range(5)]
    await store.writing.wait()
    assert writer._writer is not None
    writer._writer.cancel()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, (WriterStopped, str)) for o in outcomes)
    assert any(isinstance(o, WriterStopped) for o in outcomes)


@pytest.fixture
def settings(db_url: str, tmp_path: Any) -> Settings:
    """The bursts below come from one test client: its per-source share is raised."""
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        submissions_per_source_per_minute=1000,
    )


def test_a_batch_needs_room_for_one() -> None:
    with pytest.raises(ValueError):
        GroupCommit(Store().prepare, Store().write, max_batch=0)


async def test_a_burst_through_the_api_is_stored_whole_in_shared_transactions(
    client: Any, services: Services
) -> None:
    """40 reports at once: 40 receipts, 40 tips each with its history row, counted once in
    the weekly rollup, in fewer transactions than tips (on SQLite and PostgreSQL)."""

    async def report(i: int) -> dict[str, Any]:
        resp = await client.post("/api/v1/tips", json={"text": f"Quán karaoke số {i} có gái bán dâm"})
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    receipts = await asyncio.gather(*(report(i) for i in range(40)))
    assert len({r["receipt_code"] for r in receipts}) == 40
    intake = client.app[SERVICES].intake.writer
    assert intake.items == 40 and intake.batches < 40
    async with services.engine.connect() as conn:
        tips = await conn.scalar(sa.select(sa.func.count()).select_from(TipRow))
        history = await conn.scalar(
            sa.select(sa.func.count()).select_from(TransitionRow).where(TransitionRow.action == "create")
        )
        weekly = await conn.scalar(sa.text("SELECT SUM(received) FROM tip_weeks"))
    from tests.builders import stored_tips

    texts = [t.text for t in await stored_tips(services.settings.effective_database_url, services.master_keys)]
    assert (tips, history, weekly) == (40, 40, 40)
    assert sorted(texts) == sorted(f"Quán karaoke số {i} có gái bán dâm" for i in range(40))
    # Each reporter's passphrase opens their own tip: ids and codes were not mixed up in a batch.
    for receipt in receipts[:5]:
        resp = await client.post(
            "/api/v1/tips/status",
            json={"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]},
        )
        assert resp.status == 200


async def test_a_tip_the_database_refuses_is_refused_alone_and_its_batch_is_stored(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the rules let through but the database cannot store (here a NUL slipped into
    `language`, as a NUL in `place` once passed validation) fails its own tip with a 422, not the 39 others
    written with it."""
    import storage.repositories as repositories

    tip_values = repositories._tip_values

    def slipping(tip: Any, sealed: Any) -> dict[str, Any]:
        values = tip_values(tip, sealed)
        if "POISON" in tip.draft.text:
            values["language"] = "v\x00"  # texts are ciphertexts now: a plain column
        return values

    monkeypatch.setattr(repositories, "_tip_values", slipping)

    async def report(i: int) -> int:
        text = f"Quán karaoke số {i} có gái bán dâm" + (" POISON" if i == 17 else "")
        resp = await client.post("/api/v1/tips", json={"text": text})
        return resp.status

    statuses = await asyncio.gather(*(report(i) for i in range(40)))
    assert statuses[17] == 422 and statuses[:17] + statuses[18:] == [201] * 39
    from tests.builders import stored_tips

    texts = [tip.text for tip in await stored_tips(services.settings.effective_database_url, services.master_keys)]
    async with services.engine.connect() as conn:
        weekly = await conn.scalar(sa.text("SELECT SUM(received) FROM tip_weeks"))
    assert sorted(texts) == sorted(f"Quán karaoke số {i} có gái bán dâm" for i in range(40) if i != 17)
    assert weekly == 39


async def test_passphrases_are_hashed_by_the_writer_when_its_read_ahead_fails(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's read-ahead hashes a batch's passphrases; when it fails (here every other
    time), the writer hashes them before the write. Every receipt still opens its tip, and
    no passphrase is stored in the clear."""
    intake = client.app[SERVICES].intake
    read_ahead, calls = intake._read_ahead, [0]

    async def flaky(batch: Sequence[Any]) -> list[Any]:
        calls[0] += 1
        if calls[0] % 2:
            raise RuntimeError("read-ahead lost")
        return list(await read_ahead(batch))

    monkeypatch.setattr(intake.writer, "_read_ahead", flaky)

    async def report(i: int) -> dict[str, Any]:
        resp = await client.post("/api/v1/tips", json={"text": f"Nhà nghỉ số {i} chứa mại dâm"})
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    receipts = [*await asyncio.gather(*(report(i) for i in range(6)))]
    receipts += await asyncio.gather(*(report(i) for i in range(6, 12)))
    assert calls[0] >= 2  # both paths ran
    for receipt in receipts:
        resp = await client.post(
            "/api/v1/tips/status",
            json={"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]},
        )
        assert resp.status == 200
    async with services.engine.connect() as conn:
        hashes = (await conn.scalars(sa.select(TipRow.passphrase_hash))).all()
    assert len(hashes) == 12 and all(h and h.startswith("p1$argon2id$") for h in hashes)
    assert not {r["passphrase"] for r in receipts} & set(hashes)


class ReadAhead(Store):
    """A store with a read-ahead step that records when it ran against the writes."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.events: list[str] = []
        self.reads = 0
        self.read = asyncio.Event()

    async def read_ahead(self, items: Sequence[int]) -> list[int]:
        self.events.append(f"read {list(items)}")
        self.reads += 1
        self.read.set()
        await asyncio.sleep(0)  # a hand-over to a thread or a helper process
        if self.fail:
            raise RuntimeError("helper gone")
        return [item + 1 for item in items]

    async def write(self, batch: Sequence[int]) -> list[str]:
        self.events.append(f"write {list(batch)} starts")
        try:
            return await super().write(batch)
        finally:
            self.events.append(f"write {list(batch)} ends")


async def test_the_next_batch_is_read_ahead_while_the_previous_one_is_written() -> None:
    store = ReadAhead()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write, read_ahead=store.read_ahead)
    store.gate.clear()
    first = asyncio.create_task(writer.submit(1))
    await store.writing.wait()  # read ahead, prepared, written from now on
    rest = [asyncio.create_task(writer.submit(i)) for i in (2, 3)]
    await settle()  # [2, 3] arrive and are read ahead while [20] is in its transaction
    store.gate.set()
    rest = await asyncio.gather(*rest)
    assert [await first, *rest] == ["stored 20", "stored 30", "stored 40"]
    assert store.events == [
        "read [1]",
        "write [20] starts",
        "read [2, 3]",  # while [20] is in its transaction
        "write [20] ends",
        "write [30, 40] starts",
        "write [30, 40] ends",
    ]


async def test_a_failed_read_ahead_only_costs_its_work() -> None:
    store = ReadAhead(fail=True)
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write, read_ahead=store.read_ahead)
    assert await asyncio.gather(*(writer.submit(i) for i in (1, 2))) == ["stored 10", "stored 20"]


async def test_a_refused_item_and_a_failed_write_with_read_ahead() -> None:
    store = ReadAhead()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write, read_ahead=store.read_ahead)
    outcomes = await asyncio.gather(writer.submit(-5), writer.submit(1), return_exceptions=True)
    assert isinstance(outcomes[0], InvalidInput) and outcomes[1] == "stored 20"
    store.fail_with = ConnectionError("database gone")
    outcomes = await asyncio.gather(writer.submit(2), writer.submit(3), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    await writer.close()


async def test_stopping_the_writer_during_a_read_ahead_answers_everyone() -> None:
    store = ReadAhead()
    writer: GroupCommit[int, int, str] = GroupCommit(store.prepare, store.write, read_ahead=store.read_ahead)
    store.gate.clear()
    waiting = [asyncio.create_task(writer.submit(i)) for i in range(3)]
    await store.writing.wait()  # the first batch is being written; more arrive
    waiting += [asyncio.create_task(writer.submit(i)) for i in range(3, 6)]
    await settle()
    assert writer._writer is not None
    writer._writer.cancel()
    await settle()
    store.gate.set()  # the transaction in flight finishes after the stop
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, (WriterStopped, str)) for o in outcomes)
    assert outcomes[:3] == ["stored 10", "stored 20", "stored 30"]  # its transaction finished


async def test_a_full_batch_read_ahead_waits_for_the_write_without_spinning() -> None:
    store = ReadAhead()
    writer: GroupCommit[int, int, str] = GroupCommit(
        store.prepare, store.write, read_ahead=store.read_ahead, max_batch=2
    )
    results = await asyncio.wait_for(asyncio.gather(*(writer.submit(i) for i in range(9))), 5)
    assert results == [f"stored {(i + 1) * 10}" for i in range(9)]
    assert all(len(batch) <= 2 for batch in store.batches)
    assert sorted(store.committed) == [(i + 1) * 10 for i in range(9)]
