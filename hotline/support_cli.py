"""`hotline report`, `hotline support providers import`, `hotline training add|staff` and
`hotline outreach-activity add`: the periodic report, the service directory from CSV,
training records and offline outreach activities from the command line."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from core.errors import InvalidInput
from core.kpi import Period
from core.support import Activity, Level, Provider, TrainingSession
from hotline import report as report_files
from hotline.bootstrap import Services, open_services
from hotline.settings import Settings

T = TypeVar("T")
CLI_ACTOR = "admin (cli)"
MAX_FILE_BYTES = 16 * 1024 * 1024
#: The service directory's CSV columns; kinds and communes are separated by ";".
PROVIDER_COLUMNS = ("name", "kinds", "communes", "contact", "free")


def register(sub: Any) -> None:
    rep = sub.add_parser("report", help="the six-monthly or annual report (XLSX, DOCX or PDF)")
    rep.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    rep.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    rep.add_argument("--format", choices=report_files.FORMATS, required=True)
    rep.add_argument("--out", type=Path, required=True)
    rep.add_argument("--commune", help="one commune/ward code; default the whole province")
    rep.set_defaults(run=cmd_report)

    sup = sub.add_parser("support", help="support for people who ask for help: the service directory")
    sup_sub = sup.add_subparsers(dest="support_command", required=True)
    prov = sup_sub.add_parser("providers", help="the directory of service providers")
    prov_sub = prov.add_subparsers(dest="providers_command", required=True)
    imp = prov_sub.add_parser("import", help="add providers from CSV: " + ",".join(PROVIDER_COLUMNS))
    imp.add_argument("file", type=Path)
    imp.set_defaults(run=cmd_providers_import)

    tr = sub.add_parser("training", help="training sessions and staff counts")
    tr_sub = tr.add_subparsers(dest="training_command", required=True)
    add = tr_sub.add_parser("add", help="record a training session")
    add.add_argument("--date", type=date.fromisoformat, required=True)
    add.add_argument("--level", choices=[lv.value for lv in Level], required=True)
    add.add_argument("--agency", required=True, help="the organising agency's code")
    add.add_argument("--topic", required=True)
    add.add_argument(
        "--participants",
        action="append",
        required=True,
        metavar="AGENCY=N",
        help="trained staff of an agency",
    )
    add.set_defaults(run=cmd_training_add)
    rm = tr_sub.add_parser("delete", help="delete a training session recorded by mistake")
    rm.add_argument("id", type=int)
    rm.set_defaults(run=cmd_training_delete)
    staff = tr_sub.add_parser("staff", help="set an agency's staff count at a level")
    staff.add_argument("agency")
    staff.add_argument("level", choices=[lv.value for lv in Level])
    staff.add_argument("count", type=int)
    staff.set_defaults(run=cmd_training_staff)

    act = sub.add_parser("outreach-activity", help="offline outreach: meetings, posters, school talks")
    act_sub = act.add_subparsers(dest="activity_command", required=True)
    a = act_sub.add_parser("add", help="record an offline outreach activity")
    a.add_argument("--date", type=date.fromisoformat, required=True)
    a.add_argument("--commune", required=True)
    a.add_argument("--kind", required=True, help="meeting, poster, school_talk or other")
    a.add_argument("--audience", required=True)
    a.add_argument("--reached", type=int, required=True)
    a.set_defaults(run=cmd_activity_add)
    rm_act = act_sub.add_parser("delete", help="delete an activity recorded by mistake")
    rm_act.add_argument("id", type=int)
    rm_act.set_defaults(run=cmd_activity_delete)


def _run(settings: Settings, use: Callable[[Services], Awaitable[T]]) -> T:
    async def run() -> T:
        async with open_services(settings) as services:
            return await use(services)

    return asyncio.run(run())


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    if args.format == "pdf" and report_files.soffice() is None:
        raise InvalidInput("PDF needs LibreOffice (soffice), which is not installed here; use --format docx")
    period = Period(args.start, args.end)
    found = _run(settings, lambda s: report_files.gather(s, period, args.commune))
    report_files.write(found, args.format, args.out)
    print(f"report for {found.unit} written to {args.out}", file=sys.stderr)
    return 0


def parse_providers(text: str) -> list[Provider]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in PROVIDER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"the CSV lacks the column {missing[0]!r}; columns: {','.join(PROVIDER_COLUMNS)}")
    out = []
    for line, row in enumerate(reader, 2):
        free = (row.get("free") or "").strip().lower()
        if free not in ("yes", "no", "có", "không", "1", "0", "true", "false"):
            raise InvalidInput(f"line {line}: free is yes or no")
        out.append(
            Provider(
                id=0,
                name=(row.get("name") or "").strip(),
                kinds=tuple(k.strip() for k in (row.get("kinds") or "").split(";") if k.strip()),
                communes=tuple(c.strip() for c in (row.get("communes") or "").split(";") if c.strip()),
                contact=(row.get("contact") or "").strip()[:300],
                free=free in ("yes", "có", "1", "true"),
            )
        )
    return out


def cmd_providers_import(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise InvalidInput(f"no file {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        rows = parse_providers(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {exc.start})") from None
    added, skipped = _run(settings, lambda s: s.support.import_providers(rows))
    print(f"{added} providers added, {skipped} already in the directory")
    return 0


def cmd_training_add(settings: Settings, args: argparse.Namespace) -> int:
    participants: dict[str, int] = {}
    for item in args.participants:
        agency, _, n = item.partition("=")
        try:
            participants[agency.strip()] = int(n)
        except ValueError:
            raise InvalidInput(f"--participants is AGENCY=N, not {item!r}") from None
    session = TrainingSession(args.date, Level(args.level), args.agency, args.topic, participants)
    new_id = _run(settings, lambda s: s.support.add_training(session, actor=CLI_ACTOR))
    print(f"training session {new_id} recorded")
    return 0


def cmd_training_staff(settings: Settings, args: argparse.Namespace) -> int:
    _run(settings, lambda s: s.support.set_staff(args.agency, Level(args.level), args.count, actor=CLI_ACTOR))
    print(f"{args.agency}: {args.count} staff at {args.level} level")
    return 0


def cmd_activity_add(settings: Settings, args: argparse.Namespace) -> int:
    activity = Activity(args.date, args.commune, args.kind, args.audience, args.reached)
    new_id = _run(settings, lambda s: s.support.add_activity(activity, actor=CLI_ACTOR))
    print(f"outreach activity {new_id} recorded")
    return 0


def cmd_training_delete(settings: Settings, args: argparse.Namespace) -> int:
    _run(settings, lambda s: s.support.delete_training(args.id, actor=CLI_ACTOR))
    print(f"training session {args.id} deleted")
    return 0


def cmd_activity_delete(settings: Settings, args: argparse.Namespace) -> int:
    _run(settings, lambda s: s.support.delete_activity(args.id, actor=CLI_ACTOR))
    print(f"outreach activity {args.id} deleted")
    return 0
