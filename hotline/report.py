"""The six-monthly or annual report a commune or the province sends to the Department of
Health: gathered once (`gather`) from the same services as `hotline indicators`, then
written as XLSX (openpyxl), DOCX (python-docx) or PDF (the DOCX converted by LibreOffice).

Every section is a titled table of plain values, so the three formats say the same thing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.indicators import Indicator
from core.kpi import KpiScope, Period
from core.support import content
from handlers.labels import category_label, gettext, stage_label
from storage.db import session_factory
from storage.report_query import SqlReportCounts

FORMATS = ("xlsx", "docx", "pdf")
STATE_WORDS = {
    "received": "Đã tiếp nhận",
    "assessed": "Đã đánh giá nhu cầu",
    "referred": "Đã chuyển gửi",
    "service_received": "Đã được hỗ trợ",
    "declined": "Từ chối",
    "unreachable": "Không liên lạc được",
    "closed": "Đã kết thúc",
}
OUTCOME_WORDS = {
    "received": "Đã nhận dịch vụ",
    "declined": "Từ chối",
    "unreachable": "Không liên lạc được",
    "open": "Đang theo dõi",
}
CHANNEL_WORDS = {
    "web": "Trang web",
    "telegram": "Telegram",
    "zalo": "Zalo",
    "phone": "Điện thoại",
    "walk_in": "Trực tiếp",
    "letter": "Thư",
}
STATUS_WORDS = {"met": "Đạt", "not_met": "Chưa đạt", "no_data": "Chưa có số liệu"}
LEVEL_WORDS = {"province": "Cấp tỉnh", "commune": "Cấp xã"}
NARRATIVE = (
    "Kết quả nổi bật trong kỳ: ....................................................",
    "Khó khăn, vướng mắc: ..........................................................",
    "Đề xuất, kiến nghị: ...........................................................",
)


@dataclass(frozen=True)
class Section:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass
class Report:
    unit: str
    period: Period
    indicators: list[Indicator]
    sections: list[Section] = field(default_factory=list)
    #: (label, share 0..1) pairs drawn as the KPI page's on-time chart.
    chart: list[tuple[str, float]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH PHÒNG, CHỐNG MẠI DÂM"

    @property
    def period_text(self) -> str:
        return f"Kỳ báo cáo: từ ngày {self.period.start:%d/%m/%Y} đến ngày {self.period.end:%d/%m/%Y}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %".replace(".", ",")


def indicator_rows(rows: list[Indicator]) -> list[tuple[Any, ...]]:
    return [
        (
            gettext("vi", i.label),
            i.numerator,
            i.denominator,
            _pct(i.value),
            ("≤ " if i.direction.value == "at_most" else "≥ ") + _pct(i.target),
            STATUS_WORDS[i.status.value],
        )
        for i in rows
    ]


INDICATOR_HEADER = ("Chỉ tiêu", "Tử số", "Mẫu số", "Kết quả", "Mục tiêu", "Đánh giá")


async def gather(services: Any, period: Period, commune: str | None) -> Report:
    """Everything the report shows, from the same services the CLI and pages use."""
    settings = services.settings
    province = settings.province_code
    indicators = await services.establishments.indicators(period, commune)
    counts = await SqlReportCounts(session_factory(services.engine)).counts(period, commune, province)
    names: dict[str, str] = counts["commune_names"]
    if commune and commune not in names:
        raise InvalidInput(f"unknown commune {commune!r}")
    unit = names.get(commune or province, commune or province)
    kpi = await services.tips.kpi(period, KpiScope(commune_code=commune))
    reach = await services.reach.report(period, commune)
    support = await services.support.tallies(period, commune)
    kinds = content()
    report = Report(unit=unit, period=period, indicators=list(indicators))
    s = report.sections
    s.append(Section("Các chỉ tiêu của kế hoạch", INDICATOR_HEADER, indicator_rows(report.indicators)))
    s.append(
        Section(
            "Tin báo theo loại",
            ("Loại", "Số tin"),
            [(category_label("vi", k or None), n) for k, n in counts["tips_by_category"]],
        )
    )
    s.append(
        Section(
            "Tin báo theo kênh",
            ("Kênh", "Số tin"),
            [(CHANNEL_WORDS.get(k, k), n) for k, n in counts["tips_by_channel"]],
        )
    )
    s.append(
        Section(
            "Tin báo theo kết quả xử lý",
            ("Kết quả", "Số tin"),
            [(stage_label("vi", k), n) for k, n in counts["tips_by_stage"]],
        )
    )
    stage_rows = []
    for st in kpi.stages:
        judged = st.on_time + st.late + st.overdue
        share = st.on_time / judged if judged else None
        stage_rows.append((stage_label("vi", st.stage.value), st.on_time, st.late, st.overdue, _pct(share)))
        if share is not None:
            report.chart.append((stage_label("vi", st.stage.value), share))
    s.append(
        Section(
            "Thời hạn xử lý tin báo theo bước",
            ("Bước", "Đúng hạn", "Trễ hạn", "Quá hạn", "Tỷ lệ đúng hạn"),
            stage_rows,
        )
    )
    est = [i for i in report.indicators if i.name.startswith(("establishments_", "hotspots_"))]
    s.append(Section("Cơ sở kinh doanh dịch vụ và kiểm tra", INDICATOR_HEADER, indicator_rows(est)))
    s.append(
        Section(
            "Yêu cầu hỗ trợ theo loại hỗ trợ",
            ("Loại hỗ trợ", "Số trường hợp"),
            [(kinds.kind_label(k), n) for k, n in sorted(support["cases_by_kind"].items())],
        )
    )
    s.append(
        Section(
            "Yêu cầu hỗ trợ theo tình trạng",
            ("Tình trạng", "Số trường hợp"),
            [(STATE_WORDS.get(k, k), n) for k, n in sorted(support["cases_by_state"].items())],
        )
    )
    s.append(
        Section(
            "Chuyển gửi theo kết quả",
            ("Kết quả", "Số lượt chuyển gửi"),
            [(OUTCOME_WORDS.get(k, k), n) for k, n in sorted(support["referrals_by_outcome"].items())],
        )
    )
    s.append(
        Section(
            "Truyền thông theo đối tượng (trực tuyến)",
            ("Đối tượng", "Số người nhận"),
            [(gettext("vi", line.audience), line.reached) for line in reach.lines],
        )
    )
    s.append(
        Section(
            "Hoạt động truyền thông trực tiếp theo xã",
            ("Xã, phường", "Đối tượng", "Số hoạt động", "Số người được tiếp cận"),
            [(names.get(c, c), a, n, r) for c, a, n, r in support["activities"]],
        )
    )
    s.append(
        Section(
            "Tập huấn",
            ("Cấp", "Số lớp", "Số lượt người"),
            [(LEVEL_WORDS.get(lvl, lvl), n, p) for lvl, n, p in support["training"]],
        )
    )
    if commune is None:
        s.append(
            Section(
                "Tin báo theo xã, phường",
                ("Xã, phường", "Số tin"),
                [(c or "–", n) for c, n in counts["tips_by_commune"]],
            )
        )
        s.append(
            Section(
                "Yêu cầu hỗ trợ theo xã, phường",
                ("Xã, phường", "Số trường hợp"),
                [(c or "Không nêu", n) for c, n in counts["cases_by_commune"]],
            )
        )
    return report


def write_xlsx(report: Report, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Bìa"
    cover.append([report.title])
    cover["A1"].font = Font(bold=True, size=14)
    cover.append([f"Đơn vị: {report.unit}"])
    cover.append([report.period_text])
    cover.append([])
    cover.append(["Phần tự đánh giá (đơn vị điền)"])
    for line in NARRATIVE:
        cover.append([line])
    for index, section in enumerate(report.sections, 1):
        sheet = book.create_sheet(f"{index:02d}")
        sheet.append([section.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(section.header))
        for row in section.rows:
            sheet.append(list(row))
        sheet.column_dimensions["A"].width = 48
    if report.chart:
        sheet = book.create_sheet("Biểu đồ")
        sheet.append(["Bước", "Tỷ lệ đúng hạn"])
        for label, share in report.chart:
            sheet.append([label, round(share, 4)])
        chart = BarChart()
        chart.title = "Tỷ lệ xử lý đúng hạn theo bước"
        chart.add_data(
            Reference(sheet, min_col=2, min_row=1, max_row=len(report.chart) + 1), titles_from_data=True
        )
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(report.chart) + 1))
        sheet.add_chart(chart, "D2")
    book.save(out)


def write_docx(report: Report, out: Path) -> None:
    from docx import Document

    doc = Document()
    doc.add_heading(report.title, level=0)
    doc.add_paragraph(f"Đơn vị: {report.unit}")
    doc.add_paragraph(report.period_text)
    for section in report.sections:
        doc.add_heading(section.title, level=1)
        table = doc.add_table(rows=1, cols=len(section.header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, section.header, strict=True):
            cell.text = text
        for row in section.rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = str(value)
    if report.chart:
        doc.add_heading("Biểu đồ: tỷ lệ xử lý đúng hạn theo bước", level=1)
        for label, share in report.chart:
            doc.add_paragraph(f"{label}: {'█' * round(share * 20)} {_pct(share)}")
    doc.add_heading("Phần tự đánh giá (đơn vị điền)", level=1)
    for line in NARRATIVE:
        doc.add_paragraph(line)
    doc.save(str(out))


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def write_pdf(report: Report, out: Path) -> None:
    """The DOCX converted by LibreOffice; refused clearly when LibreOffice is not installed."""
    binary = soffice()
    if binary is None:
        raise InvalidInput("PDF needs LibreOffice (soffice), which is not installed here; use --format docx")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.docx"
        write_docx(report, source)
        subprocess.run(  # noqa: S603 (a fixed argument list: the binary found on PATH and our temporary files)
            [binary, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        shutil.move(str(Path(tmp) / "report.pdf"), out)


def write(report: Report, fmt: str, out: Path) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(f"a report is one of {', '.join(FORMATS)}")
    {"xlsx": write_xlsx, "docx": write_docx, "pdf": write_pdf}[fmt](report, out)
