"""`hotline establishments import|export` and `hotline indicators [targets ...]`: the
register in and out as files, and the plan's indicators against their targets."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from core.errors import InvalidInput
from core.establishment_service import EstablishmentService
from core.establishments import Scope
from core.establishments_csv import EXPORT_COLUMNS, export_row, parse, safe_cell, to_csv
from core.indicators import Indicator
from core.kpi import Period
from core.services import utc_now
from hotline import tables
from hotline.chatkeys import chat_secret
from hotline.masterkey import MasterKeySource
from hotline.settings import Settings
from hotline.support_wiring import support_service, with_support
from storage.db import create_engine, session_factory
from storage.establishments import establishment_store

T = TypeVar("T")
#: Who the command line records in the audit log and the register's history.
CLI_ACTOR = "admin (cli)"
#: An import file larger than this is refused unread.
MAX_FILE_BYTES = 64 * 1024 * 1024


def register(sub: Any) -> None:
    """Add the commands to the `hotline` parser's subcommands."""
    est = sub.add_parser("establishments", help="the register of service businesses to inspect")
    est_sub = est.add_subparsers(dest="establishments_command", required=True)
    imp = est_sub.add_parser("import", help="add a CSV file's establishments (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(run=cmd_import)
    exp = est_sub.add_parser("export", help="write the register as CSV or XLSX")
    exp.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    exp.add_argument("--out", type=Path, help="file to write (required for xlsx; CSV default: stdout)")
    exp.add_argument("--commune", help="one commune/ward code")
    exp.set_defaults(run=cmd_export)

    ind = sub.add_parser("indicators", help="the plan's indicators for a period against their targets")
    ind.add_argument("--from", dest="start", type=date.fromisoformat)
    ind.add_argument("--to", dest="end", type=date.fromisoformat)
    ind.add_argument("--commune", help="one commune/ward code; default the whole province")
    ind.add_argument("--format", choices=["json", "table"], default="table")
    ind.set_defaults(run=cmd_indicators)
    ind_sub = ind.add_subparsers(dest="indicators_command")
    targets = ind_sub.add_parser("targets", help="the deployment's targets")
    targets_sub = targets.add_subparsers(dest="targets_command", required=True)
    show = targets_sub.add_parser("list", help="every indicator's target (set or default)")
    show.add_argument("--commune")
    show.set_defaults(run=cmd_targets_list)
    put = targets_sub.add_parser("set", help="set a target: a share (0.95) or a percentage (95%%)")
    put.add_argument("indicator")
    put.add_argument("target")
    put.add_argument("--commune", help="a commune's own target; default the whole province")
    put.set_defaults(run=cmd_targets_set)


def _with_service(settings: Settings, use: Callable[[EstablishmentService], Awaitable[T]]) -> T:
    """Open the database just for the command: it needs nothing else."""

    async def run() -> T:
        engine = create_engine(settings.effective_database_url)
        try:
            sessions = session_factory(engine)
            service = EstablishmentService(
                establishment_store(sessions, MasterKeySource(settings)),
                clock=utc_now,
                province_code=settings.province_code,
            )
            with_support(service, support_service(settings, sessions, utc_now, chat_secret(settings)))
            return await use(service)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise InvalidInput(f"no file {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
    rows = parse(text)
    added, skipped = _with_service(settings, lambda s: s.import_rows(rows, actor=CLI_ACTOR))
    print(f"{added} establishments added, {skipped} already on the register")
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    scope = Scope(province_code=settings.province_code).narrowed(args.commune)
    rows = _with_service(settings, lambda s: s.export(scope, actor=CLI_ACTOR))
    if args.format == "csv":
        if args.out is None:
            sys.stdout.write(to_csv(rows))
        else:
            args.out.write_text(to_csv(rows), encoding="utf-8-sig", newline="")
        return 0
    if args.out is None:
        raise InvalidInput("--format xlsx needs --out FILE.xlsx")
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("establishments")
    sheet.append(list(EXPORT_COLUMNS))
    for e in rows:
        sheet.append([safe_cell(v) for v in export_row(e)])
    book.save(args.out)
    print(f"{len(rows)} establishments written to {args.out}", file=sys.stderr)
    return 0


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def indicators_table(rows: list[Indicator]) -> str:
    return tables.render(
        ["indicator", "value", "numerator", "denominator", "target", "status"],
        [
            [
                i.name,
                _percent(i.value),
                i.numerator,
                i.denominator,
                ("≤ " if i.direction.value == "at_most" else "≥ ") + _percent(i.target),
                i.status.value.replace("_", " "),
            ]
            for i in rows
        ],
    )


def cmd_indicators(settings: Settings, args: argparse.Namespace) -> int:
    if args.start is None or args.end is None:
        raise InvalidInput("give the period: --from YYYY-MM-DD --to YYYY-MM-DD")
    period = Period(args.start, args.end)
    rows = _with_service(settings, lambda s: s.indicators(period, args.commune))
    if args.format == "json":
        body = {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "area": args.commune or settings.province_code,
            "indicators": {i.name: i.to_dict() for i in rows},
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(f"Indicators {period.start} .. {period.end} · area {args.commune or settings.province_code}")
        print(indicators_table(rows))
    return 0


def _target(raw: str) -> float:
    text = raw.strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise InvalidInput(f"a target is a share (0.95) or a percentage (95%), not {raw!r}") from None


def cmd_targets_set(settings: Settings, args: argparse.Namespace) -> int:
    value = _target(args.target)
    _with_service(settings, lambda s: s.set_target(args.indicator, value, args.commune, actor=CLI_ACTOR))
    print(f"{args.indicator}: target {value:.1%} for {args.commune or 'the province'}")
    return 0


def cmd_targets_list(settings: Settings, args: argparse.Namespace) -> int:
    found = _with_service(settings, lambda s: s.targets(args.commune))
    print(tables.render(["indicator", "target"], [[k, _percent(v)] for k, v in found.items()]))
    return 0
