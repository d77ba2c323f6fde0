"""Training sessions, staff counts and offline outreach in the staff workspace: recorded
through the same service as the CLI, within the officer's area; malformed, oversize, hostile
and concurrent forms get a clear 4xx and lose nothing; police and another commune get 404."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.officers import Role
from core.support import Level
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.conftest import COMMUNE, PROVINCE, add_staff

OTHER = "26740"
OWN = f"commune:{COMMUNE}"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="cd" * 32)


async def post(client: Any, path: str, who: dict[str, str], fields: list[tuple[str, str]]) -> Any:
    return await client.post(
        path,
        data=aiohttp.FormData([("csrf_token", who["X-CSRF-Token"]), *fields]),
        headers={"Cookie": who["Cookie"]},
        allow_redirects=False,
    )


def training(agency: str = OWN, n: str = "12", **over: str) -> list[tuple[str, str]]:
    fields = {"date": "2026-03-01", "level": "commune", "agency": agency, "topic": "Kỹ năng tư vấn"} | over
    return [*fields.items(), ("participant_agency", agency), ("participant_count", n)]


async def test_a_commune_worker_records_lists_and_deletes_training(client: Any, services: Services) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    page = await client.get("/staff/support/training", headers={"Cookie": worker["Cookie"]})
    html = await page.text()
    assert page.status == 200 and "Ghi nhận một lớp tập huấn" in html
    assert f'value="{OWN}"' in html and f'value="commune:{OTHER}"' not in html  # own agencies only
    assert 'href="/staff/support/training"' in html  # the menu
    assert (await post(client, "/staff/support/training", worker, training())).status == 303
    [record] = await services.support.trainings(COMMUNE)
    assert record.session.participants == {OWN: 12} and record.session.level is Level.COMMUNE
    html = await (await client.get("/staff/support/training", headers={"Cookie": worker["Cookie"]})).text()
    assert "Kỹ năng tư vấn" in html and "01/03/2026" in html and "12" in html
    deleted = await post(client, f"/staff/support/training/{record.id}/delete", worker, [])
    assert deleted.status == 303 and await services.support.trainings(None) == []


@pytest.mark.parametrize(
    "fields",
    [
        training(n="-1"),
        training(n="1e3"),
        training(n="9" * 40),
        training(date="01/03/2026"),
        training(date="1970-01-01"),
        training(level="district"),
        training(topic=""),
        training(topic="x" * 5000),
        training(topic="a\x00b"),
        training(agency=f"commune:{OTHER}"),  # another commune's agency
        [("date", "2026-03-01"), ("level", "commune"), ("agency", OWN), ("topic", "t")],  # nobody trained
        [*training(), *[("participant_agency", f"x{i}:{COMMUNE}") for i in range(9)]],
    ],
)
async def test_bad_training_forms_are_refused_and_nothing_is_stored(
    client: Any, services: Services, fields: list[tuple[str, str]]
) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    resp = await post(client, "/staff/support/training", worker, fields)
    assert resp.status == 422
    html = await resp.text()
    assert "Không ghi nhận được" in html and "\x00" not in html
    assert await services.support.trainings(None) == []


async def test_hostile_text_is_shown_as_text(client: Any, services: Services) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    hostile = "<script>alert(1)</script>"
    assert (await post(client, "/staff/support/training", worker, training(topic=hostile))).status == 303
    html = await (await client.get("/staff/support/training", headers={"Cookie": worker["Cookie"]})).text()
    assert hostile not in html and "&lt;script&gt;" in html


async def test_forged_token_multipart_and_oversize_bodies_are_refused(
    client: Any, services: Services
) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    forged = {**worker, "X-CSRF-Token": "x" * 43}
    for path in ("/staff/support/training", "/staff/support/staff-counts", "/staff/support/activities"):
        assert (await post(client, path, forged, training())).status == 403
        form = aiohttp.FormData([("csrf_token", worker["X-CSRF-Token"])], default_to_multipart=True)
        form.add_field("file", b"x", filename="a.txt")
        multipart = await client.post(path, data=form, headers={"Cookie": worker["Cookie"]})
        assert multipart.status == 415
        huge = await post(client, path, worker, [("topic", "x" * 200_000)])
        assert huge.status == 413
    assert await services.support.trainings(None) == []
    assert await services.support.staff_counts(None) == []
    assert await services.support.activities(None) == []


async def test_concurrent_forms_are_each_recorded(client: Any, services: Services) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    sent = await asyncio.gather(
        *(post(client, "/staff/support/training", worker, training(topic=f"Lớp {i}")) for i in range(6)),
        *(
            post(
                client,
                "/staff/support/activities",
                worker,
                [
                    ("date", "2026-03-01"),
                    ("commune", COMMUNE),
                    ("kind", "meeting"),
                    ("audience", f"nhóm {i}"),
                    ("reached", "30"),
                ],
            )
            for i in range(6)
        ),
        *(
            post(
                client,
                "/staff/support/staff-counts",
                worker,
                [("agency", OWN), ("level", "commune"), ("staff", str(10 + i))],
            )
            for i in range(4)
        ),
    )
    assert [r.status for r in sent] == [303] * 16
    assert sorted(r.session.topic for r in await services.support.trainings(COMMUNE)) == [
        f"Lớp {i}" for i in range(6)
    ]
    assert len(await services.support.activities(COMMUNE)) == 6
    [count] = await services.support.staff_counts(COMMUNE)
    assert count.agency_code == OWN and 10 <= count.staff <= 13


async def test_staff_counts_are_set_and_changed_within_the_area(client: Any, services: Services) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    path = "/staff/support/staff-counts"
    assert (
        await post(client, path, worker, [("agency", OWN), ("level", "commune"), ("staff", "20")])
    ).status == 303
    assert (
        await post(client, path, worker, [("agency", OWN), ("level", "commune"), ("staff", "25")])
    ).status == 303
    html = await (await client.get(path, headers={"Cookie": worker["Cookie"]})).text()
    assert 'value="25"' in html and "Cấp xã" in html
    for bad in (
        [("agency", f"commune:{OTHER}"), ("level", "commune"), ("staff", "3")],
        [("agency", OWN), ("level", "x"), ("staff", "3")],
        [("agency", OWN), ("level", "commune"), ("staff", "-3")],
        [("agency", OWN), ("level", "commune"), ("staff", "2000000")],
        [("agency", OWN), ("level", "commune"), ("staff", "")],
    ):
        assert (await post(client, path, worker, bad)).status == 422
    assert [(c.agency_code, c.staff) for c in await services.support.staff_counts(None)] == [(OWN, 25)]


async def test_activities_are_recorded_for_the_own_commune_only(client: Any, services: Services) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    path = "/staff/support/activities"
    good = [
        ("date", "2026-03-01"),
        ("commune", COMMUNE),
        ("kind", "school_talk"),
        ("audience", "học sinh"),
        ("reached", "120"),
    ]
    assert (await post(client, path, worker, good)).status == 303
    html = await (await client.get(path, headers={"Cookie": worker["Cookie"]})).text()
    assert "Nói chuyện tại trường học" in html and "học sinh" in html and "Phường Bến Thành" in html
    for bad in (
        [("commune", OTHER) if k == "commune" else (k, v) for k, v in good],
        [("kind", "party") if k == "kind" else (k, v) for k, v in good],
        [("reached", "-1") if k == "reached" else (k, v) for k, v in good],
        [("audience", "") if k == "audience" else (k, v) for k, v in good],
        [("audience", "x" * 100) if k == "audience" else (k, v) for k, v in good],
        [("commune", "\x00") if k == "commune" else (k, v) for k, v in good],
    ):
        assert (await post(client, path, worker, bad)).status == 422
    [record] = await services.support.activities(None)
    assert record.activity.reached == 120
    # A provincial health worker sees it, records for any commune of the province.
    province = await add_staff(services, "soyte", f"health:{PROVINCE}", PROVINCE)
    other = [("commune", OTHER) if k == "commune" else (k, v) for k, v in good]
    assert (await post(client, path, province, other)).status == 303
    assert len(await services.support.activities(None)) == 2


async def test_police_and_another_commune_get_404(client: Any, services: Services) -> None:
    worker = await add_staff(services, "ytexa", OWN, COMMUNE)
    assert (await post(client, "/staff/support/training", worker, training())).status == 303
    assert (
        await post(
            client,
            "/staff/support/activities",
            worker,
            [
                ("date", "2026-03-01"),
                ("commune", COMMUNE),
                ("kind", "meeting"),
                ("audience", "dân"),
                ("reached", "3"),
            ],
        )
    ).status == 303
    [session] = await services.support.trainings(None)
    [activity] = await services.support.activities(None)
    police = await add_staff(services, "congan", f"police:{COMMUNE}", COMMUNE)
    other = await add_staff(services, "ytekhac", f"commune:{OTHER}", OTHER)
    for path in ("/staff/support/training", "/staff/support/staff-counts", "/staff/support/activities"):
        assert (await client.get(path, headers={"Cookie": police["Cookie"]})).status == 404
        assert (await post(client, path, police, training())).status == 404
    nav = await (await client.get("/staff/kpi", headers={"Cookie": police["Cookie"]})).text()
    assert "/staff/support" not in nav
    for path in (
        f"/staff/support/training/{session.id}/delete",
        f"/staff/support/activities/{activity.id}/delete",
    ):
        assert (await post(client, path, other, [])).status == 404
        assert (await post(client, path, police, [])).status == 404
    # The other commune's lists do not show them either.
    html = await (await client.get("/staff/support/training", headers={"Cookie": other["Cookie"]})).text()
    assert "Kỹ năng tư vấn" not in html
    assert (
        len(await services.support.trainings(None)) == 1 and len(await services.support.activities(None)) == 1
    )
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    assert (await client.get("/staff/support/training", headers={"Cookie": admin["Cookie"]})).status == 200
    assert (await post(client, "/staff/support/training/99999/delete", admin, [])).status == 404


def test_the_command_line_deletes_what_was_recorded_by_mistake(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hotline.cli import main

    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_PROVINCE", PROVINCE)
    monkeypatch.setenv("HOTLINE_MASTER_KEY", "cd" * 32)
    add = ["training", "add", "--date", "2026-03-01", "--level", "commune", "--agency", OWN, "--topic", "T"]
    assert main([*add, "--participants", f"{OWN}=3"]) == 0
    session_id = capsys.readouterr().out.split()[2]
    act = ["outreach-activity", "add", "--date", "2026-03-01", "--commune", COMMUNE, "--kind", "poster"]
    assert main([*act, "--audience", "dân", "--reached", "5"]) == 0
    activity_id = capsys.readouterr().out.split()[2]
    assert main(["training", "delete", session_id]) == 0
    assert main(["training", "delete", session_id]) == 1  # gone: said so, exit 1
    assert main(["outreach-activity", "delete", activity_id]) == 0
    assert main(["outreach-activity", "delete", "999999"]) == 1
    assert "no such outreach activity" in capsys.readouterr().err
