"""The privacy scan: after a realistic web session, nothing identifying is anywhere."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hotline.bootstrap import Services
from hotline.logs import PrivacyAccessLogger
from hotline.settings import Settings
from storage.models import Base
from tests.test_web_api import jpeg, multipart
from tests.test_web_attachments import SERIAL, gps_exif
from tests.test_web_pages import post_form, token

CLIENT_IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (Linux; Android 11; SM-A127F-PRIVACY-PROBE)"
REFERRER = "https://referrer-probe.example/secret-page"
IDENTIFIERS = [CLIENT_IP, USER_AGENT, "SM-A127F", "PRIVACY-PROBE", "referrer-probe", SERIAL, "PhoneMaker"]


async def database_text(services: Services, settings: Settings) -> str:
    """Every row of every table as text, plus the raw SQLite files (WAL included)."""
    parts: list[str] = []
    async with services.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(sa.select(table))).all()
            parts.extend(repr(tuple(r)) for r in rows)
    if settings.effective_database_url.startswith("sqlite"):
        path = settings.effective_database_url.removeprefix("sqlite:///")
        import glob

        for name in glob.glob(path + "*"):
            parts.append((await asyncio.to_thread(Path(name).read_bytes)).decode("latin-1"))
    return "\n".join(parts)


async def test_nothing_identifying_is_stored_or_logged(
    settings: Settings, clock: Any, aiohttp_client: Any, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    from handlers.app import create_app

    caplog.set_level(logging.DEBUG)
    from aiohttp.test_utils import TestServer

    # Served as `hotline serve` serves it: with the privacy access logger.
    server = TestServer(create_app(settings, clock=clock))
    await server.start_server(access_log_class=PrivacyAccessLogger)
    client = await aiohttp_client(server)
    headers = {
        "X-Forwarded-For": CLIENT_IP,
        "X-Real-IP": CLIENT_IP,
        "User-Agent": USER_AGENT,
        "Referer": REFERRER,
    }
    client.session.headers.update(headers)

    photo = jpeg((320, 240), gps_exif())
    resp = await client.post("/api/v1/tips", data=multipart({"text": "Quán X, ảnh đính kèm"}, [photo]))
    assert resp.status == 201
    receipt = await resp.json()
    creds = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    assert (await client.post("/api/v1/tips/status", json=creds)).status == 200
    assert (await client.post("/api/v1/tips/status", json={**creds, "passphrase": "sai"})).status == 404
    form = multipart({**creds, "text": "thêm ảnh"}, [photo])
    assert (await client.post("/api/v1/tips/messages", data=form)).status == 201
    csrf = await token(client)
    resp = await post_form(client, "/report", {"csrf_token": csrf, "text": "qua trang web"}, [photo])
    assert resp.status == 200 and resp.url.path == "/report/received"
    assert (
        await client.post("/api/v1/tips", data=b"{bad", headers={"Content-Type": "application/json"})
    ).status == 400

    assert "POST /api/v1/tips 201" in caplog.text  # the access log is on, and captured
    haystacks = {
        "database": await database_text(services, settings),
        "attachments": "\n".join(
            p.read_bytes().decode("latin-1") for p in settings.attachments_path.rglob("*") if p.is_file()
        ),
        "logs": caplog.text,
    }
    assert len(list(settings.attachments_path.rglob("*.*"))) == 0  # no uploaded names, no extensions
    for where, text in haystacks.items():
        for identifier in IDENTIFIERS:
            assert identifier not in text, f"{identifier!r} found in {where}"
    assert receipt["passphrase"] not in haystacks["database"] and receipt["passphrase"] not in caplog.text
