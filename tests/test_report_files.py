"""The periodic report from the KPI page: the form, a province officer's commune choice, the
same numbers as `hotline indicators` for the same period and scope, the charts in XLSX and
DOCX, and the PDF made by LibreOffice (page 1 rendered to PNG to look at)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.kpi import Period
from core.officers import Role
from core.support import Activity, Level, TrainingSession
from hotline import report as report_files
from hotline.bootstrap import Services
from hotline.cli import main
from hotline.settings import Settings
from tests.conftest import COMMUNE, PROVINCE, add_staff

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
OTHER = "26740"
FROM, TO = "2026-01-01", "2026-12-31"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", PROVINCE)
    monkeypatch.setenv("HOTLINE_MASTER_KEY", "cd" * 32)
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="cd" * 32)


async def _seed(services: Services) -> None:
    for commune in (COMMUNE, OTHER, None):
        await services.support.ask(kinds=["health"], commune=commune, contact=None, message="")
    await services.support.set_staff(f"commune:{COMMUNE}", Level.COMMUNE, 10, actor="t")
    await services.support.add_training(
        TrainingSession(
            date(2026, 2, 1), Level.COMMUNE, f"commune:{COMMUNE}", "T", {f"commune:{COMMUNE}": 7}
        ),
        actor="t",
    )
    await services.support.add_activity(Activity(date(2026, 2, 2), OTHER, "meeting", "dân", 40), actor="t")


def _cli_indicators(*extra: str) -> dict[str, Any]:
    """`hotline indicators --format json`, run as the command line runs it."""
    out = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(out):
        assert main(["indicators", "--from", FROM, "--to", TO, "--format", "json", *extra]) == 0
    body: dict[str, Any] = json.loads(out.getvalue())["indicators"]
    return body


async def test_the_kpi_page_form_and_the_download_match_hotline_indicators(
    client: Any, services: Services
) -> None:
    from openpyxl import load_workbook

    await _seed(services)
    province = await add_staff(services, "giamsat", f"health:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    worker = await add_staff(services, "ytexa", f"commune:{COMMUNE}", COMMUNE)
    page = await (
        await client.get(f"/staff/kpi?from={FROM}&to={TO}", headers={"Cookie": province["Cookie"]})
    ).text()
    form = page[page.index('action="/staff/report"') :]
    assert 'name="format"' in form and f'<option value="{COMMUNE}">Phường Bến Thành</option>' in form
    assert ('value="pdf"' in form) == (report_files.soffice() is not None)
    mine = await (
        await client.get(f"/staff/kpi?from={FROM}&to={TO}", headers={"Cookie": worker["Cookie"]})
    ).text()
    assert 'action="/staff/report"' in mine and 'name="commune"' not in mine  # a commune: its own only

    for who, query, scope in (
        (province, "", []),
        (province, f"&commune={COMMUNE}", ["--commune", COMMUNE]),
        (worker, "", ["--commune", COMMUNE]),
    ):
        resp = await client.get(
            f"/staff/report?from={FROM}&to={TO}&format=xlsx{query}", headers={"Cookie": who["Cookie"]}
        )
        assert resp.status == 200
        book = load_workbook(io.BytesIO(await resp.read()))
        rows = list(book["01"].iter_rows(min_row=3, values_only=True))
        expected = await asyncio.to_thread(_cli_indicators, *scope)
        assert [(r[1], r[2]) for r in rows] == [(v["numerator"], v["denominator"]) for v in expected.values()]
        assert len(rows) == len(expected)

    # A commune's officer cannot widen nor move its report; an unknown commune is 404.
    for who, commune in ((worker, OTHER), (province, "99999"), (province, "00004"), (worker, "<b>")):
        resp = await client.get(
            f"/staff/report?from={FROM}&to={TO}&format=xlsx&commune={commune}",
            headers={"Cookie": who["Cookie"]},
        )
        assert resp.status == 404
    for bad in ("from=2020-01-01&to=2026-12-31&format=xlsx", f"from={FROM}&to={TO}&format=exe"):
        assert (await client.get(f"/staff/report?{bad}", headers={"Cookie": worker["Cookie"]})).status == 400


async def test_concurrent_downloads_each_get_their_report(client: Any, services: Services) -> None:
    await _seed(services)
    worker = await add_staff(services, "ytexa", f"commune:{COMMUNE}", COMMUNE)
    sent = await asyncio.gather(
        *(
            client.get(
                f"/staff/report?from={FROM}&to={TO}&format={fmt}", headers={"Cookie": worker["Cookie"]}
            )
            for fmt in ("xlsx", "docx") * 3
        )
    )
    assert [r.status for r in sent] == [200] * 6
    bodies = [await r.read() for r in sent]
    assert all(b.startswith(b"PK") for b in bodies)


async def test_the_charts_are_in_the_xlsx_and_the_docx(services: Services, tmp_path: Path) -> None:
    from docx import Document
    from openpyxl import load_workbook

    await _seed(services)
    found = await report_files.gather(services, Period(date(2026, 1, 1), date(2026, 12, 31)), None)
    # Tips are needed for the category and channel charts: draw them from made-up sections.
    found.sections[1].rows[:] = [("Mua bán người", 7), ("Chưa phân loại", 3)]
    found.sections[2].rows[:] = [("Trang web", 6), ("Zalo", 4)]
    found.chart[:] = [("Xác minh", 0.75), ("Phân loại", 0.5), ("Xử lý", 1.0)]
    found.charts = report_files.charts_of(found)
    assert [c.title for c in found.charts] == [
        "Tin báo theo loại",
        "Tin báo theo kênh tiếp nhận",
        "Tỷ lệ xử lý đúng hạn theo bước",
    ]
    xlsx, docx_file = tmp_path / "r.xlsx", tmp_path / "r.docx"
    report_files.write(found, "xlsx", xlsx)
    report_files.write(found, "docx", docx_file)
    sheet = load_workbook(xlsx)["Biểu đồ"]
    values = [r for r in sheet.iter_rows(values_only=True) if r[0]]
    assert ("Mua bán người", 7) in [tuple(v[:2]) for v in values]
    assert ("Xử lý", 1.0) in [tuple(v[:2]) for v in values]
    with __import__("zipfile").ZipFile(xlsx) as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 3
    doc = Document(str(docx_file))
    assert len(doc.inline_shapes) == 3
    png = report_files.chart_png(found.charts[0])
    assert png.startswith(b"\x89PNG")


@pytest.mark.skipif(report_files.soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_the_pdf_is_made_by_libreoffice_and_page_one_is_rendered(settings: Settings, tmp_path: Path) -> None:
    pdf = tmp_path / "r.pdf"
    assert main(["report", "--from", FROM, "--to", TO, "--format", "pdf", "--out", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(SCREENSHOTS / "report-page1"),
        ],
        check=True,
        timeout=60,
    )
    assert (SCREENSHOTS / "report-page1.png").stat().st_size > 5000
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, check=False, timeout=60
    ).stdout.decode()
    if text:
        assert "BÁO CÁO" in text and re.search(r"Kỳ báo cáo", text)


@pytest.mark.skipif(report_files.soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_two_pdf_conversions_at_once_do_not_clash(settings: Settings, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    found = report_files.Report(
        unit="Phường Bến Thành", period=Period(date(2026, 1, 1), date(2026, 6, 30)), indicators=[]
    )
    outs = [tmp_path / f"r{i}.pdf" for i in range(2)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda out: report_files.write(found, "pdf", out), outs))
    assert all(o.read_bytes().startswith(b"%PDF") for o in outs)


def test_pdf_without_libreoffice_is_a_clear_error(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_files, "soffice", lambda: None)
    pdf = tmp_path / "r.pdf"
    assert main(["report", "--from", FROM, "--to", TO, "--format", "pdf", "--out", str(pdf)]) == 1
    assert "LibreOffice" in capsys.readouterr().err and not pdf.exists()


async def test_the_tips_kpi_per_stage_and_the_reach_are_indicators(services: Services, clock: Any) -> None:
    from core.kpi import KpiScope
    from tests.builders import submit

    for _ in range(3):
        await submit(services.intake)
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    first = await services.tips.kpi(period, KpiScope())
    assert first.totals.received == 3
    rows = {i.name: i for i in await services.establishments.indicators(period, None)}
    kpi = await services.tips.kpi(period, KpiScope())
    for st in kpi.stages:
        row = rows[f"tips_{st.stage.value}_on_time"]
        assert (row.numerator, row.denominator) == (st.on_time, st.on_time + st.late + st.overdue)
    assert rows["tips_received_on_time"].numerator == 3 and rows["tips_received_on_time"].target == 1.0
    assert rows["tips_verified_on_time"].target == 0.9
    reach = await services.reach.report(period, None)
    for line in reach.lines:
        if f"reach_{line.audience}" in rows:
            row = rows[f"reach_{line.audience}"]
            assert (row.numerator, row.denominator) == (line.reached, line.population or 0)
    assert rows["reach_student"].target == 0.7 and rows["reach_worker"].target == 0.6
    # Targets are data: a deployment sets its own, the report and the command line follow.
    await services.establishments.set_target("tips_verified_on_time", 0.8, None, actor="t")
    rows = {i.name: i for i in await services.establishments.indicators(period, None)}
    assert rows["tips_verified_on_time"].target == 0.8


def _fake_soffice(tmp_path: Path, body: str) -> str:
    script = tmp_path / "soffice"
    script.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def _gone(pid: int) -> bool:
    """No such process, or only its exit status left (a zombie not yet reaped)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_failed_or_stuck_conversion_is_a_clear_error_and_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = report_files.Report(
        unit="Phường Bến Thành", period=Period(date(2026, 1, 1), date(2026, 6, 30)), indicators=[]
    )
    out = tmp_path / "r.pdf"
    failing = _fake_soffice(tmp_path, 'echo "bad document" >&2; exit 1')
    monkeypatch.setattr(report_files, "soffice", lambda: failing)
    with pytest.raises(report_files.ConversionFailed, match="bad document"):
        report_files.write(found, "pdf", out)
    assert not out.exists()
    pidfile = tmp_path / "child.pid"
    (tmp_path / "stuck").mkdir()
    stuck = _fake_soffice(tmp_path / "stuck", f'sleep 300 & echo $! > "{pidfile}"; wait')
    monkeypatch.setattr(report_files, "soffice", lambda: stuck)
    monkeypatch.setattr(report_files, "PDF_TIMEOUT_SECONDS", 0.5)
    with pytest.raises(report_files.ConversionFailed, match="longer than"):
        report_files.write(found, "pdf", out)
    assert not out.exists() and _gone(int(pidfile.read_text()))  # its whole group was stopped


async def test_the_page_says_503_when_the_conversion_fails(
    client: Any, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = await add_staff(services, "ytexa", f"commune:{COMMUNE}", COMMUNE)
    failing = _fake_soffice(tmp_path, "exit 3")
    monkeypatch.setattr(report_files, "soffice", lambda: failing)
    kpi = await (await client.get("/staff/kpi", headers={"Cookie": worker["Cookie"]})).text()
    assert '<option value="pdf">' in kpi
    resp = await client.get(
        f"/staff/report?from={FROM}&to={TO}&format=pdf", headers={"Cookie": worker["Cookie"]}
    )
    assert resp.status == 503
    monkeypatch.setattr(report_files, "soffice", lambda: None)
    resp = await client.get(
        f"/staff/report?from={FROM}&to={TO}&format=pdf", headers={"Cookie": worker["Cookie"]}
    )
    assert resp.status == 400 and "LibreOffice" in await resp.text()
    kpi = await (await client.get("/staff/kpi", headers={"Cookie": worker["Cookie"]})).text()
    assert 'value="pdf"' not in kpi
