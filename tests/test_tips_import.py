"""`hotline tips import`: a unit's register loaded all or nothing, idempotent by its own
reference, at its real dates for the KPI; `--dry-run`; the Vietnamese template round trip.
Run in-process as a person would run the command, on both databases."""

from __future__ import annotations

import asyncio
import csv
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from core.calendar import VN_TZ
from core.categories import Channel
from core.kpi import KpiScope, Period
from core.stages import Stage
from hotline.cli import main
from storage.dashboard_query import kpi_report
from storage.db import create_engine, session_factory
from storage.kpi_query import compute_kpi
from storage.models import TipRegistrationRow
from tests.conftest import COMMUNE

UNIT = f"police:{COMMUNE}"
HEADER = [
    "Số tham chiếu",
    "Thời điểm tiếp nhận",
    "Kênh tiếp nhận",
    "Nội dung",
    "Địa điểm",
    "Mã xã/phường",
    "Phân loại",
    "Thời điểm xác minh",
    "Thời điểm phân loại",
    "Thời điểm xử lý xong",
    "Kết quả",
    "Thời điểm kết thúc",
    "Nơi chuyển đến",
]


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", "79")
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def query(url: str, fn: Any) -> Any:
    async def go() -> Any:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def tips_of(url: str) -> list[Any]:
    from tests.builders import stored_tips

    return asyncio.run(stored_tips(url))


def rows(n: int = 3) -> list[list[Any]]:
    """A register: an open phone tip, a processed letter, a spam visit..."""
    base = [
        ["S-001", "14/03/2025 08:30", "Điện thoại", "Quán karaoke Lê Lợi có bán dâm", "Lê Lợi", COMMUNE,
         "Cơ sở kinh doanh", "14/03/2025 15:00", "", "", "", "", ""],
        ["S-002", "2025-03-15 09:00", "Thư", "Thư báo nhà nghỉ chứa mại dâm", "", "",
         "venue", "2025-03-15 10:00", "2025-03-16 10:00", "2025-03-20 10:00", "Đã xử lý", "", ""],
        ["S-003", "16/03/2025", "trực tiếp", "Người đến báo tin không rõ ràng", "", "",
         "", "", "", "", "Tin rác", "16/03/2025 11:00", ""],
        ["S-004", "17/03/2025 10:00", "Chuyển đến", "Báo chí chuyển tin về cơ sở massage", "", "",
         "", "", "", "", "", "", "Báo Tuổi Trẻ"],
    ]  # fmt: skip
    return base[:n]


def write_csv(path: Path, body: list[list[Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body)
    return path


def test_template_round_trip_imports_at_real_dates(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "mau.xlsx"
    code, out, _ = run(capsys, "tips", "import", "--template", str(template))
    assert code == 0 and template.exists()
    book = load_workbook(template)
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER
    assert "Hướng dẫn" in book.sheetnames
    for row in rows(4)[1:]:
        sheet.append(row)
    book.save(template)
    code, out, err = run(capsys, "tips", "import", str(template), "--unit", UNIT)
    assert code == 0, err
    assert "created 4 tips" in out
    tips = tips_of(env)
    assert len(tips) == 4
    example, processed, spam, forwarded = tips
    assert example.channel is Channel.PHONE and example.stage is Stage.CLASSIFIED
    assert example.received_at == datetime(2025, 3, 14, 8, 30, tzinfo=VN_TZ)
    assert processed.channel is Channel.LETTER and processed.stage is Stage.PROCESSED
    assert processed.reached[Stage.PROCESSED] == datetime(2025, 3, 20, 10, tzinfo=VN_TZ)
    assert spam.stage is Stage.SPAM and forwarded.channel is Channel.FORWARDED
    assert {t.agency_code for t in tips} == {UNIT}
    # The KPI counts them in March 2025, the same from the rollups as straight from the tips.
    period = Period(date(2025, 3, 1), date(2025, 3, 31))
    now = datetime.now(VN_TZ)

    async def both(session: Any) -> tuple[Any, Any]:
        return (
            await kpi_report(session, period, KpiScope(), now),
            await compute_kpi(session, period, KpiScope(), now),
        )

    rolled, direct = query(env, both)
    assert rolled.totals == direct.totals and rolled.stages == direct.stages
    assert rolled.totals.received == 4 and rolled.totals.closed == {"processed": 1, "spam": 1}
    assert rolled.stage(Stage.PROCESSED).on_time + rolled.stage(Stage.PROCESSED).late == 1

    async def refs(session: Any) -> set[str]:
        return set(await session.scalars(sa.select(TipRegistrationRow.external_ref)))

    assert query(env, refs) == {"STT-2025-0001", "S-002", "S-003", "S-004"}


def test_a_bad_row_stops_the_import_with_its_number_and_writes_nothing(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = rows(4)
    body.insert(
        2,
        ["S-009", "31/02/2025 10:00", "Điện thoại", "Ngày không có thật", "", "", "", "", "", "", "", "", ""],
    )
    path = write_csv(tmp_path / "so.csv", body)
    code, _, err = run(capsys, "tips", "import", str(path), "--unit", UNIT)
    assert code == 1 and "row 4" in err and "nothing was imported" in err
    assert tips_of(env) == []
    # A lifecycle the system would refuse (processed without being verified) is a bad row too.
    skipped = [
        ["S-010", "14/03/2025 08:30", "Điện thoại", "Nội dung", "", "", "", "", "", "15/03/2025", "", "", ""]
    ]
    path = write_csv(tmp_path / "so2.csv", [*rows(2), *skipped])
    code, _, err = run(capsys, "tips", "import", str(path), "--unit", UNIT)
    assert code == 1 and "row 4" in err and tips_of(env) == []
    for bad, why in (
        (["S-011", "14/03/2099 08:30", "Điện thoại", "x", "", "", "", "", "", "", "", "", ""], "future"),
        (["S-012", "14/03/2025 08:30", "Fax", "x", "", "", "", "", "", "", "", "", ""], "channel"),
        (["S-013", "14/03/2025 08:30", "Web", "x", "", "", "", "", "", "", "", "", ""], "channel"),
        (["", "14/03/2025 08:30", "Thư", "x", "", "", "", "", "", "", "", "", ""], "Số tham chiếu"),
        (["S-001", "14/03/2025 08:30", "Thư", "x", "", "", "", "", "", "", "", "", ""], "repeats row 2"),
        (["S-014", "14/03/2025 08:30", "Thư", "x", "", "99999", "", "", "", "", "", "", ""], "commune"),
        (
            [
                "S-015",
                "14/03/2025 08:30",
                "Thư",
                "x",
                "",
                "",
                "",
                "",
                "",
                "",
                "Đã chuyển cơ quan khác",
                "",
                "",
            ],
            "outcome",
        ),
        (["S-016", "14/03/2025 08:30", "Thư", "a\x00b", "", "", "", "", "", "", "", "", ""], "NUL"),
    ):
        path = write_csv(tmp_path / "bad.csv", [*rows(1), bad])
        code, _, err = run(capsys, "tips", "import", str(path), "--unit", UNIT)
        assert code == 1 and "row 3" in err and why in err, (bad, err)
    assert tips_of(env) == []
    missing = write_csv(tmp_path / "cols.csv", [["S-1", "x"]], header=["Số tham chiếu", "Nội dung"])
    code, _, err = run(capsys, "tips", "import", str(missing), "--unit", UNIT)
    assert code == 1 and "row 1" in err
    code, _, err = run(capsys, "tips", "import", str(path), "--unit", "police:nowhere")
    assert code == 1 and "unknown unit" in err


def test_importing_twice_adds_nothing_and_a_dry_run_writes_nothing(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "so.csv", rows(3))
    code, out, _ = run(capsys, "tips", "import", str(path), "--unit", UNIT, "--dry-run")
    assert code == 0 and "would create 3 tips" in out and "row 2: S-001" in out
    assert tips_of(env) == []
    assert run(capsys, "tips", "import", str(path), "--unit", UNIT)[0] == 0
    first = [t.id for t in tips_of(env)]
    code, out, _ = run(capsys, "tips", "import", str(path), "--unit", UNIT)
    assert code == 0 and "created 0 tips; 3 rows already imported" in out
    assert [t.id for t in tips_of(env)] == first
    # A longer register: the new row only, and a dry run lists refused rows with reasons.
    more = [*rows(4), ["S-020", "bad date", "Thư", "x", "", "", "", "", "", "", "", "", ""]]
    path = write_csv(tmp_path / "so2.csv", more)
    code, out, _ = run(capsys, "tips", "import", str(path), "--unit", UNIT, "--dry-run")
    assert code == 1 and "would create 1 tips; 3 rows already imported" in out
    assert "row 6:" in out and "not a date" in out
    assert len(tips_of(env)) == 3
    # Another unit's register may reuse the same references.
    other = write_csv(tmp_path / "other.csv", rows(1))
    assert run(capsys, "tips", "import", str(other), "--unit", f"police:{PROVINCE_CODE}")[0] == 0
    assert len(tips_of(env)) == 4


PROVINCE_CODE = "79"


def test_read_register_accepts_codes_and_blank_lines(tmp_path: Path) -> None:
    from hotline.tips_cli import read_register

    header = ["external_ref", "received_at", "channel", "text", "outcome", "closed_at"]
    body = [
        ["A1", "2025-01-02T03:04:00+07:00", "tip_box", "Hộp thư", "unfounded", "2025-01-03 08:00"],
        ["", "", "", ""],
    ]
    parsed, problems = read_register(write_csv(tmp_path / "c.csv", body, header=header))
    assert problems == [] and len(parsed) == 1
    row = parsed[0]
    assert row.channel is Channel.TIP_BOX and row.outcome is Stage.UNFOUNDED
    assert row.closed_at == datetime(2025, 1, 3, 8, tzinfo=VN_TZ)
    assert row.received_at.utcoffset() == timedelta(hours=7)
