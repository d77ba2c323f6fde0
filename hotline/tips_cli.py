"""`hotline tips import FILE.xlsx|FILE.csv --unit CODE [--dry-run]` and
`hotline tips import --template FILE.xlsx`: load a unit's register of tips (the books and
spreadsheets officers keep today) into the system, all or nothing, idempotent by the
register's own reference, so the KPI counts every tip the unit received at its real dates.

The file's first row names the columns, in Vietnamese as in the template (or by their
codes); dates without a time zone are Viet Nam time. openpyxl reads and writes .xlsx.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from core.calendar import VN_TZ
from core.categories import Category, Channel
from core.errors import InvalidInput
from core.registration import REGISTERED_CHANNELS
from core.stages import Stage
from core.text import fold
from core.tip_import import OUTCOMES, ImportPlan, ImportRefused, ImportRow, RowProblem
from handlers.labels import CATEGORY_WORDS, CHANNEL_WORDS, STAGE_WORDS, gettext
from hotline.bootstrap import open_services
from hotline.settings import Settings

#: Who the audit log and history name when the command line imports.
CLI_ACTOR = "import (cli)"
#: Field → the template's Vietnamese header, in the template's order.
HEADERS: dict[str, str] = {
    "external_ref": "Số tham chiếu",
    "received_at": "Thời điểm tiếp nhận",
    "channel": "Kênh tiếp nhận",
    "text": "Nội dung",
    "place": "Địa điểm",
    "commune_code": "Mã xã/phường",
    "category": "Phân loại",
    "verified_at": "Thời điểm xác minh",
    "classified_at": "Thời điểm phân loại",
    "processed_at": "Thời điểm xử lý xong",
    "outcome": "Kết quả",
    "closed_at": "Thời điểm kết thúc",
    "forwarded_by": "Nơi chuyển đến",
}
REQUIRED = ("external_ref", "received_at", "channel", "text")
DATE_FIELDS = ("received_at", "verified_at", "classified_at", "processed_at", "closed_at")
TEXT_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y")
SHOWN = 50
MAX_ROWS = 1_000_000


def register(sub: Any) -> None:
    """Add `hotline tips ...` to the `hotline` parser's subcommands."""
    tips = sub.add_parser("tips", help="tips received outside the web and the bots")
    tips_sub = tips.add_subparsers(dest="tips_command", required=True)
    imp = tips_sub.add_parser("import", help="import a unit's register of tips (.xlsx or .csv)")
    imp.add_argument("file", nargs="?", type=Path, help="the register, .xlsx or .csv (UTF-8)")
    imp.add_argument("--unit", help="the unit whose register it is, e.g. police:26743")
    imp.add_argument("--dry-run", action="store_true", help="show what would be created and refused")
    imp.add_argument("--template", type=Path, metavar="FILE.xlsx", help="write an empty template and stop")
    imp.set_defaults(run=cmd_tips_import)


# ---- words → codes ---------------------------------------------------------------------------


def _words(words: dict[str, str], allowed: Sequence[str]) -> dict[str, str]:
    """Folded code, English and Vietnamese word → code."""
    found: dict[str, str] = {}
    for code in allowed:
        for spelling in (code, words[code], gettext("vi", words[code]), gettext("en", words[code])):
            found[fold(spelling).replace("_", " ")] = code
    return found


CHANNELS = _words(CHANNEL_WORDS, sorted(c.value for c in REGISTERED_CHANNELS))
CATEGORIES = _words(CATEGORY_WORDS, [c.value for c in Category])
OUTCOME_WORDS = _words(STAGE_WORDS, sorted(s.value for s in OUTCOMES))


@functools.cache
def _folded(value: str) -> str:
    return fold(value).replace("_", " ").strip()


def _code(value: str, table: dict[str, str], what: str) -> str:
    code = table.get(_folded(value))
    if code is None:
        raise InvalidInput(f"unknown {what} {value!r}")
    return code


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?")


def _moment(value: Any, what: str) -> datetime | None:
    """A cell as an aware time: spreadsheet dates, ISO text, or dd/mm/yyyy [hh:mm]."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    else:
        text = str(value).strip()
        found = _DMY.fullmatch(text)
        if found is not None:  # the registers' own format, read without strptime
            day, month, year, hour, minute, second = (int(g) if g else 0 for g in found.groups())
            try:
                return datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)
            except ValueError:
                raise InvalidInput(f"{what}: {text!r} is not a real date") from None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for fmt in TEXT_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise InvalidInput(f"{what}: {text!r} is not a date (use dd/mm/yyyy hh:mm)") from None
    return moment.replace(tzinfo=VN_TZ) if moment.tzinfo is None else moment


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def parse_row(number: int, values: dict[str, Any]) -> ImportRow:
    """One row of the file as an ImportRow, or InvalidInput naming the bad cell."""
    for name in REQUIRED:
        if _cell(values.get(name)) is None:
            raise InvalidInput(f"{HEADERS[name]} is empty")
    moments = {name: _moment(values.get(name), HEADERS[name]) for name in DATE_FIELDS}
    received = moments["received_at"]
    assert received is not None
    category = _cell(values.get("category"))
    outcome = _cell(values.get("outcome"))
    commune = _cell(values.get("commune_code"))
    if commune is not None and commune.isdigit():
        commune = commune.zfill(5)
    return ImportRow(
        number=number,
        external_ref=_cell(values.get("external_ref")) or "",
        received_at=received,
        channel=Channel(_code(str(values.get("channel")), CHANNELS, "channel")),
        text=_cell(values.get("text")) or "",
        place=_cell(values.get("place")),
        commune_code=commune,
        category=None if category is None else Category(_code(category, CATEGORIES, "category")),
        verified_at=moments["verified_at"],
        classified_at=moments["classified_at"],
        processed_at=moments["processed_at"],
        outcome=None if outcome is None else Stage(_code(outcome, OUTCOME_WORDS, "outcome")),
        closed_at=moments["closed_at"],
        forwarded_by=_cell(values.get("forwarded_by")),
    )


# ---- files -------------------------------------------------------------------------------------


def _records(path: Path) -> Iterator[Sequence[Any]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            yield from book.worksheets[0].iter_rows(values_only=True)
        finally:
            book.close()
    elif suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.reader(handle)
    else:
        raise InvalidInput("the register must be an .xlsx or a .csv file")


def _columns(header: Sequence[Any]) -> dict[int, str]:
    by_word = {fold(word): name for name, word in HEADERS.items()} | {name: name for name in HEADERS}
    columns: dict[int, str] = {}
    for i, cell in enumerate(header):
        name = by_word.get(fold(str(cell or "")).strip())
        if name is not None:
            columns[i] = name
    missing = [HEADERS[n] for n in REQUIRED if n not in columns.values()]
    if missing:
        raise InvalidInput(f"row 1: the columns {', '.join(missing)} are missing")
    return columns


def read_register(path: Path) -> tuple[list[ImportRow], list[RowProblem]]:
    """Every row of the file, or its problem with its row number (the header is row 1)."""
    rows: list[ImportRow] = []
    problems: list[RowProblem] = []
    records = _records(path)
    header = next(records, None)
    if header is None:
        raise InvalidInput("the file is empty")
    columns = _columns(header)
    for number, record in enumerate(records, start=2):
        if number > MAX_ROWS:
            raise InvalidInput(f"more than {MAX_ROWS} rows: split the register")
        if all(_cell(v) is None for v in record):
            continue  # a blank line
        values = {name: record[i] for i, name in columns.items() if i < len(record)}
        try:
            rows.append(parse_row(number, values))
        except (InvalidInput, ValueError) as exc:
            problems.append(RowProblem(number, str(exc)))
    return rows, problems


def write_template(path: Path) -> None:
    """The header row, one example row, and a sheet explaining each column in Vietnamese."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sổ tiếp nhận"
    sheet.append(list(HEADERS.values()))
    sheet.append(
        [
            "STT-2025-0001",
            datetime(2025, 3, 14, 8, 30),
            gettext("vi", CHANNEL_WORDS["phone"]),
            "Người dân báo quán karaoke trên đường Lê Lợi có dấu hiệu chứa mại dâm",
            "Đường Lê Lợi",
            "26743",
            gettext("vi", CATEGORY_WORDS["venue"]),
            datetime(2025, 3, 14, 15, 0),
            datetime(2025, 3, 17, 9, 0),
            None,
            None,
            None,
            None,
        ]
    )
    for i, width in enumerate((16, 20, 16, 60, 24, 14, 22, 20, 20, 20, 16, 20, 24)):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    for row in sheet.iter_rows(min_row=2, max_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
    guide = book.create_sheet("Hướng dẫn")
    channels = ", ".join(gettext("vi", CHANNEL_WORDS[c.value]) for c in Channel if c in REGISTERED_CHANNELS)
    categories = ", ".join(gettext("vi", CATEGORY_WORDS[c.value]) for c in Category)
    outcomes = ", ".join(gettext("vi", STAGE_WORDS[s.value]) for s in Stage if s in OUTCOMES)
    for line in (
        ("Cột", "Cách ghi"),
        (
            HEADERS["external_ref"],
            "Bắt buộc. Số trong sổ của đơn vị; nhập lại cùng số sẽ không tạo tin trùng.",
        ),
        (HEADERS["received_at"], "Bắt buộc. Ngày giờ tiếp nhận, giờ Việt Nam (dd/mm/yyyy hh:mm)."),
        (HEADERS["channel"], f"Bắt buộc. Một trong: {channels}."),
        (HEADERS["text"], "Bắt buộc. Nội dung tin báo như đã ghi trong sổ."),
        (HEADERS["place"], "Không bắt buộc."),
        (HEADERS["commune_code"], "Không bắt buộc. Mã xã/phường 5 chữ số."),
        (HEADERS["category"], f"Không bắt buộc. Một trong: {categories}."),
        (HEADERS["verified_at"], "Ngày giờ đã xác minh, nếu có."),
        (HEADERS["classified_at"], "Ngày giờ đã phân loại, nếu có (sau khi xác minh)."),
        (HEADERS["processed_at"], "Ngày giờ xử lý xong, nếu có (sau khi phân loại)."),
        (HEADERS["outcome"], f"Không bắt buộc. Một trong: {outcomes}."),
        (
            HEADERS["closed_at"],
            "Ngày giờ có kết quả, khi kết quả là trùng lặp, tin rác hoặc không có căn cứ.",
        ),
        (HEADERS["forwarded_by"], "Cơ quan, báo chí hoặc tổ chức đã chuyển tin đến, nếu có."),
    ):
        guide.append(list(line))
    guide.column_dimensions["A"].width = 24
    guide.column_dimensions["B"].width = 100
    book.save(path)


# ---- the command ---------------------------------------------------------------------------------


def _describe(plan: ImportPlan, dry_run: bool) -> list[str]:
    verb = "would create" if dry_run else "created"
    lines = [f"{verb} {len(plan.create)} tips; {len(plan.skipped)} rows already imported (skipped)"]
    for item in plan.create[:SHOWN] if dry_run else ():
        when = item.tip.received_at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
        lines.append(f"  row {item.row.number}: {item.row.external_ref} · {when} · {item.stage.value}")
    if dry_run and len(plan.create) > SHOWN:
        lines.append(f"  ... and {len(plan.create) - SHOWN} more")
    if plan.problems:
        lines.append(f"{len(plan.problems)} rows would be refused:")
        lines += [f"  {p}" for p in plan.problems]
    return lines


def cmd_tips_import(settings: Settings, args: argparse.Namespace) -> int:
    if args.template is not None:
        write_template(args.template)
        print(f"template written to {args.template}")
        return 0
    if args.file is None or not args.unit:
        raise InvalidInput("give the register's file and --unit (or --template FILE.xlsx)")
    rows, problems = read_register(args.file)

    async def run() -> ImportPlan:
        if problems and not args.dry_run:
            raise ImportRefused(problems)
        async with open_services(settings) as services:
            return await services.imports.run(rows, unit=args.unit, actor=CLI_ACTOR, dry_run=args.dry_run)

    try:
        plan = asyncio.run(run())
    except ImportRefused as exc:
        for problem in exc.problems:
            print(f"hotline: {problem}", file=sys.stderr)
        raise
    if problems:
        merged = sorted([*problems, *plan.problems], key=lambda p: p.number)
        plan = ImportPlan(plan.create, plan.skipped, tuple(merged))
    for line in _describe(plan, args.dry_run):
        print(line)
    return 1 if args.dry_run and plan.problems else 0
