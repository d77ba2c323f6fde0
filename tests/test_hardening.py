"""Bad input and failures that used to answer 5xx or leak into the log: routing rows that
name no unit, constraint failures in a batch, database errors in the log, deeply nested
JSON and huge numbers, and staff input PostgreSQL cannot store."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.categories import Category
from core.routing import AgencyKind, RoutingPolicy
from handlers.parsing import MAX_INT_DIGITS, MAX_JSON_DEPTH, JsonRefused, parse_json
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import TipRow
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE
from tests.test_web_api import count_rows


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Bursts of 40 tips from one test client: the per-source share is not under test here."""
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        submissions_per_source_per_minute=1000,
    )


SECRET = "Bí mật: nhà số 17 hẻm 42, người báo tên Hoa"

# ---- routing rows that name no unit ----------------------------------------------------


def test_a_kind_without_a_provincial_unit_falls_back_to_the_provincial_police() -> None:
    policy = RoutingPolicy({Category.STREET: AgencyKind.COMMUNE})
    assert policy.owner(Category.STREET, PROVINCE, None) == f"police:{PROVINCE}"
    assert policy.owner(Category.STREET, PROVINCE, COMMUNE) == f"commune:{COMMUNE}"


async def test_street_to_commune_keeps_tips_without_a_commune_storable(
    client: Any, services: Services, admin: dict[str, str]
) -> None:
    resp = await client.put("/api/v1/staff/routing/street", json={"agency_kind": "commune"}, headers=admin)
    assert resp.status == 200
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/tips", json={"text": f"đứng đường {i}", "category": "street"})
            for i in range(40)
        )
    )
    assert [a.status for a in answers] == [201] * 40
    async with services.engine.connect() as conn:
        owners = set(await conn.scalars(sa.select(TipRow.agency_code)))
    assert owners == {f"police:{PROVINCE}"}


async def test_a_constraint_one_tip_breaks_fails_that_tip_alone(client: Any, services: Services) -> None:
    async with services.engine.begin() as conn:  # a commune whose police unit is gone
        await conn.execute(sa.text("DELETE FROM agencies WHERE code = :c"), {"c": f"police:{REMOTE_COMMUNE}"})
    bodies = [{"text": f"quán karaoke {i}", "category": "venue", "commune_code": COMMUNE} for i in range(40)]
    bodies[17]["commune_code"] = REMOTE_COMMUNE
    answers = await asyncio.gather(*(client.post("/api/v1/tips", json=b) for b in bodies))
    statuses = [a.status for a in answers]
    assert statuses[17] == 422
    assert statuses[:17] + statuses[18:] == [201] * 39
    assert await count_rows(services, TipRow) == 39


# ---- database errors in the log ----------------------------------------------------------


async def test_a_database_failure_logs_no_tip_text(
    client: Any, services: Services, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    tip = await submit(services.intake, text="có người bị giữ")
    async with services.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE tip_notes RENAME TO tip_notes_gone"))
    caplog.set_level(logging.INFO)
    resp = await client.post(f"/api/v1/staff/tips/{tip.tip_id}/notes", json={"text": SECRET}, headers=admin)
    assert resp.status == 503
    async with services.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE tips RENAME TO tips_gone"))
    resp = await client.post("/api/v1/tips", json={"text": SECRET, "place": "hẻm 42"})
    assert resp.status == 503
    assert "not_saved" in await resp.text()
    logged = "\n".join(
        f"{r.getMessage()}\n{r.exc_text or ''}{logging.Formatter().formatException(r.exc_info) if r.exc_info else ''}"
        for r in caplog.records
    )
    assert "database error" in logged
    assert "SQLSTATE" in logged
    for secret in ("17 hẻm 42", "Hoa", "hẻm 42", "$argon2"):
        assert secret not in logged


# ---- deeply nested JSON and very long integers -----------------------------------------


def test_parse_json_bounds() -> None:
    assert parse_json(b'{"a": [[1, 2]], "n": -12345}') == {"a": [[1, 2]], "n": -12345}
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    for hostile in (
        "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
        '{"text": ' + "[" * 20_000 + "]" * 20_000 + "}",
        '{"text": ' + "[" * 20_000,
        '{"urgent": ' + "1" * 5000 + "}",
        '{"n": -' + "9" * (MAX_INT_DIGITS + 1) + "}",
        b"\xff\xfe{",
        "{",
    ):
        with pytest.raises(JsonRefused):
            parse_json(hostile)


HOSTILE_BODIES = (
    '{"text": ' + "[" * 20_000 + "]" * 20_000 + "}",
    '{"text": "x", "urgent": ' + "1" * 5000 + "}",
    '{"text": "x", "limit": ' + "1" * 4301 + "}",
)


@pytest.mark.parametrize(
    "path", ["/api/v1/tips", "/api/v1/answers", "/api/v1/tips/status", "/api/v1/staff/session"]
)
async def test_hostile_json_gets_400_on_public_and_sign_in(client: Any, path: str) -> None:
    for body in HOSTILE_BODIES:
        resp = await client.post(path, data=body, headers={"Content-Type": "application/json"})
        assert resp.status == 400, (path, await resp.text())
        assert (await resp.json())["error"]["code"] == "bad_request"


async def test_hostile_json_gets_400_on_staff_writes(
    client: Any, services: Services, admin: dict[str, str]
) -> None:
    tip = await submit(services.intake)
    for path in (f"/api/v1/staff/tips/{tip.tip_id}/notes", f"/api/v1/staff/tips/{tip.tip_id}/transitions"):
        for body in HOSTILE_BODIES:
            resp = await client.post(path, data=body, headers={**admin, "Content-Type": "application/json"})
            assert resp.status == 400, (path, await resp.text())


# ---- staff input PostgreSQL cannot store ---------------------------------------------------


async def test_staff_nul_and_ancient_dates_get_422(
    client: Any, services: Services, admin: dict[str, str]
) -> None:
    tip = await submit(services.intake)
    base = f"/api/v1/staff/tips/{tip.tip_id}"
    writes = [
        (f"{base}/notes", {"text": "ghi\x00chú"}),
        (f"{base}/replies", {"text": "trả\x00lời"}),
        (f"{base}/extensions", {"reason": "lý\x00do"}),
        (f"{base}/transitions", {"to": "spam", "reason": "rác\x00"}),
    ]
    for path, body in writes:
        resp = await client.post(path, json=body, headers=admin)
        assert resp.status == 422, (path, await resp.text())
    reads = [
        "/api/v1/staff/tips?q=a%00b",
        "/api/v1/staff/kpi?from=2026-01-01&to=2026-02-01&commune=2674%00",
        "/api/v1/staff/kpi?from=0001-01-01&to=2026-02-01",
        "/api/v1/staff/kpi.csv?from=0001-01-01&to=2026-02-01",
        "/api/v1/staff/dashboard?from=0001-01-01&to=2026-02-01",
        "/api/v1/staff/dashboard?from=2026-01-01&to=9999-12-31",
        "/staff/kpi?from=0001-01-01",
    ]
    for path in reads:
        resp = await client.get(path, headers=admin)
        assert resp.status == 422, (path, await resp.text())
    # The service refuses a NUL too, whatever the channel.
    with pytest.raises(Exception, match="NUL"):
        await services.tips.add_note(tip.tip_id, actor="officer:admin", text="a\x00b")


# ---- logs, pages and the public categories ------------------------------------------------


async def _raw(client: Any, payload: bytes, *, close_early: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(payload)
    await writer.drain()
    if close_early:
        writer.close()
        return b""
    answer = await reader.read(65536)
    writer.close()
    return answer


async def test_a_malformed_request_leaves_no_address_or_header_in_the_log(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from hotline.logs import install_privacy_filter

    install_privacy_filter()
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    answer = await _raw(
        client,
        b"GET /report HTTP/1.1\r\nHost: x\r\nUser-Agent: Hoa's\x01phone\r\n"
        b"X-Forwarded-For: 203.0.113.77\r\n\r\n",
    )
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    # The test server's access log is aiohttp's default; `hotline serve` uses ours.
    records = [r for r in caplog.records if r.name != "aiohttp.access"]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in records)
    assert "refused a request" in logged
    for secret in ("127.0.0.1", "Hoa", "203.0.113.77", "phone"):
        assert secret not in logged


def test_the_access_log_escapes_control_characters() -> None:
    from hotline.logs import escape_controls

    assert escape_controls("/report\x1b[31m\nFAKE 200\u202e") == "/report\\x1b[31m\\nFAKE 200\\u202e"


async def test_an_aborted_upload_is_no_server_error(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    head = (
        b"POST /api/v1/tips HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b'Content-Length: 900000\r\n\r\n--b\r\nContent-Disposition: form-data; name="files"; '
        b'filename="a.jpg"\r\n\r\n' + b"\xff" * 5000
    )
    server = client.server.runner.server
    await _raw(client, head, close_early=True)
    for _ in range(500):  # until the server has read the request, seen the close and let go
        if server.requests_count and not server.connections:
            break
        await asyncio.sleep(0.01)
    assert server.requests_count == 1 and not server.connections
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_bidi_controls_are_neutralised_on_staff_pages(
    client: Any, services: Services, admin: dict[str, str]
) -> None:
    tip = await submit(services.intake, text="xem tệp \u202egnp.exe", place="\u202egnp.exe")
    page = await client.get(f"/staff/tips/{tip.tip_id}", headers={"Cookie": admin["Cookie"]})
    assert page.status == 200
    html = await page.text()
    assert "\u202e" not in html and "gnp.exe" in html
    # stored as sent: the evidence is intact
    place = (await services.tips.view(tip.tip_id, "officer:test"))[0].place
    assert place is not None and "\u202e" in place


@pytest.mark.parametrize("category", ["spam", "info_request"])
async def test_reporters_cannot_choose_officers_categories(client: Any, category: str) -> None:
    resp = await client.post("/api/v1/tips", json={"text": "tin", "category": category})
    assert resp.status == 422
    assert (await client.post("/api/v1/tips", json={"text": "tin", "category": "venue"})).status == 201
