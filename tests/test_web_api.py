"""The public JSON API: receipts, status, follow-up messages, questions, and bad input."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from PIL import Image

from core.stages import Stage
from hotline.bootstrap import Services
from storage.models import AttachmentRow, TipMessageRow, TipRow
from tests.builders import move
from tests.conftest import COMMUNE
from tests.pdfs import build_pdf

# ---- helpers shared by the other test_web_* modules ----------------------------------


def app_services(client: Any) -> Services:
    """The services of the app under test (the `services` fixture is a second instance)."""
    from handlers.keys import SERVICES

    return client.server.app[SERVICES]


async def count_rows(services: Services, model: Any) -> int:
    async with services.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def stored_files(services: Services) -> list[Path]:
    root = services.settings.attachments_path
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def nothing_stored(services: Services) -> bool:
    return (
        await count_rows(services, TipRow) == 0
        and await count_rows(services, AttachmentRow) == 0
        and await count_rows(services, TipMessageRow) == 0
        and stored_files(services) == []
    )


def jpeg(size: tuple[int, int] = (64, 48), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG", exif=exif or Image.Exif())
    return out.getvalue()


def multipart(fields: dict[str, str], files: list[bytes] = (), name: str = "files") -> aiohttp.FormData:  # type: ignore[assignment]
    form = aiohttp.FormData(default_to_multipart=True)
    for key, value in fields.items():
        form.add_field(key, value)
    for i, data in enumerate(files):
        form.add_field(name, io.BytesIO(data), filename=f"../../etc/evil{i}.jpg", content_type="image/jpeg")
    return form


async def submit_tip(client: Any, **fields: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/tips", json={"text": "Quán karaoke X ở phố Y có bán dâm", **fields})
    assert resp.status == 201, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


# ---- round trip ----------------------------------------------------------------------


async def test_receipt_status_and_conversation_round_trip(client: Any, services: Services) -> None:
    receipt = await submit_tip(client, commune_code=COMMUNE, urgent=True)
    assert set(receipt) == {
        "receipt_code",
        "passphrase",
        "stage",
        "received_at",
        "urgent",
        "emergency_numbers",
        "accepted_over_limit",
    }
    assert receipt["stage"] == "received" and receipt["emergency_numbers"]["police"] == "113"
    words = receipt["passphrase"].split()
    assert len(words) == 5
    creds = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}

    async with services.engine.connect() as conn:
        stored_hash = await conn.scalar(sa.select(TipRow.passphrase_hash))
    assert stored_hash.startswith("p1$argon2id$") and receipt["passphrase"] not in stored_hash  # peppered

    resp = await client.post("/api/v1/tips/status", json=creds)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert await resp.json() == {
        "stage": "received",
        "received_at": receipt["received_at"],
        "messages": [],
        "attachments": 0,
    }

    resp = await client.post("/api/v1/tips/messages", json={**creds, "text": "Thêm\u0000"})
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "invalid_fields"
    resp = await client.post("/api/v1/tips/messages", json={**creds, "text": "Thêm: có 3 cô gái trẻ"})
    assert resp.status == 201
    assert (await resp.json())["author"] == "reporter"
    await services.tips.reply(1, actor="officer:lan", text="Cảm ơn. Quán mở cửa mấy giờ?")
    await services.tips.transition(1, move(Stage.VERIFIED))

    # Typed from paper: lower case, no dash, accents and extra spaces are all forgiven.
    loose = {
        "receipt_code": receipt["receipt_code"].replace("-", "").lower(),
        "passphrase": "  " + receipt["passphrase"].upper().replace(" ", " - ") + " ",
    }
    body = await (await client.post("/api/v1/tips/status", json=loose)).json()
    assert body["stage"] == "verified"
    assert [(m["author"], m["text"]) for m in body["messages"]] == [
        ("reporter", "Thêm: có 3 cô gái trẻ"),
        ("officer", "Cảm ơn. Quán mở cửa mấy giờ?"),
    ]
    assert "lan" not in json.dumps(body)  # officers stay anonymous too

    await services.tips.transition(1, move(Stage.SPAM))
    body = await (await client.post("/api/v1/tips/status", json=creds)).json()
    assert body["stage"] == "closed"  # a flooder does not learn that it was caught


async def test_question_is_filed_as_an_info_request_with_a_receipt(client: Any, services: Services) -> None:
    resp = await client.post("/api/v1/questions", json={"text": "Tôi có thể được hỗ trợ ở đâu?"})
    assert resp.status == 201
    body = await resp.json()
    assert body["passphrase"] and body["receipt_code"]
    async with services.engine.connect() as conn:
        category = await conn.scalar(sa.select(TipRow.category))
    assert category == "info_request"
    status = await client.post(
        "/api/v1/tips/status", json={"receipt_code": body["receipt_code"], "passphrase": body["passphrase"]}
    )
    assert status.status == 200


async def test_multipart_tip_with_photo_and_pdf(client: Any, services: Services) -> None:
    pdf = build_pdf()
    form = multipart({"text": "Ảnh quán", "urgent": "true", "commune_code": COMMUNE}, [jpeg(), pdf])
    resp = await client.post("/api/v1/tips", data=form)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["urgent"] is True
    async with services.engine.connect() as conn:
        rows = (await conn.execute(sa.select(AttachmentRow.media_type, AttachmentRow.storage_key))).all()
    assert sorted(r.media_type for r in rows) == ["application/pdf", "image/jpeg"]
    names = sorted(p.name for p in stored_files(services))
    assert names == sorted(r.storage_key for r in rows)  # random ids, never the uploaded names
    assert all("evil" not in n for n in names)


async def test_follow_up_message_with_a_photo(client: Any, services: Services) -> None:
    receipt = await submit_tip(client)
    form = multipart(
        {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"], "text": "ảnh mới"},
        [jpeg()],
    )
    resp = await client.post("/api/v1/tips/messages", data=form)
    assert resp.status == 201, await resp.text()
    creds = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    body = await (await client.post("/api/v1/tips/status", json=creds)).json()
    assert body["attachments"] == 1 and body["messages"][0]["text"] == "ảnh mới"


# ---- wrong receipts -----------------------------------------------------------------


async def test_unknown_code_and_wrong_passphrase_look_the_same(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = await submit_tip(client)
    other = await submit_tip(client)
    verified: list[str | None] = []
    hasher = app_services(client).intake.hasher
    original = hasher.verify

    def counting(stored: str | None, passphrase: str) -> bool:
        verified.append(stored)
        return original(stored, passphrase)

    monkeypatch.setattr(hasher, "verify", counting)
    # a valid-looking code that does not exist (check character right)
    from core.receipts import display, new_receipt_code

    unknown = display(new_receipt_code())
    wrong = {"receipt_code": receipt["receipt_code"], "passphrase": other["passphrase"]}
    missing = {"receipt_code": unknown, "passphrase": receipt["passphrase"]}

    async def ask(body: dict[str, str]) -> tuple[int, Any]:
        resp = await client.post("/api/v1/tips/status", json=body)
        return resp.status, await resp.json()

    s_wrong, b_wrong = await ask(wrong)
    s_missing, b_missing = await ask(missing)
    assert s_wrong == s_missing == 404
    assert b_wrong == b_missing
    # The same argon2 work in both cases: a real hash, then the dummy one. (How close the
    # two take in time is measured in bench/, not asserted here.)
    assert len(verified) == 2 and verified[0] is not None and verified[1] is None


async def test_wrong_passphrase_100_times_is_rate_limited(client: Any, services: Services) -> None:
    receipt = await submit_tip(client)
    other = await submit_tip(client)
    statuses = []
    for _ in range(100):
        resp = await client.post(
            "/api/v1/tips/status", json={"receipt_code": receipt["receipt_code"], "passphrase": "sai roi"}
        )
        statuses.append(resp.status)
    limit = services.settings.failed_checks_per_receipt
    assert statuses[:limit] == [404] * limit
    # Past the receipt's limit one attempt a minute still goes through (tests/test_abuse.py).
    assert statuses.count(404) <= limit + 1 and set(statuses[limit + 1 :]) == {429}
    assert int(resp.headers["Retry-After"]) > 0
    right = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    assert (await client.post("/api/v1/tips/status", json=right)).status == 429
    assert (await client.post("/api/v1/tips/messages", json={**right, "text": "x"})).status == 429
    # Another receipt still works.
    ok = {"receipt_code": other["receipt_code"], "passphrase": other["passphrase"]}
    assert (await client.post("/api/v1/tips/status", json=ok)).status == 200


# ---- bad input: a clear 4xx and nothing half-stored --------------------------------


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb's calling card."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _real_bomb() -> bytes:
    """A 7000 × 7000 PNG of zeros: 49 MP, tiny on disk, over the 40 MP limit."""
    out = io.BytesIO()
    Image.new("L", (7000, 7000)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("whitespace", 422, "invalid_input"),
        ("too_long", 422, "invalid_fields"),
        ("bad_utf8_json", 400, "bad_request"),
        ("bad_utf8_multipart", 400, "bad_request"),
        ("wrong_type", 415, "unsupported_media_type"),
        ("malformed_json", 400, "bad_request"),
        ("unknown_field", 422, "invalid_fields"),
        ("unknown_field_multipart", 422, "invalid_fields"),
        ("fake_jpeg", 422, "attachment_refused"),
        ("png_header_bomb", 422, "attachment_refused"),
        ("png_bomb", 422, "attachment_refused"),
        ("exe", 422, "attachment_refused"),
        ("fifty_files", 422, "attachment_refused"),
        ("file_too_big", 413, "request_entity_too_large"),
        ("truncated_multipart", 400, "bad_request"),
        ("nul_in_text", 422, "invalid_fields"),
        ("nul_in_place", 422, "invalid_fields"),
        ("occurred_at_year_one", 422, "invalid_input"),
        ("occurred_at_future", 422, "invalid_input"),
    ],
)
async def test_bad_input_gets_a_clear_4xx_and_stores_nothing(
    client: Any, services: Services, case: str, status: int, code: str
) -> None:
    url = "/api/v1/tips"
    kw: dict[str, Any]
    if case == "whitespace":
        kw = {"json": {"text": " \n\t "}}
    elif case == "too_long":
        kw = {"json": {"text": "a" * 10_001}}
    elif case == "bad_utf8_json":
        kw = {"data": b'{"text": "\xff\xfe"}', "headers": {"Content-Type": "application/json"}}
    elif case == "bad_utf8_multipart":
        body = b'--XyZ\r\nContent-Disposition: form-data; name="text"\r\n\r\n\xff\xfe\xfd\r\n--XyZ--\r\n'
        kw = {"data": body, "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"}}
    elif case == "wrong_type":
        kw = {"data": b"text=hello", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    elif case == "malformed_json":
        kw = {"data": b'{"text": "a",', "headers": {"Content-Type": "application/json"}}
    elif case == "unknown_field":
        kw = {"json": {"text": "a", "reporter_phone": "0912345678"}}
    elif case == "nul_in_text":  # PostgreSQL cannot store it: it would fail a whole batch
        kw = {"json": {"text": "Quán karaoke\u0000 Hoa Hồng"}}
    elif case == "nul_in_place":
        kw = {"json": {"text": "Quán karaoke Hoa Hồng", "place": "chợ\u0000"}}
    elif case == "occurred_at_year_one":  # in UTC before year 1: no date type holds it
        kw = {"json": {"text": "Quán karaoke Hoa Hồng", "occurred_at": "0001-01-01T00:00:00+14:00"}}
    elif case == "occurred_at_future":
        kw = {"json": {"text": "Quán karaoke Hoa Hồng", "occurred_at": "2999-01-01T00:00:00Z"}}
    elif case == "unknown_field_multipart":
        kw = {"data": multipart({"text": "a", "reporter_phone": "0912345678"})}
    elif case == "fake_jpeg":
        kw = {"data": multipart({"text": "a"}, [b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10])}
    elif case == "png_header_bomb":
        kw = {"data": multipart({"text": "a"}, [_png_claiming(100_000, 100_000)])}
    elif case == "png_bomb":
        kw = {"data": multipart({"text": "a"}, [_real_bomb()])}
    elif case == "exe":
        kw = {"data": multipart({"text": "a"}, [b"MZ\x90\x00" + b"\x00" * 100])}
    elif case == "fifty_files":
        kw = {"data": multipart({"text": "a"}, [jpeg()] * 50)}
    elif case == "file_too_big":
        kw = {
            "data": multipart(
                {"text": "a"}, [b"\xff\xd8\xff" + b"\x00" * (services.settings.max_file_bytes + 1)]
            )
        }
    else:  # truncated multipart: the closing boundary never comes
        body = b'--XyZ\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n\xff\xd8\xff'
        kw = {"data": body, "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"}}
    resp = await client.post(url, **kw)
    assert resp.status == status, await resp.text()
    body_json = await resp.json()
    assert body_json["error"]["code"] == code
    assert body_json["error"]["message"]
    assert await nothing_stored(services)


async def test_a_1gb_body_is_refused_before_it_is_read(client: Any, services: Services) -> None:
    """Only the headers are sent: the answer must come without waiting for the body."""
    for content_type in ("application/json", "multipart/form-data; boundary=x"):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(
            b"POST /api/v1/tips HTTP/1.1\r\nHost: x\r\nContent-Type: "
            + content_type.encode()
            + b"\r\nContent-Length: 1073741824\r\n\r\n"
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.read(200), timeout=5)
        writer.close()
        assert head.startswith(b"HTTP/1.1 413"), head
    assert await nothing_stored(services)


async def test_submissions_are_rate_limited_per_form(client: Any, services: Services) -> None:
    limit = services.settings.submissions_per_minute
    for _ in range(limit):
        await app_services(client).limiter.hit("form:tip", 60)
    resp = await client.post("/api/v1/tips", json={"text": "one too many"})
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "rate_limited"
    assert await count_rows(services, TipRow) == 0
    # Another form has its own budget.
    assert (await client.post("/api/v1/questions", json={"text": "hỏi"})).status == 201
