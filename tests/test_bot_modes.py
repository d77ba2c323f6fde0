"""Long polling for development, the API root setting, and `hotline telegram set-webhook`."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer

from bot.runtime import api_root
from hotline.cli import build_parser
from hotline.settings import Settings
from hotline.telegram import set_webhook
from tests.conftest import FakeClock
from tests.fakebotapi import FakeBotApi
from tests.telegram_harness import WEBHOOK_SECRET, telegram_rig, telegram_settings
from tests.telegram_updates import TelegramUser


def test_api_root_accepts_a_server_root_or_the_old_bot_suffix() -> None:
    assert api_root("http://127.0.0.1:8081") == "http://127.0.0.1:8081"
    assert api_root("http://127.0.0.1:8081/") == "http://127.0.0.1:8081"
    assert api_root("https://api.telegram.org/bot") == "https://api.telegram.org"


async def test_polling_mode_answers_updates_from_get_updates(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    api = FakeBotApi()
    async with telegram_rig(settings.model_copy(update={"telegram_mode": "polling"}), clock, api=api) as rig:
        assert rig.api.calls_to("deleteWebhook")
        api.push_update(user.command("start"))
        for _ in range(100):
            if api.sent(user.chat_id):
                break
            await asyncio.sleep(0.05)
        assert "ẩn danh" in rig.last_text(user.chat_id)


async def test_set_webhook_registers_url_and_secret(settings: Settings) -> None:
    api = FakeBotApi()
    server = TestServer(api.app())
    await server.start_server()
    try:
        configured = telegram_settings(settings, str(server.make_url("")).rstrip("/"))
        await set_webhook(configured, "https://hotline.example.vn/telegram/webhook")
        assert api.webhook["url"] == "https://hotline.example.vn/telegram/webhook"
        assert api.webhook["secret_token"] == WEBHOOK_SECRET
        assert "my_chat_member" in api.webhook["allowed_updates"]
        with pytest.raises(ValueError, match="https"):
            await set_webhook(configured, "http://insecure.example/telegram/webhook")
        with pytest.raises(ValueError, match="SECRET"):
            await set_webhook(configured.model_copy(update={"telegram_webhook_secret": None}), "https://x.example/")
    finally:
        await server.close()
    args = build_parser().parse_args(["telegram", "set-webhook", "--url", "https://h.example/telegram/webhook"])
    assert args.url == "https://h.example/telegram/webhook" and args.run.__name__ == "cmd_telegram_set_webhook"
