"""The `hotline` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from core.errors import DomainError
from core.kpi import KpiReport, KpiScope, Period
from core.officers import Officer, Role
from core.reach import ReachReport
from core.text import fold
from hotline import (
    backup,
    config_cli,
    establishments_cli,
    keys_cli,
    logs,
    outreach_cli,
    reach_cli,
    retention_cli,
    support_cli,
    tables,
    tips_cli,
    zalo_cli,
)
from hotline.bootstrap import open_services
from hotline.settings import Settings, SettingsError, load_settings
from storage import gazetteer


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        result: int = args.run(settings, args)
    except (DomainError, LookupError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `hotline triage ... | head`: the reader left; say nothing more (Python docs' recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return result


@cache
def build_parser() -> argparse.ArgumentParser:
    """The whole command tree, built once per process (some 80 subcommands: a tenth of a
    second on slow cores, paid again by every test that calls `main`); parsing does not
    change it."""
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app (and, later, the bot webhook)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=cmd_serve)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="migrate to the newest schema and load reference data")
    upgrade.set_defaults(run=cmd_db_upgrade)

    areas = sub.add_parser("areas", help="provinces, or one province's communes and wards")
    areas.add_argument("--province", help="code or name, in any spelling")
    areas.add_argument("--search", help="part of a name; diacritics optional")
    areas.add_argument("--format", choices=["json", "table"], default="table")
    areas.set_defaults(run=cmd_areas)

    demo = sub.add_parser("demo-data", help="load demo agencies, an admin and a few hundred tips")
    demo.set_defaults(run=cmd_demo_data)

    kpi = sub.add_parser("kpi", help="on-time share per stage for tips received in a period")
    kpi.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    kpi.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    kpi.add_argument("--agency")
    kpi.add_argument("--commune")
    kpi.add_argument("--as-of", type=datetime.fromisoformat, help="aware ISO time; default now")
    kpi.add_argument("--format", choices=["json", "table"], default="table")
    kpi.set_defaults(run=cmd_kpi)

    officer = sub.add_parser("officer", help="staff accounts")
    officer_sub = officer.add_subparsers(dest="officer_command", required=True)
    add = officer_sub.add_parser("add", help="create an officer; the password is read from stdin")
    add.add_argument("--username", required=True)
    add.add_argument("--agency", required=True, help="agency code, e.g. police:79")
    add.add_argument("--area", required=True, help="area code the officer works in")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OFFICER.value)
    add.add_argument(
        "--totp-secret", help="base32 TOTP secret for scripted set-up; default: enrol at first sign-in"
    )
    add.add_argument("--password-stdin", action="store_true", required=True)
    add.set_defaults(run=cmd_officer_add)

    reset = officer_sub.add_parser(
        "reset-totp", help="forget an officer's second factor (lost phone); they enrol again at sign-in"
    )
    reset.add_argument("--username", required=True)
    reset.set_defaults(run=cmd_officer_reset_totp)

    password = officer_sub.add_parser(
        "reset-password",
        help="set a new password (read from stdin) and end all that officer's sessions",
    )
    password.add_argument("--username", required=True)
    password.add_argument("--password-stdin", action="store_true", required=True)
    password.set_defaults(run=cmd_officer_reset_password)

    for verb, words in (
        ("deactivate", "stop an officer signing in and end all their sessions at once"),
        ("activate", "let a deactivated officer sign in again"),
    ):
        toggle = officer_sub.add_parser(verb, help=words)
        toggle.add_argument("--username", required=True)
        toggle.set_defaults(run=cmd_officer_set_active, active=verb == "activate")

    telegram = sub.add_parser("telegram", help="the Telegram bot")
    telegram_sub = telegram.add_subparsers(dest="telegram_command", required=True)
    hook = telegram_sub.add_parser("set-webhook", help="register the webhook URL with the Bot API")
    hook.add_argument("--url", required=True, help="public https URL of /telegram/webhook")
    hook.add_argument("--drop-pending", action="store_true", help="discard updates Telegram still holds")
    hook.set_defaults(run=cmd_telegram_set_webhook)

    triage = sub.add_parser("triage", help="propose language, category, urgency, place, duplicate")
    triage.add_argument("--jsonl", help='file of lines {"text": ...}')
    triage.set_defaults(run=cmd_triage)
    triage_sub = triage.add_subparsers(dest="triage_command")
    train = triage_sub.add_parser("train", help="rebuild the triage model from the development data")
    train.add_argument("--output", help="where to write it (default: the packaged model file)")
    train.set_defaults(run=cmd_triage_train)
    export = triage_sub.add_parser(
        "export-corrections", help="officers' triage decisions as JSON lines, for retraining"
    )
    export.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    export.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    export.add_argument("--output", help="file to write (default: standard output)")
    export.set_defaults(run=cmd_triage_export)
    triage_eval = sub.add_parser("triage-eval", help="triage figures on a labelled JSON-lines file")
    triage_eval.add_argument("--file", help="default: the blind evaluation set")
    triage_eval.add_argument(
        "--compare", action="store_true", help="also the rule-only engine and raw langdetect, side by side"
    )
    triage_eval.add_argument(
        "--short", help="labelled short inputs (default: short_inputs.jsonl beside --file)"
    )
    triage_eval.set_defaults(run=cmd_triage_eval)
    outreach_cli.register(sub)
    config_cli.register(sub)
    reach_cli.register(sub)
    establishments_cli.register(sub)
    zalo_cli.register(sub)
    support_cli.register(sub)
    tips_cli.register(sub)
    retention_cli.register(sub)
    backup.register(sub)
    keys_cli.register(sub)

    files = sub.add_parser("files", help="the attachment store")
    files_sub = files.add_subparsers(dest="files_command", required=True)
    sweep = files_sub.add_parser("sweep", help="delete attachment files that no tip names (after a crash)")
    sweep.add_argument("--grace-minutes", type=float, default=60.0, help="leave newer files alone (60)")
    sweep.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    sweep.set_defaults(run=cmd_files_sweep)
    return parser


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from handlers.app import create_app
    from hotline.masterkey import explicit_key_missing
    from hotline.runtime import freeze_after_startup, serve

    missing = explicit_key_missing(settings)
    if missing:
        print(f"hotline: {missing}", file=sys.stderr)
        return 2

    # SIGTERM: stop accepting, let requests in flight finish within the grace period, then
    # the app's cleanup flushes the intake writer and closes the database. A request the web
    # library cannot parse gets a plain 400 with the security headers (hotline/runtime.py).
    serve(
        freeze_after_startup(with_broadcast(create_app(settings), settings)),
        host=args.host or settings.host,
        port=args.port or settings.port,
        shutdown_timeout=settings.shutdown_grace_seconds,
        drain_seconds=settings.shutdown_drain_seconds,
        access_log_class=logs.PrivacyAccessLogger,
    )
    return 0


def cmd_files_sweep(settings: Settings, args: argparse.Namespace) -> int:
    from hotline.masterkey import MasterKeySource
    from storage.db import create_engine
    from storage.files import DirectoryStore
    from storage.sweep import SweepResult, sweep_orphan_files

    async def run() -> SweepResult:
        engine = create_engine(settings.effective_database_url)
        try:
            store = DirectoryStore(settings.attachments_path, MasterKeySource(settings))  # never read
            return await sweep_orphan_files(
                engine, store, grace_seconds=args.grace_minutes * 60, dry_run=args.dry_run
            )
        finally:
            await engine.dispose()

    result = asyncio.run(run())
    for name in result.orphans:
        print(name)
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{result.checked} files older than {args.grace_minutes:g} min; {verb} {len(result.orphans)}")
    return 0


def with_broadcast(app: Any, settings: Settings) -> Any:
    """`hotline serve` also runs the broadcast worker when a bot is configured."""
    from hotline.broadcast import broadcast_ctx

    app.cleanup_ctx.append(broadcast_ctx(settings))
    return app


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from hotline.masterkey import MasterKeySource, explicit_key_missing
    from storage.maintenance import upgrade_database

    # The key encrypts tips an older schema kept in clear (migration 0019). PostgreSQL without
    # an explicit key gets none: an empty database migrates, one holding tips is refused.
    keys = None if explicit_key_missing(settings) else MasterKeySource(settings)
    revision = asyncio.run(
        upgrade_database(settings.effective_database_url, settings.province_code, master_keys=keys)
    )
    print(f"database at revision {revision}; reference data loaded")
    return 0


def cmd_areas(settings: Settings, args: argparse.Namespace) -> int:
    if args.province:
        province = gazetteer.resolve_province(args.province)
        found = [a for a in gazetteer.iter_areas() if a.province_code == province.code]
    else:
        found = gazetteer.provinces()
    if args.search:
        needle = fold(args.search)
        found = [a for a in found if needle in fold(a.name)]
    rows = [
        {
            "code": a.code,
            "name": a.name,
            "type": a.division_type,
            "province_code": a.province_code,
            "remote": a.remote,
        }
        for a in found
    ]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(
            tables.render(
                ["code", "name", "type", "remote"],
                [[r["code"], r["name"], r["type"], "yes" if r["remote"] else ""] for r in rows],
            )
        )
    return 0


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from hotline.demo import load_demo_data

    asyncio.run(load_demo_data(settings, progress=lambda line: print(line, flush=True)))
    return 0


def cmd_kpi(settings: Settings, args: argparse.Namespace) -> int:
    if args.as_of is not None and args.as_of.tzinfo is None:
        print("hotline: --as-of needs a time zone, e.g. 2026-07-01T00:00+07:00", file=sys.stderr)
        return 2

    async def run() -> tuple[KpiReport, ReachReport]:
        async with open_services(settings) as services:
            period = Period(args.start, args.end)
            kpi = await services.tips.kpi(
                period, KpiScope(agency_code=args.agency, commune_code=args.commune), args.as_of
            )
            return kpi, await services.reach.report(period, args.commune)

    report, reach = asyncio.run(run())
    if args.format == "json":
        print(json.dumps({**report.to_dict(), "reach": reach.to_dict()}, ensure_ascii=False, indent=2))
    else:
        print(kpi_table(report.to_dict()))
        print()
        print(reach_cli.reach_table(reach))
    return 0


def kpi_table(data: dict[str, Any]) -> str:
    head = (
        f"KPI {data['period']['from']} .. {data['period']['to']} · {data['scope']['label']}"
        f" · as of {data['as_of']}"
    )
    t = data["totals"]
    closed = ", ".join(f"{k} {v}" for k, v in sorted(t["closed"].items())) or "none"
    summary = (
        f"received {t['received']} · open {t['open']} · at risk {t['at_risk']}"
        f" · overdue {t['overdue']} · closed: {closed}"
    )
    rows = [
        [
            s["stage"],
            s["on_time"],
            s["late"],
            s["open_within_time"],
            s["overdue"],
            s["not_applicable"],
            "-" if s["on_time_share"] is None else f"{s['on_time_share'] * 100:.1f}%",
            "-" if s["median_hours"] is None else f"{s['median_hours']:.1f} h",
        ]
        for s in data["stages"]
    ]
    table = tables.render(
        ["stage", "on time", "late", "open", "overdue", "n/a", "on-time share", "median"], rows
    )
    return f"{head}\n{summary}\n\n{table}"


def cmd_officer_add(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n")

    async def run() -> Officer:
        async with open_services(settings) as services:
            officer = await services.staff.add_officer(
                username=args.username,
                password=password,
                agency_code=args.agency,
                area_code=args.area,
                role=Role(args.role),
                totp_secret=args.totp_secret,
            )
            return officer

    officer = asyncio.run(run())
    print(f"officer {args.username} created (id {officer.id})")
    if officer.totp_secret is None:
        print("second factor: a QR code to scan is shown at the first sign-in at /staff/login")
    return 0


def cmd_officer_reset_totp(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_services(settings) as services:
            await services.staff.reset_second_factor(args.username, actor="cli")

    asyncio.run(run())
    print(f"second factor of {args.username} reset; sessions ended; a QR code is shown at the next sign-in")
    return 0


def cmd_officer_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n")

    async def run() -> None:
        async with open_services(settings) as services:
            await services.staff.reset_password(args.username, password, actor="cli")

    asyncio.run(run())
    print(f"password of {args.username} changed; all their sessions ended")
    return 0


def cmd_officer_set_active(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> bool:
        async with open_services(settings) as services:
            return await services.staff.set_active(args.username, args.active, actor="cli")

    changed = asyncio.run(run())
    state = "active" if args.active else "deactivated; sessions ended"
    print(f"officer {args.username} {state}" + ("" if changed else " (already so)"))
    return 0


def cmd_telegram_set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    from telegram.error import TelegramError

    from hotline.telegram import set_webhook

    try:
        asyncio.run(set_webhook(settings, args.url, drop_pending=args.drop_pending))
    except (ValueError, TelegramError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    print(f"webhook set to {args.url}")
    return 0


def cmd_triage(settings: Settings, args: argparse.Namespace) -> int:
    """One JSON line per input line, in order."""
    from hotline.triage_cli import run_triage_jsonl

    if not args.jsonl:
        print("hotline: triage needs --jsonl FILE, or a command: train, export-corrections", file=sys.stderr)
        return 2
    return run_triage_jsonl(args.jsonl, sys.stdout)


def cmd_triage_train(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from hotline.triage_train import run_train

    return run_train(sys.stdout, output=Path(args.output) if args.output else None)


def cmd_triage_export(settings: Settings, args: argparse.Namespace) -> int:
    """Officers' decisions of a period (Viet Nam days, both included) as JSON lines; audited."""
    try:
        period = Period(args.start, args.end)
    except DomainError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2

    async def run() -> list[dict[str, object]]:
        async with open_services(settings) as services:
            rows = await services.tips.export_corrections(period, exported_by="cli")
            return [r.to_dict() for r in rows]

    rows = asyncio.run(run())
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(lines)
        print(f"{len(rows)} decisions written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(lines)
    return 0


def cmd_triage_eval(settings: Settings, args: argparse.Namespace) -> int:
    from hotline.triage_cli import run_triage_eval

    return run_triage_eval(args.file, sys.stdout, compare_engines=args.compare, short=args.short)


if __name__ == "__main__":
    raise SystemExit(main())
