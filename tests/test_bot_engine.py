"""The channel-neutral conversation and its privacy parts, without any I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag

from core.categories import Channel
from core.chat.directory import MemoryChatDirectory
from core.chat.engine import ChatEngine
from core.chat.events import Incoming, Kind
from core.chat.identity import ChatKeys
from core.chat.ports import ChatRef, Place
from core.chat.state import MemoryChatStateStore, MemoryUpdateLedger
from core.errors import NotFound
from core.intake import Receipt
from core.messages import Author, Message
from core.receipts import new_receipt_code
from core.reporters import ReporterView
from core.stages import Stage
from core.tips import TipDraft
from tests.builders import ATTACHMENTS

KEYS = ChatKeys(b"x" * 32)
PASSPHRASE = "mot hai ba bon nam"


class FakeReporter:
    def __init__(self) -> None:
        self.code = new_receipt_code()
        self.drafts: list[TipDraft] = []
        self.added: list[str] = []

    async def report(self, draft: TipDraft, files: Sequence[bytes] = ()) -> Receipt:
        self.drafts.append(draft)
        return Receipt(
            1, self.code, Stage.RECEIVED, datetime(2026, 3, 2, tzinfo=UTC), draft.urgent, PASSPHRASE
        )

    async def ask(self, text: str, channel: Channel = Channel.WEB) -> Receipt:
        return Receipt(2, self.code, Stage.RECEIVED, datetime(2026, 3, 2, tzinfo=UTC), False, PASSPHRASE)

    async def status(self, receipt_code: str, passphrase: str) -> ReporterView:
        if receipt_code != self.code or passphrase != PASSPHRASE:
            raise NotFound("no")
        reply = Message(Author.OFFICER, "Cảm ơn, chúng tôi đang xác minh.", datetime(2026, 3, 3, tzinfo=UTC))
        return ReporterView("verified", datetime(2026, 3, 2, tzinfo=UTC), (reply,), 0)

    async def add_message(
        self,
        receipt_code: str,
        passphrase: str,
        text: str,
        files: Sequence[bytes] = (),
        channel: Channel = Channel.WEB,
    ) -> Message:
        self.added.append(text)
        return Message(Author.REPORTER, text, datetime(2026, 3, 3, tzinfo=UTC))


class NoPlaces:
    def candidates(self, typed: str) -> list[Place]:
        return []


class Now:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _engine(reporter: FakeReporter, now: Now) -> tuple[ChatEngine, MemoryChatDirectory]:
    directory = MemoryChatDirectory(KEYS)
    engine = ChatEngine(
        reporter=reporter,
        directory=directory,
        places=NoPlaces(),
        store=MemoryChatStateStore(),
        clock=now,
        attachment_policy=ATTACHMENTS,
    )
    return engine, directory


CHAT = ChatRef(Channel.TELEGRAM, KEYS.chat_key("telegram", "918273645"), "918273645")


def text(value: str) -> Incoming:
    return Incoming(Kind.TEXT, text=value)


def tap(data: str) -> Incoming:
    return Incoming(Kind.BUTTON, text=data)


def test_chat_keys_hash_and_encrypt_without_revealing_the_id() -> None:
    assert KEYS.chat_key("telegram", "42") == KEYS.chat_key("telegram", "42")
    assert KEYS.chat_key("telegram", "42") != KEYS.chat_key("zalo", "42")
    assert KEYS.chat_key("telegram", "42") != ChatKeys(b"y" * 32).chat_key("telegram", "42")
    one, two = KEYS.encrypt("telegram", "918273645"), KEYS.encrypt("telegram", "918273645")
    assert one != two and "918273645" not in one
    assert KEYS.decrypt("telegram", one) == "918273645"
    with pytest.raises(InvalidTag):
        ChatKeys(b"y" * 32).decrypt("telegram", one)
    with pytest.raises(InvalidTag):
        KEYS.decrypt("zalo", one)
    assert "918273645" not in repr(CHAT)


async def test_state_expires_after_a_day_idle_and_ledger_counts_once() -> None:
    ticks = [0.0]
    store = MemoryChatStateStore(clock=lambda: ticks[0])
    await store.save("k", {"flow": "report"})
    ticks[0] = 23 * 3600
    assert await store.load("k") == {"flow": "report"}
    await store.save("k", {"flow": "report"})  # activity restarts the idle timer
    ticks[0] += 24 * 3600 + 1
    assert await store.load("k") is None
    ledger = MemoryUpdateLedger()
    assert await ledger.first_time("telegram", 7) is True
    assert await ledger.first_time("telegram", 7) is False
    assert await ledger.first_time("zalo", 7) is True


async def test_status_shows_replies_deletes_passphrase_and_window_closes() -> None:
    reporter, now = FakeReporter(), Now()
    engine, _ = _engine(reporter, now)
    await engine.handle(CHAT, Incoming(Kind.COMMAND, command="start", language_hint="vi"))
    await engine.handle(CHAT, text("🔎 Tra cứu tin báo"))
    bad = await engine.handle(CHAT, text("not a code"))
    assert "không đúng dạng" in bad.replies[0].text
    await engine.handle(CHAT, text(reporter.code.lower()))
    wrong = await engine.handle(CHAT, text("sai mat khau"))
    assert wrong.delete_incoming and "Không có tin nào" in wrong.replies[0].text
    await engine.handle(CHAT, text(reporter.code))
    shown = await engine.handle(CHAT, text(PASSPHRASE))
    assert shown.delete_incoming
    assert "đang xác minh" in shown.replies[0].text and "Cảm ơn, chúng tôi" in shown.replies[0].text
    now.now += timedelta(minutes=11)
    late = await engine.handle(CHAT, tap("check:add"))
    assert "nhập lại" in late.replies[0].text and reporter.added == []


async def test_report_flow_keeps_unmatched_place_and_marks_urgent() -> None:
    reporter, now = FakeReporter(), Now()
    engine, directory = _engine(reporter, now)
    await engine.handle(CHAT, Incoming(Kind.COMMAND, command="start", text="tip", language_hint="en"))
    await engine.handle(CHAT, text("Girls kept in a house"))
    unknown = await engine.handle(CHAT, text("behind the old market"))
    assert "keep the place as you wrote it" in unknown.replies[0].text
    await engine.handle(CHAT, tap("files:done"))
    danger = await engine.handle(CHAT, tap("danger:yes"))
    assert "113" in danger.replies[0].text
    stale = await engine.handle(CHAT, tap("files:done"))
    assert stale.notice is not None
    await engine.handle(CHAT, tap("confirm:send"))
    await engine.handle(CHAT, tap("notify:yes"))
    draft = reporter.drafts[0]
    assert draft.urgent and draft.place == "behind the old market" and draft.channel is Channel.TELEGRAM
    held = directory.notices[1]
    assert {key for key, _ in held} == {CHAT.key}
    # held encrypted, and only the key can turn it back into the chat id
    assert all("918273645" not in sealed and KEYS.decrypt("telegram", sealed) == "918273645" for _, sealed in held)
    await engine.handle(CHAT, Incoming(Kind.COMMAND, command="stop"))
    assert directory.notices[1] == set()


async def test_cancel_ask_deep_link_and_unknown_command() -> None:
    reporter, now = FakeReporter(), Now()
    engine, _ = _engine(reporter, now)
    asked = await engine.handle(CHAT, Incoming(Kind.COMMAND, command="start", text="ask", language_hint="en-US"))
    assert asked.replies[0].text.startswith("Type your question")
    cancelled = await engine.handle(CHAT, Incoming(Kind.COMMAND, command="cancel"))
    assert cancelled.replies[0].text == "Cancelled." and cancelled.replies[0].keyboard
    # after /cancel, text is no longer taken as the question
    loose = await engine.handle(CHAT, text("where do I get tested?"))
    assert [b.data for row in loose.replies[0].buttons for b in row] == ["intent:report", "intent:ask"]
    unknown = await engine.handle(CHAT, Incoming(Kind.COMMAND, command="admin"))
    assert "Unknown command" in unknown.replies[0].text
