"""`hotline retention run|rules|set`: forget closed tips' personal data on schedule, list
the rules, change one. Run daily from cron (docs/security.md, "Retention"); a run is
audited, idempotent and safe beside another run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from typing import Any

from core.errors import InvalidInput
from core.retention import Data, parse_rule
from hotline import tables
from hotline.bootstrap import open_database
from hotline.masterkey import MasterKeySource
from hotline.settings import Settings
from storage.db import create_engine, session_factory
from storage.files import DirectoryStore
from storage.retention import RunReport, SqlRetentionRules, describe_rules, run_retention

CLI_ACTOR = "retention (cli)"


def aware_time(text: str) -> datetime:
    """An ISO time with its zone, or argparse's usage error (exit code 2)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("needs a time zone, e.g. 2027-03-01T00:00+07:00")
    return moment


def register(sub: Any) -> None:
    retention = sub.add_parser("retention", help="forget closed tips' personal data on schedule")
    r_sub = retention.add_subparsers(dest="retention_command", required=True)
    run = r_sub.add_parser("run", help="apply the retention rules now (daily from cron)")
    run.add_argument("--as-of", type=aware_time, help="aware ISO time to judge by; default now")
    run.add_argument("--dry-run", action="store_true", help="list what would be forgotten; change nothing")
    run.add_argument("--show", type=int, default=50, help="tips listed per rule in a dry run (50)")
    run.set_defaults(run=cmd_run)
    rules = r_sub.add_parser("rules", help="list the retention rules in force")
    rules.set_defaults(run=cmd_rules)
    put = r_sub.add_parser("set", help="set the days after closing for a category and outcome")
    put.add_argument("category", help="a category code, or * for any")
    put.add_argument("outcome", help="processed, spam, unfounded, duplicate, or * for any")
    put.add_argument("days", help="whole days after the tip closed, or 'default' (the processed period)")
    put.add_argument("--data", default=Data.CONTENT.value, help="content (default), chats or informant")
    put.set_defaults(run=cmd_set)


async def apply_retention(settings: Settings, now: datetime, *, dry_run: bool = False) -> RunReport:
    """Apply the retention rules in force as of `now` (or list what they would forget):
    the one way both `hotline retention run` and the worker's daily run do it."""
    async with open_database(settings) as engine:
        rules = await SqlRetentionRules(session_factory(engine)).all()
        return await run_retention(
            engine,
            DirectoryStore(settings.attachments_path, MasterKeySource(settings)),
            rules,
            now=now,
            processed_days=settings.retention_processed_days,
            batch=settings.retention_batch,
            dry_run=dry_run,
        )


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    report = asyncio.run(
        apply_retention(settings, args.as_of or datetime.now().astimezone(), dry_run=args.dry_run)
    )
    verb = "would forget" if report.dry_run else "forgot"
    for outcome in report.outcomes:
        print(f"{outcome.rule.describe(settings.retention_processed_days)}: {verb} {len(outcome.tips)} tips")
        if report.dry_run:
            for tip_id, code in outcome.tips[: max(args.show, 0)]:
                print(f"  tip {tip_id} {code}")
            if len(outcome.tips) > args.show:
                print(f"  ... and {len(outcome.tips) - args.show} more")
    print(f"as of {report.as_of.isoformat()}: {verb} {report.total} tips' data")
    return 0


def cmd_rules(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> list[list[str]]:
        engine = create_engine(settings.effective_database_url)
        try:
            rules = await SqlRetentionRules(session_factory(engine)).all()
        finally:
            await engine.dispose()
        return describe_rules(rules, settings.retention_processed_days)

    rows = asyncio.run(go())
    print(tables.render(["data", "outcome", "category", "days after closing"], rows))
    print(
        f"processed period: {settings.retention_processed_years} years "
        "(HOTLINE_RETENTION_PROCESSED_YEARS); the most specific rule applies"
    )
    return 0


def cmd_set(settings: Settings, args: argparse.Namespace) -> int:
    try:
        rule = parse_rule(args.data, args.outcome, args.category, args.days)
    except InvalidInput as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2

    async def go() -> None:
        engine = create_engine(settings.effective_database_url)
        try:
            await SqlRetentionRules(session_factory(engine)).set(
                rule, actor=CLI_ACTOR, at=datetime.now().astimezone()
            )
        finally:
            await engine.dispose()

    asyncio.run(go())
    print(f"rule set: {rule.describe(settings.retention_processed_days)}")
    return 0
