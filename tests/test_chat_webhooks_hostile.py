"""Both chat webhooks against hostile bodies: nesting and number sizes past the parser's
limits answer 400 (never 500), and a Telegram update without a chat is ignored quietly."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from channels.webhook import BadBody, parse_object, secret_ok
from hotline.settings import Settings
from tests.conftest import FakeClock
from tests.telegram_harness import WEBHOOK_SECRET, telegram_rig
from tests.telegram_updates import TelegramUser, next_update_id


def test_bounded_parse_accepts_updates_and_refuses_hostile_bodies() -> None:
    assert parse_object(b'{"update_id": 12345678901234567890, "a": [[{"b": "[[[["}]]}')["a"]
    for body in (
        b"[" * 20_000 + b"]" * 20_000,
        b'{"a":' * 100 + b"1" + b"}" * 100,
        b'{"n": ' + b"1" * 5000 + b"}",
        b'{"n": -' + b"1" * 41 + b"}",
        b"\xff\xfe",
        b"",
        b"null",
    ):
        with pytest.raises(BadBody):
            parse_object(body)


def test_secret_check() -> None:
    assert secret_ok("abcdefgh", "abcdefgh")
    assert not secret_ok("abcdefgh", "abcdefgi")
    assert not secret_ok("", "")
    assert not secret_ok("abcdefgh", None)
    assert not secret_ok("abcdefgh", "ábcdefgh")


async def test_telegram_webhook_answers_400_to_deep_nesting_and_huge_numbers(
    settings: Settings, clock: FakeClock
) -> None:
    async with telegram_rig(settings, clock) as rig:
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
        for body in (
            b"[" * 20_000 + b"]" * 20_000,
            b'{"update_id": 1, "x": ' + b"{" * 20_000 + b"}" * 20_000 + b"}",
            b'{"update_id": ' + b"7" * 5000 + b"}",
        ):
            response = await rig.client.post("/telegram/webhook", data=body, headers=headers)
            assert response.status == 400, response.status


async def test_telegram_update_without_a_chat_is_ignored_quietly(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    user = TelegramUser()
    chatless: list[dict[str, Any]] = [
        {
            "update_id": next_update_id(),
            "callback_query": {"id": "1", "from": user.user(), "chat_instance": "c", "data": "lang:en"},
        },
        {
            "update_id": next_update_id(),
            "inline_query": {"id": "2", "from": user.user(), "query": "x", "offset": ""},
        },
        {
            "update_id": next_update_id(),
            "message": {"message_id": 1, "date": 0, "text": "hi", "from": user.user()},
        },
        {
            "update_id": next_update_id(),
            "message": {
                "message_id": 2,
                "date": 0,
                "text": "/start",
                "from": user.user(),
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        },
        {"update_id": next_update_id(), "edited_message": {"message_id": 3, "date": 0, "text": "x"}},
        {
            "update_id": next_update_id(),
            "callback_query": {
                "id": "4",
                "from": user.user(),
                "chat_instance": "c",
                "data": "x",
                "message": {"message_id": 1, "date": 0},
            },
        },
        {
            "update_id": next_update_id(),
            "my_chat_member": {
                "from": user.user(),
                "date": 0,
                "old_chat_member": {"status": "member", "user": user.user()},
                "new_chat_member": {"status": "kicked", "user": user.user(), "until_date": 0},
            },
        },
        {"update_id": next_update_id()},
    ]
    caplog.set_level(logging.INFO)
    async with telegram_rig(settings, clock) as rig:
        for update in chatless:
            assert await rig.post(update) == 200
            await rig.bot.drain()
        assert rig.api.sent() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]
    assert "AttributeError" not in caplog.text
