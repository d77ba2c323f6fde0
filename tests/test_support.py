"""Support cases end to end on SQLite and PostgreSQL: the anonymous request with its sealed
contact (gone once closed), the lifecycle and deadlines, jurisdiction, the indicators
against plain-Python definitions, and the periodic report read back and compared."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import InvalidInput, NotFound
from core.establishments import Scope
from core.kpi import Period
from core.support import Activity, Level, Provider, ReferralOutcome, State, TrainingSession, content
from core.support_service import support_scope
from hotline.bootstrap import Services, open_services
from hotline.cli import main
from hotline.settings import Settings
from hotline.support_cli import parse_providers
from storage.db import create_engine
from tests.conftest import COMMUNE, PROVINCE, FakeClock

OTHER_COMMUNE = "26740"
PHONE = "0912 345 678"
WORKER = Scope(commune_code=COMMUNE)
PERIOD = Period(date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        master_key="ab" * 32,
    )


async def _provider(services: Services) -> int:
    await services.support.import_providers(
        [Provider(0, "Phòng khám ngoại trú", ("health", "counselling"), (COMMUNE,), "028 1234", True)]
    )
    return (await services.support.providers())[0].id


async def _dump(url: str) -> list[str]:
    """Every value of every row of every table, as text: the privacy scan reads them all."""
    engine = create_engine(url)
    out: list[str] = []
    try:
        async with engine.connect() as conn:

            def tables(sync: Any) -> list[str]:
                return list(sa.inspect(sync).get_table_names())

            for name in await conn.run_sync(tables):
                for row in await conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            out.append(bytes(value).decode("latin-1"))
                        elif value is not None:
                            out.append(str(value))
    finally:
        await engine.dispose()
    return out


async def test_a_contact_is_stored_only_sealed_and_is_gone_after_the_case_closes(
    services: Services, db_url: str
) -> None:
    receipt = await services.support.ask(
        kinds=["health", "legal"], commune=COMMUNE, contact=PHONE, message="Tôi cần khám sức khỏe"
    )
    values = await _dump(db_url)
    assert not any("0912" in v or "345 678" in v for v in values)
    case = (await services.support.cases(WORKER))[0]
    assert case.has_contact
    assert await services.support.contact(case.id, WORKER, actor="cb1") == PHONE
    # Another area's worker and the police cannot read it.
    with pytest.raises(NotFound):
        await services.support.contact(case.id, Scope(commune_code=OTHER_COMMUNE), actor="x")
    await services.support.move(case.id, State.CLOSED, WORKER, actor="cb1")
    assert await services.support.contact(case.id, WORKER, actor="cb1") is None
    page = await services.support.read(receipt.code, receipt.passphrase)
    assert page.case.state is State.CLOSED and not page.case.has_contact
    assert [m.body for m in page.messages] == ["Tôi cần khám sức khỏe"]


async def test_the_person_reads_answers_and_writes_with_receipt_and_passphrase(services: Services) -> None:
    receipt = await services.support.ask(kinds=["job"], commune=None, contact=None, message="")
    with pytest.raises(NotFound):
        await services.support.read(receipt.code, "sai mật khẩu")
    with pytest.raises(NotFound):
        await services.support.read("not a code", receipt.passphrase)
    province = Scope(province_code=PROVINCE)
    case = (await services.support.cases(province))[0]
    # A case with no commune belongs to the province's workers, not a commune's.
    assert await services.support.cases(WORKER) == []
    await services.support.answer(case.id, province, actor="cb", message="Chào bạn, chúng tôi có thể giúp.")
    await services.support.write(receipt.code, receipt.passphrase, "Cảm ơn")
    page = await services.support.read(receipt.code.lower(), receipt.passphrase.upper())
    assert [(m.author, m.body) for m in page.messages] == [
        ("staff", "Chào bạn, chúng tôi có thể giúp."),
        ("person", "Cảm ơn"),
    ]
    assert page.case.first_contact_at is not None


@pytest.mark.parametrize(
    ("kinds", "commune", "contact", "message"),
    [
        ([], None, None, ""),
        (["weapons"], None, None, ""),
        (["job"], "99999", None, ""),
        (["job"], None, "x" * 500, ""),
        (["job"], None, None, "y" * 5000),
    ],
)
async def test_bad_requests_are_refused_and_store_nothing(
    services: Services, kinds: list[str], commune: str | None, contact: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput):
        await services.support.ask(kinds=kinds, commune=commune, contact=contact, message=message)
    assert await services.support.cases(Scope(everything=True)) == []


async def test_lifecycle_referral_outcome_and_first_contact_deadline(
    services: Services, clock: FakeClock
) -> None:
    await services.support.ask(kinds=["health"], commune=COMMUNE, contact=None, message="")
    case = (await services.support.cases(WORKER))[0]
    # Monday 09:00 + 2 working days: not overdue on Tuesday, overdue on Thursday.
    clock.advance(days=1)
    assert await services.support.overdue(WORKER) == []
    clock.advance(days=2)
    assert [c.id for c in await services.support.overdue(WORKER)] == [case.id]
    provider = await _provider(services)
    with pytest.raises(InvalidInput):  # referral before assessment
        await services.support.refer(case.id, provider, ["health"], WORKER, actor="cb")
    with pytest.raises(InvalidInput):  # not a step that follows "received"
        await services.support.move(case.id, State.SERVICE_RECEIVED, WORKER, actor="cb")
    await services.support.move(case.id, State.ASSESSED, WORKER, actor="cb")
    assert await services.support.overdue(WORKER) == []
    ref = await services.support.refer(case.id, provider, ["health"], WORKER, actor="cb")
    await services.support.referral_outcome(case.id, ref, ReferralOutcome.RECEIVED, WORKER, actor="cb")
    with pytest.raises(InvalidInput):  # an outcome once
        await services.support.referral_outcome(case.id, ref, ReferralOutcome.DECLINED, WORKER, actor="cb")
    page = await services.support.page(case.id, WORKER)
    assert page.case.state is State.SERVICE_RECEIVED
    assert page.referrals[0].outcome is ReferralOutcome.RECEIVED
    assert [e.action for e in page.events] == ["received", "assessed", "referred", "referral_received"]
    assert all(e.at is not None for e in page.events)
    ratios = await services.support.ratios(PERIOD, None)
    assert (ratios["support_received"].numerator, ratios["support_received"].denominator) == (1, 1)


async def test_two_workers_moving_one_case_at_once_move_it_once(services: Services) -> None:
    await services.support.ask(kinds=["health"], commune=COMMUNE, contact=None, message="")
    case = (await services.support.cases(WORKER))[0]
    results = await asyncio.gather(
        *(services.support.move(case.id, State.ASSESSED, WORKER, actor=f"cb{i}") for i in range(4)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, InvalidInput) for r in results if r is not None)


def test_jurisdiction_police_and_inspectors_see_no_support_case() -> None:
    assert support_scope(admin=False, agency_code=f"police:{COMMUNE}", area_code=COMMUNE) is None
    assert support_scope(admin=False, agency_code=f"inspectorate:{PROVINCE}", area_code=PROVINCE) is None
    assert support_scope(admin=False, agency_code=f"health:{COMMUNE}", area_code=COMMUNE) == WORKER
    assert support_scope(admin=True, agency_code=f"police:{PROVINCE}", area_code=PROVINCE) == Scope(
        everything=True
    )


async def test_police_and_another_area_get_not_found(services: Services) -> None:
    await services.support.ask(kinds=["health"], commune=COMMUNE, contact=None, message="")
    case = (await services.support.cases(WORKER))[0]
    police = support_scope(admin=False, agency_code=f"police:{COMMUNE}", area_code=COMMUNE)
    for scope in (police, Scope(commune_code=OTHER_COMMUNE)):
        assert await services.support.cases(scope) == []
        with pytest.raises(NotFound):
            await services.support.page(case.id, scope)
        with pytest.raises(NotFound):
            await services.support.move(case.id, State.ASSESSED, scope, actor="x")


async def test_indicators_match_plain_definitions(services: Services) -> None:
    provider = await _provider(services)
    outcomes = [ReferralOutcome.RECEIVED, ReferralOutcome.DECLINED, ReferralOutcome.RECEIVED, None]
    for outcome in [*outcomes, "not assessed"]:
        await services.support.ask(kinds=["health"], commune=COMMUNE, contact=None, message="")
        case = (await services.support.cases(WORKER))[0]
        if outcome == "not assessed":
            continue
        await services.support.move(case.id, State.ASSESSED, WORKER, actor="cb")
        if isinstance(outcome, ReferralOutcome):
            ref = await services.support.refer(case.id, provider, ["health"], WORKER, actor="cb")
            await services.support.referral_outcome(case.id, ref, outcome, WORKER, actor="cb")
    staff = {
        ("health:79", "province"): 40,
        ("police:79", "province"): 60,
        (f"health:{COMMUNE}", "commune"): 10,
    }
    for (agency, level), n in staff.items():
        await services.support.set_staff(agency, Level(level), n, actor="admin")
    trainings = [
        TrainingSession(
            date(2026, 3, 1),
            Level.PROVINCE,
            "health:79",
            "Kỹ năng tư vấn",
            {"health:79": 30, "police:79": 20},
        ),
        TrainingSession(date(2025, 3, 1), Level.PROVINCE, "health:79", "Năm trước", {"health:79": 40}),
        TrainingSession(date(2026, 5, 1), Level.COMMUNE, f"health:{COMMUNE}", "Xã", {f"health:{COMMUNE}": 7}),
    ]
    for t in trainings:
        await services.support.add_training(t, actor="admin")
    await services.support.add_activity(
        Activity(date(2026, 4, 1), COMMUNE, "school_talk", "students", 120), actor="a"
    )
    await services.support.add_activity(
        Activity(date(2025, 4, 1), OTHER_COMMUNE, "poster", "all", 50), actor="a"
    )

    rows = {i.name: i for i in await services.establishments.indicators(PERIOD, None)}
    # Plain definitions.
    assessed = [o for o in outcomes]  # every case but the unassessed one
    served = [o for o in outcomes if o is ReferralOutcome.RECEIVED]
    assert (rows["support_received"].numerator, rows["support_received"].denominator) == (
        len(served),
        len(assessed),
    )
    in_period = [t for t in trainings if PERIOD.start <= t.held_on <= PERIOD.end]
    prov_trained = sum(sum(t.participants.values()) for t in in_period if t.level is Level.PROVINCE)
    prov_staff = sum(n for (_, lvl), n in staff.items() if lvl == "province")
    assert (rows["staff_trained_province"].numerator, rows["staff_trained_province"].denominator) == (
        prov_trained,
        prov_staff,
    )
    assert rows["staff_trained_province"].status.value == "not_met"  # 50 % < 80 %
    assert (rows["staff_trained_commune"].numerator, rows["staff_trained_commune"].denominator) == (7, 10)
    out = rows["communes_with_outreach"]
    assert out.numerator == 1 and out.denominator > 100  # one ward of Ho Chi Minh City's many
    commune_rows = {i.name: i for i in await services.establishments.indicators(PERIOD, COMMUNE)}
    assert (
        commune_rows["communes_with_outreach"].numerator,
        commune_rows["communes_with_outreach"].denominator,
    ) == (1, 1)
    assert (
        commune_rows["staff_trained_commune"].numerator,
        commune_rows["staff_trained_commune"].denominator,
    ) == (7, 10)
    assert commune_rows["staff_trained_province"].denominator == 0


def test_provider_csv_is_parsed_and_bad_files_are_refused() -> None:
    rows = parse_providers("\ufeffname,kinds,communes,contact,free\nTrung tâm,health;legal,26743,028,có\n")
    assert rows[0].kinds == ("health", "legal") and rows[0].free and rows[0].communes == ("26743",)
    with pytest.raises(InvalidInput):
        parse_providers("name,kinds\nx,health\n")
    with pytest.raises(InvalidInput):
        parse_providers("name,kinds,communes,contact,free\nx,health,,,maybe\n")


# --- the command line: the report read back -------------------------------------------------


@pytest.fixture
def env(settings: Settings, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", PROVINCE)
    monkeypatch.setenv("HOTLINE_MASTER_KEY", "ab" * 32)
    return settings


def _seed(settings: Settings) -> None:
    async def run() -> None:
        async with open_services(settings) as services:
            provider = await _provider(services)
            for outcome in (ReferralOutcome.RECEIVED, ReferralOutcome.UNREACHABLE):
                await services.support.ask(kinds=["health", "job"], commune=COMMUNE, contact=None, message="")
                case = (await services.support.cases(WORKER))[0]
                await services.support.move(case.id, State.ASSESSED, WORKER, actor="cb")
                ref = await services.support.refer(case.id, provider, ["health"], WORKER, actor="cb")
                await services.support.referral_outcome(case.id, ref, outcome, WORKER, actor="cb")
            await services.support.set_staff("health:79", Level.PROVINCE, 10, actor="a")
            await services.support.add_training(
                TrainingSession(date.today(), Level.PROVINCE, "health:79", "Tập huấn", {"health:79": 9}),
                actor="a",
            )

    asyncio.run(run())


def _indicators(capsys: pytest.CaptureFixture[str], start: str, end: str, *extra: str) -> dict[str, Any]:
    assert main(["indicators", "--from", start, "--to", end, "--format", "json", *extra]) == 0
    body: dict[str, Any] = json.loads(capsys.readouterr().out)["indicators"]
    return body


def test_the_report_read_back_matches_the_indicators(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from docx import Document
    from openpyxl import load_workbook

    _seed(env)
    start, end = "2020-01-01", "2030-12-31"
    for extra in ([], ["--commune", COMMUNE]):
        expected = _indicators(capsys, start, end, *extra)
        assert (
            expected["support_received"]["numerator"] == 1
            and expected["support_received"]["denominator"] == 2
        )
        xlsx, docx_file = tmp_path / "r.xlsx", tmp_path / "r.docx"
        assert (
            main(["report", "--from", start, "--to", end, "--format", "xlsx", "--out", str(xlsx), *extra])
            == 0
        )
        assert (
            main(
                ["report", "--from", start, "--to", end, "--format", "docx", "--out", str(docx_file), *extra]
            )
            == 0
        )
        book = load_workbook(xlsx)
        cover = [c.value for c in book["Bìa"]["A"]]
        assert "Đơn vị: " + ("Phường Bến Thành" if extra else "Thành phố Hồ Chí Minh") in cover
        sheet = book["01"]
        table = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
        assert len(table) == len(expected)
        for row, (_, want) in zip(table, expected.items(), strict=True):
            assert (row[1], row[2]) == (want["numerator"], want["denominator"])
        doc = Document(str(docx_file))
        first = doc.tables[0]
        doc_rows = [[c.text for c in r.cells] for r in first.rows[1:]]
        for cells, (_, want) in zip(doc_rows, expected.items(), strict=True):
            assert (int(cells[1]), int(cells[2])) == (want["numerator"], want["denominator"])
        text = "\n".join(p.text for p in doc.paragraphs)
        assert "Khó khăn, vướng mắc" in text
        kinds_table = [[c.text for c in r.cells] for r in doc.tables[6].rows[1:]]
        assert [content().kind_label("health"), "2"] in kinds_table


def test_report_refuses_bad_input(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "r.xlsx")
    assert (
        main(
            [
                "report",
                "--from",
                "2026-01-01",
                "--to",
                "2026-12-31",
                "--format",
                "xlsx",
                "--out",
                out,
                "--commune",
                "99999",
            ]
        )
        == 1
    )
    assert (
        main(["report", "--from", "2026-12-31", "--to", "2026-01-01", "--format", "xlsx", "--out", out]) == 1
    )
    assert not Path(out).exists()
    with pytest.raises(SystemExit):
        main(["report", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "odt", "--out", out])


def test_cli_records_providers_training_staff_and_activities(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "providers.csv"
    good.write_text(
        "name,kinds,communes,contact,free\nTrung tâm Y tế,health;counselling,26743,028 1,có\n", "utf-8"
    )
    assert main(["support", "providers", "import", str(good)]) == 0
    assert "1 providers added" in capsys.readouterr().out
    assert main(["support", "providers", "import", str(good)]) == 0
    assert "0 providers added, 1 already" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("name,kinds,communes,contact,free\nX,weapons,,,có\n", "utf-8")
    assert main(["support", "providers", "import", str(bad)]) == 1
    bad.write_bytes(b"name,kinds\n\xff\xfe")
    assert main(["support", "providers", "import", str(bad)]) == 1
    assert main(["support", "providers", "import", str(tmp_path / "missing.csv")]) == 1
    capsys.readouterr()

    assert main(["training", "staff", "health:79", "province", "10"]) == 0
    assert main(["training", "staff", "health:79", "province", "-1"]) == 1
    base = [
        "training",
        "add",
        "--date",
        "2026-03-01",
        "--level",
        "province",
        "--agency",
        "health:79",
        "--topic",
        "Tư vấn",
    ]
    assert main([*base, "--participants", "health:79=4"]) == 0
    assert main([*base, "--participants", "health:79=many"]) == 1
    assert main([*base, "--participants", "health:79=-3"]) == 1
    act = ["outreach-activity", "add", "--date", "2026-04-01", "--kind", "poster", "--audience", "students"]
    assert main([*act, "--commune", COMMUNE, "--reached", "50"]) == 0
    assert main([*act, "--commune", "99999", "--reached", "50"]) == 1
    assert main([*act, "--commune", COMMUNE, "--reached", "-5"]) == 1
    capsys.readouterr()
    body = _indicators(capsys, "2026-01-01", "2026-12-31")
    assert (body["staff_trained_province"]["numerator"], body["staff_trained_province"]["denominator"]) == (
        4,
        10,
    )
    assert body["communes_with_outreach"]["numerator"] == 1
    pdf = tmp_path / "r.pdf"
    code = main(
        ["report", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "pdf", "--out", str(pdf)]
    )
    if shutil.which("soffice") or shutil.which("libreoffice"):
        assert code == 0 and pdf.read_bytes().startswith(b"%PDF")
    else:  # refused clearly, nothing written
        assert code == 1 and not pdf.exists()
        assert "LibreOffice" in capsys.readouterr().err
