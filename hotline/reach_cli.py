"""`hotline qr`, `hotline reach …` and `hotline knowledge …`: poster QR codes,
reach against the plan's targets with its population denominators, and the knowledge base."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import segno

from core.chat.ports import AUDIENCES
from core.errors import InvalidInput
from core.knowledge import AnswerService
from core.knowledge.evaluation import evaluate, read_rows
from core.knowledge.matcher import shared_matcher
from core.kpi import Period
from core.posters import subscribe_link
from core.reach import ReachReport, ReachService
from core.services import utc_now
from hotline import tables
from hotline.bootstrap import open_database, reach_service
from hotline.settings import Settings
from storage.db import session_factory
from storage.reach import SqlFeedbackStore

T = TypeVar("T")
#: Who the command line records as having entered a population.
CLI_ACTOR = "admin (cli)"
DEFAULT_EVAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "knowledge_eval.jsonl"


def register(sub: Any) -> None:
    """Add the commands to the `hotline` parser's subcommands."""
    qr = sub.add_parser("qr", help="a poster's QR code: subscribe to an audience's news in one scan")
    qr.add_argument("--audience", choices=AUDIENCES, required=True)
    qr.add_argument("--lang", choices=["vi", "en"], required=True)
    qr.add_argument("--out", type=Path, required=True, help="a .png (or .svg) file to write")
    qr.add_argument("--bot-username", help="the bot's @username (default HOTLINE_TELEGRAM_BOT_USERNAME)")
    qr.add_argument("--commune", help="a commune/ward code: subscribers are filed under it")
    qr.add_argument("--scale", type=int, default=10, help="pixels per module (default 10)")
    qr.add_argument("--channel", choices=["telegram", "zalo"], default="telegram")
    qr.add_argument("--bot-url", help="the Zalo bot's link (default HOTLINE_ZALO_BOT_URL)")
    qr.set_defaults(run=cmd_qr)

    reach = sub.add_parser("reach", help="reach of the prevention news against the plan's targets")
    reach_sub = reach.add_subparsers(dest="reach_command", required=True)
    report = reach_sub.add_parser("report", help="distinct subscribers reached per audience in a period")
    report.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    report.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    report.add_argument("--area", help="a commune code; default the whole province")
    report.add_argument("--format", choices=["json", "table"], default="table")
    report.set_defaults(run=cmd_reach_report)
    population = reach_sub.add_parser("set-population", help="enter an audience's population (denominator)")
    population.add_argument("--audience", choices=AUDIENCES, required=True)
    population.add_argument("--count", type=int, required=True)
    population.add_argument("--area", help="a commune code; default the whole province")
    population.set_defaults(run=cmd_reach_set_population)
    listing = reach_sub.add_parser("populations", help="the denominators entered so far")
    listing.set_defaults(run=cmd_reach_populations)

    knowledge = sub.add_parser("knowledge", help="the question → answer knowledge base")
    knowledge_sub = knowledge.add_subparsers(dest="knowledge_command", required=True)
    ask = knowledge_sub.add_parser("ask", help="the answers a question would get")
    ask.add_argument("text")
    ask.add_argument("--lang", choices=["vi", "en"], default="vi", help="the asker's language")
    ask.set_defaults(run=cmd_knowledge_ask)
    ev = knowledge_sub.add_parser("eval", help="top-1 accuracy on a labelled JSON-lines file")
    ev.add_argument("--file", type=Path, default=DEFAULT_EVAL)
    ev.add_argument("--errors", action="store_true", help="also list the questions answered wrongly")
    ev.set_defaults(run=cmd_knowledge_eval)
    feedback = knowledge_sub.add_parser("feedback", help='"did this help?" counts per entry')
    feedback.set_defaults(run=cmd_knowledge_feedback)


def _with_sessions(settings: Settings, use: Callable[[Any], Awaitable[T]]) -> T:
    """Open the database just for the command: it needs nothing else."""

    async def run() -> T:
        async with open_database(settings) as engine:
            return await use(session_factory(engine))

    return asyncio.run(run())


def _reach(settings: Settings, sessions: Any) -> ReachService:
    return reach_service(settings, sessions, utc_now)


def cmd_qr(settings: Settings, args: argparse.Namespace) -> int:
    if args.scale < 1 or args.scale > 100:
        raise InvalidInput("--scale is between 1 and 100")
    if args.channel == "zalo":
        from hotline.zalo_cli import zalo_poster

        return zalo_poster(settings, args)
    username = args.bot_username or settings.telegram_bot_username
    if not username:
        raise InvalidInput("name the bot: --bot-username NAME or HOTLINE_TELEGRAM_BOT_USERNAME")
    if args.scale < 1 or args.scale > 100:
        raise InvalidInput("--scale is between 1 and 100")
    link = subscribe_link(username, args.audience, args.lang, args.commune)
    # Error correction M: survives a smudged or partly torn poster, still a small symbol.
    segno.make(link, error="m", micro=False).save(str(args.out), scale=args.scale, border=4)
    print(link)
    return 0


def reach_table(report: ReachReport) -> str:
    rows = []
    for line in report.lines:
        share = line.share
        target = line.target
        rows.append(
            [
                line.audience,
                line.reached,
                line.population if line.population is not None else "–",
                f"{share:.1%}" if share is not None else "–",
                (
                    "–"
                    if target is None
                    else f"{target.lower:.0%}"
                    if target.lower == target.upper
                    else f"{target.lower:.0%}-{target.upper:.0%}"
                ),
                line.status.value.replace("_", " "),
            ]
        )
    head = f"Reach {report.period.start} .. {report.period.end} · area {report.area_code}"
    table = tables.render(["audience", "reached", "population", "share", "target", "status"], rows)
    return f"{head}\n{table}"


def cmd_reach_report(settings: Settings, args: argparse.Namespace) -> int:
    period = Period(args.start, args.end)
    report = _with_sessions(settings, lambda s: _reach(settings, s).report(period, args.area))
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(reach_table(report))
    return 0


def cmd_reach_set_population(settings: Settings, args: argparse.Namespace) -> int:
    async def use(sessions: Any) -> None:
        await _reach(settings, sessions).set_population(
            args.audience, args.count, area_code=args.area, by=CLI_ACTOR
        )

    _with_sessions(settings, use)
    print(f"{args.audience} in {args.area or settings.province_code}: {args.count}")
    return 0


def cmd_reach_populations(settings: Settings, args: argparse.Namespace) -> int:
    del args
    rows = _with_sessions(settings, lambda s: _reach(settings, s).populations())
    print(
        tables.render(
            ["audience", "area", "population", "entered by", "at"],
            [[p.audience, p.area_code, p.population, p.updated_by, p.updated_at.isoformat()] for p in rows],
        )
    )
    return 0


def cmd_knowledge_ask(settings: Settings, args: argparse.Namespace) -> int:
    del settings
    service = AnswerService(shared_matcher(), _NoFeedback())
    matches = service.suggest(args.text, hint=args.lang)
    if not matches:
        print("no good match: the question would go to a counsellor")
        return 0
    for m in matches:
        print(f"[{m.entry.id}] ({m.language}, score {m.score:.1f}, coverage {m.coverage:.2f})")
        print(m.answer, end="\n\n")
    return 0


def cmd_knowledge_eval(settings: Settings, args: argparse.Namespace) -> int:
    del settings
    rows = read_rows(args.file.read_text(encoding="utf-8").splitlines())
    result = evaluate(AnswerService(shared_matcher(), _NoFeedback()), rows)
    print(json.dumps(result.to_dict(), indent=2))
    if args.errors:
        for text, expected, got in result.errors:
            print(f"{expected or '(none)'} ← {got or '(none)'}: {text}")
    return 0


def cmd_knowledge_feedback(settings: Settings, args: argparse.Namespace) -> int:
    del args
    counts = _with_sessions(settings, lambda s: SqlFeedbackStore(s).counts())
    print(
        tables.render(
            ["entry", "language", "helped", "did not help"],
            [[c.entry_id, c.language, c.helped, c.not_helped] for c in counts],
        )
    )
    return 0


class _NoFeedback:
    """The command line only reads answers; nothing to count."""

    async def record(self, entry_id: str, language: str, helped: bool) -> None:
        del entry_id, language, helped

    async def counts(self) -> list[Any]:
        return []
