"""Tips an officer registers for someone: each channel through the API, backdating and the
reason for late entry, the receipt on /status, the named informant (encrypted, owner only,
audited, in no export), the form, hostile input, and the KPI by channel on both databases."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.calendar import default_calendar
from core.categories import Category, Channel
from core.jurisdiction import EVERYTHING
from core.kpi import KpiScope, Period
from core.officers import Role
from core.sla import TipFacts
from core.stages import Stage
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.db import create_engine, session_factory
from storage.repositories import SqlUnitOfWork
from tests.builders import move, submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE, FakeClock, add_staff, staff_headers

MASTER = "8f" * 32
API = "/api/v1/staff/tips"
NAME = "Nguyễn Thị Hoa"
PHONE = "0912345678"
ADDRESS = "12 Lê Lợi, Phường Bến Thành"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key=MASTER)


def body(**kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "channel": "phone",
        "received_at": "2026-03-02T08:30:00+07:00",
        "text": "Người gọi báo quán karaoke Hoa Hồng trên đường Lê Lợi có bán dâm",
        "commune_code": COMMUNE,
        "place": "Quán karaoke Hoa Hồng",
    }
    fields.update(kw)
    return fields


async def commune_officer(services: Services, name: str = "lan", unit: str = COMMUNE) -> dict[str, str]:
    return await add_staff(services, name, f"police:{unit}", unit)


@pytest.mark.parametrize("channel", ["phone", "in_person", "letter", "tip_box", "forwarded"])
async def test_each_channel_registers_into_the_officers_unit(
    client: Any, services: Services, channel: str
) -> None:
    headers = await commune_officer(services)
    extra = {"forwarded_by": "Báo Tuổi Trẻ"} if channel == "forwarded" else {}
    resp = await client.post(API, json=body(channel=channel, **extra), headers=headers)
    assert resp.status == 201, await resp.text()
    receipt = await resp.json()
    assert receipt["passphrase"] and "-" in receipt["receipt_code"]
    tip = await (await client.get(f"{API}/{receipt['id']}", headers=headers)).json()
    assert tip["agency_code"] == f"police:{COMMUNE}" and tip["channel"] == channel
    queue = await (await client.get(API, headers=headers)).json()
    assert receipt["id"] in {item["id"] for item in queue["items"]}
    record = await (await client.get(f"{API}/{receipt['id']}/registration", headers=headers)).json()
    assert record["registered_by"].endswith("lan") and record["named_informant"] is False
    assert record["forwarded_by"] == (extra.get("forwarded_by"))
    page = await client.get(f"/staff/tips/{receipt['id']}", headers=headers)
    words = {"phone": "Điện thoại", "in_person": "Trực tiếp", "letter": "Thư", "tip_box": "Hộp thư tố giác"}
    assert words.get(channel, "Chuyển đến") in await page.text()


async def test_a_backdated_tip_has_deadlines_from_when_it_was_received(
    client: Any, services: Services, clock: FakeClock
) -> None:
    headers = await commune_officer(services)
    received = clock() - timedelta(days=3)
    late = body(received_at=received.isoformat(), category="venue")
    refused = await client.post(API, json=late, headers=headers)
    assert refused.status == 422 and "late_reason" in await refused.text()
    late["late_reason"] = "Ghi sổ tay trực ban, nhập máy sau kỳ nghỉ"
    resp = await client.post(API, json=late, headers=headers)
    assert resp.status == 201
    tip_id = (await resp.json())["id"]
    tip, history = await services.tips.view(tip_id, "test", EVERYTHING)
    assert tip.received_at == received
    async with services.engine.connect() as conn:
        version = (await conn.execute(sa.text("SELECT max(version) FROM deadline_policies"))).scalar_one()
    async with SqlUnitOfWork(session_factory(services.engine), services.master_keys) as uow:
        policy = await uow.policies.version(version)
    expected = policy.deadlines(TipFacts(received, Category.VENUE, False, False), default_calendar())
    assert tip.due == expected
    # Three days late: already overdue for verification, as the KPI will count it.
    assert tip.next_due() is not None and tip.next_due() < clock()
    register = [h for h in history if h.action == "register"]
    assert register and register[0].reason == late["late_reason"] and register[0].at == clock()
    async with services.engine.connect() as conn:
        detail = (
            await conn.execute(
                sa.text("SELECT detail FROM audit_log WHERE action = 'register' AND tip_id = :t"),
                {"t": tip_id},
            )
        ).scalar_one()
    assert detail == "phone; late entry" and late["late_reason"] not in detail
    page = await (await client.get(f"/staff/tips/{tip_id}", headers=headers)).text()
    assert "Nhập muộn" in page and late["late_reason"] in page
    # Just under a day late needs no reason.
    recent = body(received_at=(clock() - timedelta(hours=23)).isoformat())
    assert (await client.post(API, json=recent, headers=headers)).status == 201


async def test_the_receipt_handed_to_a_caller_works_on_status(client: Any, services: Services) -> None:
    headers = await commune_officer(services)
    receipt = await (await client.post(API, json=body(), headers=headers)).json()
    await client.post(
        f"{API}/{receipt['id']}/replies", json={"text": "Chúng tôi đã tiếp nhận."}, headers=headers
    )
    creds = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    status = await client.post("/api/v1/tips/status", json=creds)
    assert status.status == 200
    view = await status.json()
    assert view["stage"] == "received" and view["messages"][0]["text"] == "Chúng tôi đã tiếp nhận."
    wrong = await client.post("/api/v1/tips/status", json={**creds, "passphrase": "sai-mat-khau"})
    assert wrong.status == 404


async def test_a_named_informant_is_encrypted_owner_only_audited_and_never_exported(
    client: Any, services: Services, settings: Settings
) -> None:
    owner = await commune_officer(services)
    other = await commune_officer(services, "minh", REMOTE_COMMUNE)
    admin = await add_staff(services, "boss", f"police:{PROVINCE}", PROVINCE, role=Role.ADMIN)
    informant = {"name": NAME, "phone": PHONE, "address": ADDRESS}
    resp = await client.post(API, json=body(informant=informant), headers=owner)
    assert resp.status == 201
    tip_id = (await resp.json())["id"]
    # Only ciphertext in the database: no table holds the name, phone or address.
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as conn:
            for table in ("tips", "tip_registrations", "tip_informants", "audit_log", "tip_transitions"):
                rows = (await conn.execute(sa.text(f"SELECT * FROM {table}"))).all()
                dump = repr(rows)
                for secret in (NAME, PHONE, ADDRESS, "0912"):
                    assert secret not in dump, table
                    assert secret.encode() not in b"".join(
                        v for row in rows for v in row if isinstance(v, bytes | memoryview)
                    ), table
    finally:
        await engine.dispose()
    # The owning unit reads it, each read audited.
    for _ in range(2):
        got = await client.get(f"{API}/{tip_id}/informant", headers=owner)
        assert got.status == 200 and await got.json() == informant
    async with services.engine.connect() as conn:
        reads = (
            await conn.execute(
                sa.text("SELECT count(*) FROM audit_log WHERE action = 'informant_read' AND tip_id = :t"),
                {"t": tip_id},
            )
        ).scalar_one()
    assert reads == 2
    page = await client.get(f"/staff/tips/{tip_id}/informant", headers=owner)
    assert page.status == 200 and NAME in await page.text()
    # Another unit: 404, as for a tip it may not see; an admin of another unit: 404 too.
    assert (await client.get(f"{API}/{tip_id}/informant", headers=other)).status == 404
    assert (await client.get(f"{API}/{tip_id}/informant", headers=admin)).status == 404
    # Not in the tip, its page, the exports, the audit CSV.
    for url, who in (
        (f"{API}/{tip_id}", owner),
        (f"/staff/tips/{tip_id}", owner),
        ("/api/v1/staff/kpi.csv?from=2026-03-01&to=2026-03-31", owner),
        ("/api/v1/staff/dashboard.csv?from=2026-03-01&to=2026-03-31", owner),
        ("/api/v1/staff/audit.csv", admin),
        ("/api/v1/staff/audit", admin),
    ):
        text = await (await client.get(url, headers=who)).text()
        assert NAME not in text and PHONE not in text and ADDRESS not in text, url
    # An anonymous tip has no identity to show.
    anonymous = (await (await client.post(API, json=body(), headers=owner)).json())["id"]
    assert (await client.get(f"{API}/{anonymous}/informant", headers=owner)).status == 404
    # Forgotten (retention): the sealed identity is gone, and the read finds nothing.
    assert await services.registrations.forget_informant(tip_id, actor="system:retention")
    assert (await client.get(f"{API}/{tip_id}/informant", headers=owner)).status == 404


async def test_bad_registrations_get_a_clear_4xx_and_store_nothing(client: Any, services: Services) -> None:
    headers = await commune_officer(services)
    no_csrf = {"Cookie": headers["Cookie"]}
    assert (await client.post(API, json=body(), headers=no_csrf)).status == 403
    assert (await client.post(API, json=body())).status == 401
    cases = [
        body(channel="web"),
        body(channel="telegram"),
        body(channel="fax"),
        body(channel="forwarded"),  # no forwarding body
        body(forwarded_by="Báo Thanh Niên"),  # not forwarded
        body(received_at="2026-03-02T08:30:00"),  # no time zone
        body(received_at="2026-03-09T08:30:00+07:00", late_reason="x"),  # the future
        body(received_at="1999-12-31T08:30:00+07:00", late_reason="x"),
        body(text=""),
        body(text="   "),
        body(text="a\x00b"),
        body(text="x" * 20_001),
        body(commune_code=REMOTE_COMMUNE[:4]),
        body(commune_code="00004"),  # another province
        body(informant={"name": "x" * 201}),
        body(informant={"ssn": "1"}),
        body(urgent="yes"),
        {**body(), "agency_code": "police:79"},
    ]
    for case in cases:
        resp = await client.post(API, json=case, headers=headers)
        assert resp.status in (413, 422), (case, resp.status)
    assert (
        await client.post(API, data=b"[1, 2]", headers={**headers, "Content-Type": "application/json"})
    ).status == 400
    assert (
        await client.post(API, data=b"{", headers={**headers, "Content-Type": "application/json"})
    ).status == 400
    assert (await client.post(API, data="text=x", headers=headers)).status == 415
    queue = await (await client.get(f"{API}?closed=true", headers=headers)).json()
    assert queue["items"] == []


async def test_concurrent_registrations_each_get_their_own_receipt(client: Any, services: Services) -> None:
    headers = await commune_officer(services)
    responses = await asyncio.gather(
        *(
            client.post(API, json=body(text=f"Tin báo số {i} về quán karaoke"), headers=headers)
            for i in range(12)
        )
    )
    assert [r.status for r in responses] == [201] * 12
    receipts = [await r.json() for r in responses]
    assert len({r["receipt_code"] for r in receipts}) == len({r["id"] for r in receipts}) == 12


async def test_the_form_registers_and_prints_a_receipt(
    client: Any, services: Services, clock: FakeClock
) -> None:
    headers = await commune_officer(services)
    form = await client.get("/staff/register", headers=headers)
    text = await form.text()
    assert form.status == 200 and "Tiếp nhận tin báo" in text and "Hộp thư tố giác" in text
    csrf = headers["X-CSRF-Token"]
    fields = {
        "csrf_token": csrf,
        "channel": "in_person",
        "received_date": "02/03/2026",
        "received_time": "08:40",
        "text": "Người dân đến trình báo nhà nghỉ có dấu hiệu chứa mại dâm",
        "commune_code": COMMUNE,
        "informant_name": NAME,
    }
    done = await client.post("/staff/register", data=fields, headers={"Cookie": headers["Cookie"]})
    page = await done.text()
    assert done.status == 201 and "Phiếu tiếp nhận tin báo" in page and NAME not in page
    assert "01:40" not in page  # Viet Nam time, not UTC
    late = {**fields, "received_date": "20/02/2026"}
    refused = await client.post("/staff/register", data=late, headers={"Cookie": headers["Cookie"]})
    assert refused.status == 422 and "lý do nhập muộn" in (await refused.text()).lower()
    for bad_date, bad_time in (("31/02/2026", "08:40"), ("02/03/2026", "25:00"), ("2026-03-02", "08:40")):
        wrong = {**fields, "received_date": bad_date, "received_time": bad_time}
        refused = await client.post("/staff/register", data=wrong, headers={"Cookie": headers["Cookie"]})
        assert refused.status == 422 and "ngày giờ tiếp nhận" in await refused.text()
    stale = {**fields, "csrf_token": "nope"}
    assert (
        await client.post("/staff/register", data=stale, headers={"Cookie": headers["Cookie"]})
    ).status == 403


async def kpi_rows(client: Any, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    resp = await client.get("/api/v1/staff/kpi/channels?from=2026-02-01&to=2026-03-31", headers=headers)
    assert resp.status == 200, await resp.text()
    body_ = await resp.json()
    return {row["channel"]: row for row in body_["channels"]}


async def test_kpi_by_channel_adds_up_with_mixed_channels(
    client: Any, services: Services, clock: FakeClock
) -> None:
    headers = await add_staff(services, "boss", f"police:{PROVINCE}", PROVINCE, role=Role.ADMIN)
    officer = await commune_officer(services)
    web_ids = [(await submit(services.intake, commune_code=COMMUNE)).tip_id for _ in range(3)]
    phone = await client.post(API, json=body(), headers=officer)
    letter = await client.post(
        API,
        json=body(
            channel="letter",
            received_at=(clock() - timedelta(days=10)).isoformat(),
            late_reason="Thư đến chậm",
        ),
        headers=officer,
    )
    phone_id, letter_id = (await phone.json())["id"], (await letter.json())["id"]
    clock.advance(hours=2)
    await services.tips.transition(web_ids[0], move(Stage.VERIFIED))
    await services.tips.transition(phone_id, move(Stage.VERIFIED))
    await services.tips.transition(letter_id, move(Stage.VERIFIED))  # ten days after receipt: late
    await services.tips.transition(web_ids[1], move(Stage.SPAM))
    headers, officer = await staff_headers(services, "boss"), await staff_headers(services, "lan")
    rows = await kpi_rows(client, headers)
    assert list(rows) == [c.value for c in Channel]
    assert rows["web"]["received"] == 3 and rows["phone"]["received"] == 1 and rows["letter"]["received"] == 1
    assert rows["zalo"]["received"] == 0 and rows["zalo"]["stages"][0]["on_time_share"] is None
    verified = {c: r["stages"][0] for c, r in rows.items()}
    assert verified["phone"]["on_time"] == 1 and verified["phone"]["on_time_share"] == 1.0
    assert verified["letter"]["late"] == 1 and verified["letter"]["on_time_share"] == 0.0
    assert verified["web"]["on_time"] == 1 and verified["web"]["not_applicable"] == 1
    assert rows["letter"]["label"] == "Thư" and rows["web"]["label"] == "Trang web"
    # The channels add up to the whole KPI, stage by stage.
    report2 = await services.tips.kpi(Period(date(2026, 2, 1), date(2026, 3, 31)), KpiScope())
    assert sum(r["received"] for r in rows.values()) == report2.totals.received == 5
    for i, stage in enumerate((Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED)):
        whole = report2.stage(stage)
        for key in ("on_time", "late", "open_within_time", "overdue", "not_applicable"):
            assert sum(r["stages"][i][key] for r in rows.values()) == getattr(whole, key), (stage, key)
    # The KPI page and the dashboard show the channels in words.
    page = await (await client.get("/staff/kpi?from=2026-02-01&to=2026-03-31", headers=headers)).text()
    assert "Theo kênh tiếp nhận" in page and "Hộp thư tố giác" in page and "Trang web" in page
    dash = await (
        await client.get("/api/v1/staff/dashboard?from=2026-02-01&to=2026-03-31", headers=headers)
    ).json()
    assert {r["channel"]: r["received"] for r in dash["by_channel"]}["letter"] == 1
    csv_text = await (
        await client.get("/api/v1/staff/dashboard.csv?from=2026-02-01&to=2026-03-31", headers=headers)
    ).text()
    rows_csv = [r for r in csv.reader(io.StringIO(csv_text)) if r[0] == "received_by_channel"]
    assert ["received_by_channel", "phone", "Điện thoại", "", "", "1"] in rows_csv
    # An officer's figures count only their unit's tips.
    mine = await kpi_rows(client, officer)
    assert mine["phone"]["received"] == 1 and mine["web"]["received"] == 3


async def test_misconduct_registered_goes_to_the_inspectorate(client: Any, services: Services) -> None:
    headers = await commune_officer(services)
    resp = await client.post(API, json=body(category="official_misconduct"), headers=headers)
    assert resp.status == 201
    tip_id = (await resp.json())["id"]
    tip, _ = await services.tips.view(tip_id, "test", EVERYTHING)
    assert tip.agency_code == f"inspectorate:{PROVINCE}"
    assert (await client.get(f"{API}/{tip_id}", headers=headers)).status == 404
