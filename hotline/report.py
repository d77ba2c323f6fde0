"""The six-monthly or annual report a commune or the province sends to the Department of
Health: gathered once (`gather`) from the same services as `hotline indicators`, then
written as XLSX (openpyxl), DOCX (python-docx) or PDF (the DOCX converted by LibreOffice).

Every section is a titled table of plain values, so the three formats say the same thing.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import DomainError, InvalidInput
from core.indicators import Indicator
from core.kpi import KpiScope, Period
from core.support import content
from handlers.labels import category_label, channel_label, gettext, stage_label
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


@dataclass(frozen=True)
class Chart:
    """One of the KPI page's charts as a bar chart: counts, or shares (0..1) when `share`."""

    title: str
    axis: str
    labels: list[str]
    values: list[float]
    share: bool = False


class ConversionFailed(DomainError):
    """LibreOffice did not turn the DOCX into a PDF (it failed or ran past its time)."""


#: LibreOffice's conversion may take this long (seconds) before it is stopped: a cold start
#: with a fresh profile takes a few seconds, a long report a few more.
PDF_TIMEOUT_SECONDS = 120
#: At most this many LibreOffice conversions run at once per process (each takes about
#: 200 MiB); more requests wait their turn in the worker threads.
PDF_CONCURRENCY = 2
_PDF_SLOTS = threading.BoundedSemaphore(PDF_CONCURRENCY)


@dataclass
class Report:
    unit: str
    period: Period
    indicators: list[Indicator]
    sections: list[Section] = field(default_factory=list)
    #: (label, share 0..1) pairs drawn as the KPI page's on-time chart.
    chart: list[tuple[str, float]] = field(default_factory=list)
    #: The KPI page's charts (by category, by channel, on time per stage), from the same
    #: numbers as the sections' tables.
    charts: list[Chart] = field(default_factory=list)

    @property
    def title(self) -> str:
        return "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH PHÒNG, CHỐNG MẠI DÂM"

    @property
    def period_text(self) -> str:
        return f"Kỳ báo cáo: từ ngày {self.period.start:%d/%m/%Y} đến ngày {self.period.end:%d/%m/%Y}"


def _pct(value: float | None) -> str:
    # No-break spaces: "≥ 100,0 %" never breaks inside a narrow table cell.
    return "–" if value is None else f"{value * 100:.1f}\u00a0%".replace(".", ",")


def indicator_rows(rows: list[Indicator]) -> list[tuple[Any, ...]]:
    return [
        (
            gettext("vi", i.label),
            i.numerator,
            i.denominator,
            _pct(i.value),
            ("≤\u00a0" if i.direction.value == "at_most" else "≥\u00a0") + _pct(i.target),
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
            [(category_label("vi", k) if k else "Chưa phân loại", n) for k, n in counts["tips_by_category"]],
        )
    )
    s.append(
        Section(
            "Tin báo theo kênh",
            ("Kênh", "Số tin"),
            [(channel_label("vi", k), n) for k, n in counts["tips_by_channel"]],
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
    report.charts = charts_of(report)
    return report


def charts_of(report: Report) -> list[Chart]:
    """The charts, read off the sections' tables: the same numbers by construction."""
    by_title = {section.title: section for section in report.sections}
    out = []
    for title, chart_title in (
        ("Tin báo theo loại", "Tin báo theo loại"),
        ("Tin báo theo kênh", "Tin báo theo kênh tiếp nhận"),
    ):
        rows = by_title[title].rows
        if rows:
            out.append(Chart(chart_title, "Số tin", [str(r[0]) for r in rows], [float(r[1]) for r in rows]))
    if report.chart:
        out.append(
            Chart(
                "Tỷ lệ xử lý đúng hạn theo bước",
                "Tỷ lệ đúng hạn",
                [label for label, _ in report.chart],
                [share for _, share in report.chart],
                share=True,
            )
        )
    return out


def _font(size: int) -> Any:
    from PIL import ImageFont

    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ):
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _number(value: float, share: bool) -> str:
    return _pct(value) if share else f"{int(value):,}".replace(",", ".")


def chart_png(chart: Chart) -> bytes:
    """A horizontal bar chart as PNG (Pillow): labels left, bars, the value at each bar's end."""
    from PIL import Image, ImageDraw

    font, bold = _font(22), _font(26)
    width, bar_h, gap, top = 1400, 36, 18, 80
    label_w = 520
    height = top + len(chart.labels) * (bar_h + gap) + 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), chart.title, fill="#111111", font=bold)
    top_value = 1.0 if chart.share else max([*chart.values, 1.0])
    span = width - label_w - 180
    for i, (label, value) in enumerate(zip(chart.labels, chart.values, strict=True)):
        y = top + i * (bar_h + gap)
        text = label if len(label) <= 40 else label[:39] + "…"
        draw.text((20, y + 6), text, fill="#222222", font=font)
        length = int(span * (value / top_value)) if top_value else 0
        draw.rectangle((label_w, y, label_w + max(length, 2), y + bar_h), fill="#1f5f99")
        draw.text((label_w + length + 12, y + 6), _number(value, chart.share), fill="#222222", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


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
    if report.charts:
        sheet = book.create_sheet("Biểu đồ")
        sheet.column_dimensions["A"].width = 40
        at = 1
        for item in report.charts:
            sheet.cell(at, 1, item.title).font = Font(bold=True)
            sheet.cell(at + 1, 1, "Mục")
            sheet.cell(at + 1, 2, item.axis)
            for i, (label, value) in enumerate(zip(item.labels, item.values, strict=True)):
                sheet.cell(at + 2 + i, 1, label)
                cell = sheet.cell(at + 2 + i, 2, round(value, 4) if item.share else int(value))
                if item.share:
                    cell.number_format = "0.0%"
            last = at + 1 + len(item.labels)
            chart = BarChart()
            chart.type = "bar"
            chart.title = item.title
            chart.legend = None
            chart.add_data(Reference(sheet, min_col=2, min_row=at + 1, max_row=last), titles_from_data=True)
            chart.set_categories(Reference(sheet, min_col=1, min_row=at + 2, max_row=last))
            if item.share:
                chart.y_axis.scaling.min = 0
                chart.y_axis.scaling.max = 1
                chart.y_axis.number_format = "0%"
            chart.height = max(6.0, 1.0 + 0.8 * len(item.labels))
            chart.width = 18
            sheet.add_chart(chart, f"D{at}")
            at = max(last + 2, at + int(chart.height * 2) + 2)
    book.save(out)


def _widths(table: Any, columns: int) -> None:
    """The first column (the names) wide, the numbers narrow: 16 cm in all, A4 portrait."""
    from docx.shared import Cm

    first = 6.0 if columns > 2 else 11.0
    rest = (16.0 - first) / max(columns - 1, 1)
    table.autofit = False
    for i, column in enumerate(table.columns):
        column.width = Cm(first if i == 0 else rest)
    for row in table.rows:
        for i, cell in enumerate(row.cells):
            cell.width = Cm(first if i == 0 else rest)


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
        _widths(table, len(section.header))
    if report.charts:
        from docx.shared import Cm

        doc.add_heading("Biểu đồ", level=1)
        for item in report.charts:
            doc.add_picture(io.BytesIO(chart_png(item)), width=Cm(16))
    doc.add_heading("Phần tự đánh giá (đơn vị điền)", level=1)
    for line in NARRATIVE:
        doc.add_paragraph(line)
    doc.save(str(out))


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def write_pdf(report: Report, out: Path) -> None:
    """The DOCX converted by LibreOffice in a temporary directory, with its own profile
    (concurrent conversions would otherwise share and lock one) and a time limit; refused
    clearly when LibreOffice is not installed."""
    binary = soffice()
    if binary is None:
        raise InvalidInput("PDF needs LibreOffice (soffice), which is not installed here; use --format docx")
    with tempfile.TemporaryDirectory(prefix="hotline-report-") as tmp:
        base = Path(tmp)
        source = base / "report.docx"
        write_docx(report, source)
        args = [
            binary,
            f"-env:UserInstallation={(base / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(base),
            str(source),
        ]
        with _PDF_SLOTS:
            _convert(args, base / "report.pdf", out)


def _convert(args: list[str], made: Path, out: Path) -> None:
    """Run LibreOffice in its own process group, so a conversion past its time is stopped
    with its children; move the PDF it made to `out`."""
    proc = subprocess.Popen(  # noqa: S603 (a fixed argument list: the binary on PATH, our own files)
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        _, err = proc.communicate(timeout=PDF_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ConversionFailed(f"LibreOffice took longer than {PDF_TIMEOUT_SECONDS} s") from None
    if proc.returncode != 0 or not made.is_file():
        raise ConversionFailed(
            f"LibreOffice could not convert the report: {err.decode(errors='replace')[:300]}"
        )
    shutil.move(str(made), out)


def write(report: Report, fmt: str, out: Path) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(f"a report is one of {', '.join(FORMATS)}")
    {"xlsx": write_xlsx, "docx": write_docx, "pdf": write_pdf}[fmt](report, out)


async def write_async(report: Report, fmt: str, out: Path) -> None:
    """`write` in a worker thread: the web server keeps answering while a file is made."""
    await asyncio.to_thread(write, report, fmt, out)
