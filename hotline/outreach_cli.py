"""`hotline content …`, `hotline campaign …` and `hotline worker`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from core.outreach.campaigns import Campaign, CampaignState, Progress
from core.outreach.content import AUDIENCES, LANGUAGES, ContentDraft, ContentItem, ItemState
from core.outreach.service import CLI_ACTOR, OutreachService
from hotline import tables
from hotline.bootstrap import open_database
from hotline.settings import Settings
from storage.db import session_factory
from storage.outreach import outreach_service

T = TypeVar("T")
BAR_WIDTH = 30


def register(sub: Any) -> None:
    """Add the outreach commands to the `hotline` parser's subcommands."""
    content = sub.add_parser("content", help="the prevention content library")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    add = content_sub.add_parser("add", help="write a new item (a draft unless --publish); prints its id")
    add.add_argument("--audience", choices=AUDIENCES, required=True)
    add.add_argument("--lang", choices=LANGUAGES, required=True)
    add.add_argument("--text", required=True, help="Telegram HTML: <b>, <i>, <a href=…>")
    add.add_argument("--title", default="")
    add.add_argument("--link", help="https://… shown as a 'Learn more' button")
    add.add_argument("--image", help="a file path or an https:// URL; the text becomes its caption")
    add.add_argument("--group", help="the group of an existing item, to add its translation")
    add.add_argument(
        "--publish", action="store_true", help="review and publish at once, as the administrator"
    )
    add.set_defaults(run=cmd_content_add)
    listing = content_sub.add_parser("list", help="items, newest first")
    listing.add_argument("--audience", choices=AUDIENCES)
    listing.add_argument("--lang", choices=LANGUAGES)
    listing.add_argument("--state", choices=[s.value for s in ItemState])
    listing.add_argument("--format", choices=["json", "table"], default="table")
    listing.set_defaults(run=cmd_content_list)
    for name, helptext in (
        ("review", "mark a draft reviewed"),
        ("publish", "publish an item (a draft is reviewed and published as the administrator)"),
        ("retire", "withdraw an item: no new campaign may send it"),
    ):
        step = content_sub.add_parser(name, help=helptext)
        step.add_argument("id", type=int)
        step.set_defaults(run=cmd_content_step, step=name)

    campaign = sub.add_parser("campaign", help="send a published item to an audience")
    campaign_sub = campaign.add_subparsers(dest="campaign_command", required=True)
    send = campaign_sub.add_parser("send", help="schedule a campaign (now by default); prints its id")
    send.add_argument("--item", type=int, required=True)
    send.add_argument("--audience", choices=AUDIENCES, required=True)
    send.add_argument("--area", help="only subscribers of this province or commune code")
    send.add_argument("--at", type=datetime.fromisoformat, help="aware ISO time, e.g. 2026-12-01T08:00+07:00")
    send.set_defaults(run=cmd_campaign_send)
    status = campaign_sub.add_parser("status", help="counts, rate and a progress bar")
    status.add_argument("id", type=int)
    status.add_argument("--watch", action="store_true", help="refresh every second until it ends")
    status.add_argument("--format", choices=["json", "text"], default="text")
    status.set_defaults(run=cmd_campaign_status)
    for name in ("cancel", "pause", "resume"):
        move = campaign_sub.add_parser(name, help=f"{name} a campaign")
        move.add_argument("id", type=int)
        move.set_defaults(run=cmd_campaign_move, move=name)
    campaigns = campaign_sub.add_parser("list", help="campaigns, newest first")
    campaigns.set_defaults(run=cmd_campaign_list)

    worker = sub.add_parser("worker", help="deliver campaigns (the broadcast engine) until stopped")
    worker.add_argument(
        "--retention-daily",
        action="store_true",
        help="also apply the retention rules at start and every 24 hours (instead of cron)",
    )
    worker.set_defaults(run=cmd_worker)


def _with_service(settings: Settings, use: Callable[[OutreachService], Awaitable[T]]) -> T:
    """Open the database just for the outreach service: the CLI needs nothing else."""

    async def run() -> T:
        async with open_database(settings) as engine:
            return await use(outreach_service(session_factory(engine), _utc_now))

    return asyncio.run(run())


def _utc_now() -> datetime:
    from core.services import utc_now

    return utc_now()


# --- content ------------------------------------------------------------------------------


def cmd_content_add(settings: Settings, args: argparse.Namespace) -> int:
    draft = ContentDraft(
        audience=args.audience,
        language=args.lang,
        text=args.text,
        title=args.title,
        image=args.image,
        link=args.link,
        group=args.group,
    )

    async def use(service: OutreachService) -> ContentItem:
        item = await service.create_item(draft, by=CLI_ACTOR)
        if args.publish:
            item = await service.publish_item(item.id, by=CLI_ACTOR, review=True)
        return item

    item = _with_service(settings, use)
    print(item.id)
    return 0


def cmd_content_list(settings: Settings, args: argparse.Namespace) -> int:
    state = ItemState(args.state) if args.state else None
    items = _with_service(
        settings, lambda s: s.list_items(audience=args.audience, language=args.lang, state=state, limit=1000)
    )
    if args.format == "json":
        print(json.dumps([_item_dict(i) for i in items], ensure_ascii=False, indent=2))
        return 0
    print(
        tables.render(
            ["id", "state", "audience", "lang", "group", "title"],
            [[i.id, i.state.value, i.audience, i.language, i.group, i.title[:60]] for i in items],
        )
    )
    return 0


def _item_dict(item: ContentItem) -> dict[str, Any]:
    def step(s: Any) -> dict[str, str] | None:
        return {"by": s.by, "at": s.at.isoformat()} if s else None

    return {
        "id": item.id,
        "group": item.group,
        "audience": item.audience,
        "language": item.language,
        "state": item.state.value,
        "title": item.title,
        "text": item.text,
        "image": item.image,
        "link": item.link,
        "created": step(item.created),
        "reviewed": step(item.reviewed),
        "published": step(item.published),
        "retired": step(item.retired),
    }


def cmd_content_step(settings: Settings, args: argparse.Namespace) -> int:
    async def use(service: OutreachService) -> ContentItem:
        if args.step == "review":
            return await service.review_item(args.id, by=CLI_ACTOR)
        if args.step == "publish":
            return await service.publish_item(args.id, by=CLI_ACTOR, review=True)
        return await service.retire_item(args.id, by=CLI_ACTOR)

    item = _with_service(settings, use)
    print(f"item {item.id} is {item.state.value}")
    return 0


# --- campaigns ----------------------------------------------------------------------------


def cmd_campaign_send(settings: Settings, args: argparse.Namespace) -> int:
    if args.at is not None and args.at.tzinfo is None:
        print("hotline: --at needs a time zone, e.g. 2026-12-01T08:00+07:00", file=sys.stderr)
        return 2
    campaign = _with_service(
        settings,
        lambda s: s.create_campaign(args.item, args.audience, by=CLI_ACTOR, area_code=args.area, at=args.at),
    )
    print(campaign.id)
    return 0


def cmd_campaign_status(settings: Settings, args: argparse.Namespace) -> int:
    if args.format == "json":
        progress = _with_service(settings, lambda s: s.progress(args.id))
        print(json.dumps(progress.to_dict(), ensure_ascii=False, indent=2))
        return 0
    live = args.watch and sys.stdout.isatty()
    while True:
        progress = _with_service(settings, lambda s: s.progress(args.id))
        text = render_progress(progress)
        if live:
            sys.stdout.write("\x1b[2K\r" + text.splitlines()[0])
            sys.stdout.flush()
        finished = progress.campaign.state in (CampaignState.DONE, CampaignState.CANCELLED)
        if not args.watch or finished:
            if live:
                sys.stdout.write("\n")
            print(text if not live else "\n".join(text.splitlines()[1:]))
            return 0
        if not live:
            print(text.splitlines()[0], flush=True)
        time.sleep(1)


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return f"[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}%"


def render_progress(progress: Progress) -> str:
    c = progress.campaign
    counts = progress.counts
    first = (
        f"campaign {c.id} {c.state.value:<9} {progress_bar(progress.fraction)}"
        f" {progress.done}/{progress.total} · {progress.recent_rate:.1f} msg/s now"
        f" · {progress.rate:.1f} msg/s overall"
    )
    detail = " · ".join(
        f"{s} {counts.get(s, 0)}" for s in ("queued", "sending", "sent", "blocked", "failed", "skipped")
    )
    lines = [
        first,
        f"item {c.item_id} → {c.audience}{f' in {c.area_code}' if c.area_code else ''}"
        f" · scheduled {c.scheduled_at.isoformat()}",
        detail,
    ]
    if progress.unconfirmed:
        lines.append(f"unconfirmed (a worker stopped mid-call; counted as sent): {progress.unconfirmed}")
    return "\n".join(lines)


def cmd_campaign_move(settings: Settings, args: argparse.Namespace) -> int:
    async def use(service: OutreachService) -> Campaign:
        action = {
            "cancel": service.cancel_campaign,
            "pause": service.pause_campaign,
            "resume": service.resume_campaign,
        }[args.move]
        return await action(args.id, by=CLI_ACTOR)

    campaign = _with_service(settings, use)
    print(f"campaign {campaign.id} is {campaign.state.value}")
    return 0


def cmd_campaign_list(settings: Settings, args: argparse.Namespace) -> int:
    campaigns = _with_service(settings, lambda s: s.list_campaigns(limit=100))
    print(
        tables.render(
            ["id", "state", "item", "audience", "area", "scheduled"],
            [
                [c.id, c.state.value, c.item_id, c.audience, c.area_code or "", c.scheduled_at.isoformat()]
                for c in campaigns
            ],
        )
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from hotline.broadcast import worker_main

    if not settings.telegram_token:
        print(
            "hotline: HOTLINE_TELEGRAM_TOKEN is not set: there is no bot to broadcast with", file=sys.stderr
        )
        return 2
    return worker_main(settings, retention_daily=args.retention_daily)
