"""`hotline zalo set-webhook|info` and `hotline qr --channel zalo` against the fake platform."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from core.posters_zalo import words_to_type
from hotline.cli import main
from tests.fakezalo import FakeZalo


@pytest.fixture
def fake_zalo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeZalo]:
    """The fake platform in a thread of its own (the CLI runs its own event loop)."""
    fake = FakeZalo()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fake.app(), access_log=None)  # its URLs carry the token
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HOTLINE_ZALO_TOKEN", fake.token)
    monkeypatch.setenv("HOTLINE_ZALO_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HOTLINE_ZALO_WEBHOOK_SECRET", "cli-secret-123")
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    yield fake
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_set_webhook_and_info(fake_zalo: FakeZalo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zalo", "set-webhook", "--url", "https://hotline.example.vn/zalo/webhook"]) == 0
    assert fake_zalo.webhook == {
        "url": "https://hotline.example.vn/zalo/webhook",
        "secret_token": "cli-secret-123",
    }
    assert main(["zalo", "info"]) == 0
    out = capsys.readouterr().out
    assert "bot.hotline" in out and "https://hotline.example.vn/zalo/webhook" in out
    assert fake_zalo.token not in out


def test_set_webhook_refuses_plain_http(fake_zalo: FakeZalo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zalo", "set-webhook", "--url", "http://hotline.example.vn/zalo/webhook"]) == 1
    assert fake_zalo.webhook == {}


def test_a_refused_token_is_reported(
    fake_zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_ZALO_TOKEN", "999:wrong")
    assert main(["zalo", "info"]) == 1
    assert "401" in capsys.readouterr().err


def test_zalo_poster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_ZALO_BOT_URL", "https://zalo.me/s/hotlinebot")
    svg, png = tmp_path / "p.svg", tmp_path / "p.png"
    args = ["qr", "--channel", "zalo", "--audience", "student", "--lang", "vi"]
    assert main([*args, "--out", str(svg)]) == 0
    assert main([*args, "--out", str(png), "--commune", "26743"]) == 0
    out = capsys.readouterr().out
    assert "https://zalo.me/s/hotlinebot" in out and "đăng ký học sinh 26743" in out
    assert "đăng ký học sinh" in svg.read_text(encoding="utf-8")
    assert png.read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setenv("HOTLINE_ZALO_BOT_URL", "https://evil.example/x")
    assert main([*args, "--out", str(svg)]) == 1


def test_words_on_the_poster_subscribe_when_typed() -> None:
    from core.chat import commands

    for audience in ("student", "worker", "service_worker", "parent", "general"):
        for lang in ("vi", "en"):
            parsed = commands.parse(words_to_type(audience, lang))
            assert parsed is not None and parsed[0] == "subscribe", (audience, lang)
            assert commands.audience(parsed[1]) == audience, (audience, lang, parsed)
