"""The JSON API at the boundary: happy path end to end, and a clear error for bad input."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import pytest
import sqlalchemy as sa

from hotline.bootstrap import Services
from storage.models import TipRow
from tests.conftest import COMMUNE


async def count_tips(services: Services) -> int:
    async with services.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(TipRow)) or 0)


async def test_lifecycle_end_to_end(client: Any, admin: dict[str, str]) -> None:
    resp = await client.post(
        "/api/v1/tips", json={"text": "Quán massage X có bán dâm", "commune_code": COMMUNE}
    )
    assert resp.status == 201
    body = await resp.json()
    assert len(body["receipt_code"].replace("-", "")) == 10
    assert body["stage"] == "received"
    assert resp.headers["Cache-Control"] == "no-store"

    resp = await client.get("/api/v1/staff/kpi?from=2026-03-01&to=2026-03-31", headers=admin)
    assert (await resp.json())["totals"]["received"] == 1

    tip_id = 1
    resp = await client.post(
        f"/api/v1/staff/tips/{tip_id}/transitions", json={"to": "verified"}, headers=admin
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["stage"] == "verified"

    resp = await client.post(
        f"/api/v1/staff/tips/{tip_id}/transitions", json={"to": "verified"}, headers=admin
    )
    assert resp.status == 409
    assert (await resp.json())["error"] == {
        "code": "illegal_transition",
        "message": "tip is already verified",
    }

    resp = await client.post(
        f"/api/v1/staff/tips/{tip_id}/transitions",
        json={"to": "spam", "reason": "x", "expected_stage": "received"},
        headers=admin,
    )
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "conflict"

    resp = await client.post(
        f"/api/v1/staff/tips/{tip_id}/extensions", json={"reason": "complex case"}, headers=admin
    )
    assert resp.status == 200
    assert (await resp.json())["extensions"] == 1

    resp = await client.get(f"/api/v1/staff/tips/{tip_id}", headers=admin)
    body = await resp.json()
    assert [h["to"] for h in body["history"]] == ["received", "verified", "verified"]
    assert "receipt_code" not in body


@pytest.mark.parametrize(
    ("data", "headers", "status", "code"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "bad_request"),
        (b"\xff\xfe", {"Content-Type": "application/json"}, 400, "bad_request"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400, "bad_request"),
        (b'{"text": "x"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"text": ""}', {"Content-Type": "application/json"}, 422, "invalid_fields"),
        (b'{"text": "   "}', {"Content-Type": "application/json"}, 422, "invalid_input"),
        (b'{"text": 5}', {"Content-Type": "application/json"}, 422, "invalid_fields"),
        (b'{"text": "a", "urgent": "yes"}', {"Content-Type": "application/json"}, 422, "invalid_fields"),
        (b'{"text": "a", "category": "gossip"}', {"Content-Type": "application/json"}, 422, "invalid_fields"),
        (
            b'{"text": "a", "commune_code": "99999"}',
            {"Content-Type": "application/json"},
            422,
            "invalid_input",
        ),
        (b'{"text": "a", "surprise": 1}', {"Content-Type": "application/json"}, 422, "invalid_fields"),
        (
            b'{"text": "a", "occurred_at": "2026-01-01T10:00"}',
            {"Content-Type": "application/json"},
            422,
            "invalid_fields",
        ),
    ],
)
async def test_bad_tip_input_gets_a_clear_error_and_stores_nothing(
    client: Any, services: Services, data: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    resp = await client.post("/api/v1/tips", data=data, headers=headers)
    assert resp.status == status
    body = await resp.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert await count_tips(services) == 0


async def test_oversize_body_is_413(client: Any, services: Services) -> None:
    resp = await client.post(
        "/api/v1/tips",
        data=b'{"text": "' + b"a" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "request_entity_too_large"
    assert await count_tips(services) == 0


async def test_invalid_fields_are_listed(client: Any) -> None:
    resp = await client.post("/api/v1/tips", json={"text": "a", "urgent": "yes"})
    fields = (await resp.json())["error"]["fields"]
    assert [f["field"] for f in fields] == ["urgent"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        # HTTP Basic is gone: a password alone would skip the second factor.
        {"Authorization": "Basic " + b64encode(b"admin:correct horse battery staple").decode()},
        {"Cookie": "hotline_staff=not-a-session"},
        {"Cookie": "hotline_staff="},
    ],
)
async def test_staff_api_needs_a_session(client: Any, admin: dict[str, str], headers: dict[str, str]) -> None:
    resp = await client.get("/api/v1/staff/tips/1", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "not_signed_in"


async def test_staff_errors(client: Any, admin: dict[str, str]) -> None:
    assert (await client.get("/api/v1/staff/tips/999", headers=admin)).status == 404
    assert (await client.get("/api/v1/staff/tips/abc", headers=admin)).status == 404
    resp = await client.post("/api/v1/tips", json={"text": "a"})
    assert resp.status == 201
    resp = await client.post("/api/v1/staff/tips/1/transitions", json={"to": "processed"}, headers=admin)
    assert resp.status == 409
    assert "allowed" in (await resp.json())["error"]["message"]
    resp = await client.post("/api/v1/staff/tips/1/transitions", json={"to": "nowhere"}, headers=admin)
    assert resp.status == 422
    resp = await client.post("/api/v1/staff/tips/1/transitions", json={"to": "spam"}, headers=admin)
    assert resp.status == 422
    assert "reason" in (await resp.json())["error"]["message"]
    resp = await client.get("/api/v1/staff/kpi?from=2026-03-31&to=2026-03-01", headers=admin)
    assert resp.status == 422
    resp = await client.get("/api/v1/staff/kpi?from=yesterday&to=2026-03-01", headers=admin)
    assert resp.status == 422


async def test_unknown_route_and_method_are_json(client: Any) -> None:
    """Under /api/ a miss stays JSON; elsewhere a person gets a page (tests/test_web_ux.py)."""
    resp = await client.get("/api/v1/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.delete("/api/v1/tips")
    assert resp.status == 405


async def test_unexpected_errors_never_leak_a_traceback(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*args: object, **kw: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("core.intake.TipIntake.submit", boom)
    resp = await client.post("/api/v1/tips", json={"text": "Quán X ở phố Y"})
    assert resp.status == 500
    text = await resp.text()
    assert "secret internals" not in text and "Traceback" not in text
    assert "Quán X ở phố Y" not in caplog.text


async def test_healthz_and_metrics(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["database"] == "ok"
    await client.post("/api/v1/tips", json={"text": "a tip"})
    resp = await client.get("/metrics")
    text = await resp.text()
    assert 'hotline_tips_received_total{channel="web"} 1.0' in text
    assert "hotline_http_request_seconds_bucket" in text
    assert "hotline_intake_tips_total 1.0" in text and "hotline_intake_batches_total 1.0" in text
    assert "hotline_triage_helper" not in text  # the tests run without the helper


async def test_healthz_reports_a_dead_database(client: Any, services: Services) -> None:
    del services
    app_services = client.server.app
    from handlers.keys import SERVICES

    await app_services[SERVICES].engine.dispose()

    class Broken:
        def connect(self) -> Any:
            raise OSError("connection refused")

    object.__setattr__(app_services[SERVICES], "engine", Broken())
    resp = await client.get("/healthz")
    assert resp.status == 503


async def test_officer_reply_reaches_the_reporter_anonymously(client: Any, admin: dict[str, str]) -> None:
    receipt = await (await client.post("/api/v1/tips", json={"text": "Quán X có bán dâm"})).json()
    resp = await client.post(
        "/api/v1/staff/tips/1/replies", json={"text": "Cảm ơn, chúng tôi đang xác minh."}, headers=admin
    )
    assert resp.status == 201
    assert "admin" not in await resp.text()
    creds = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    status = await (await client.post("/api/v1/tips/status", json=creds)).json()
    assert [(m["author"], m["text"]) for m in status["messages"]] == [
        ("officer", "Cảm ơn, chúng tôi đang xác minh.")
    ]
    assert "admin" not in str(status)
    resp = await client.post("/api/v1/staff/tips/1/replies", json={"text": ""}, headers=admin)
    assert resp.status == 422
    resp = await client.post("/api/v1/staff/tips/99/replies", json={"text": "x"}, headers=admin)
    assert resp.status == 404
    resp = await client.post("/api/v1/staff/tips/1/replies", json={"text": "x"})
    assert resp.status == 401
