"""`hotline zalo set-webhook|info` and the Zalo poster behind `hotline qr --channel zalo`."""

from __future__ import annotations

import argparse
import asyncio
import html
import io
import sys
from pathlib import Path
from typing import Any

import segno

from channels.zalo.api import NotSent, ZaloError
from core.errors import InvalidInput
from core.posters_zalo import poster_caption, words_to_type, zalo_link
from hotline.settings import Settings
from hotline.zalo import open_zalo_api

#: A font with Vietnamese letters for PNG posters, where the system has one.
FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def register(sub: Any) -> None:
    """Add `hotline zalo …` to the `hotline` parser's subcommands."""
    zalo = sub.add_parser("zalo", help="the Zalo bot")
    zalo_sub = zalo.add_subparsers(dest="zalo_command", required=True)
    hook = zalo_sub.add_parser("set-webhook", help="register the webhook URL with the Zalo Bot Platform")
    hook.add_argument("--url", required=True, help="public https URL of /zalo/webhook")
    hook.set_defaults(run=cmd_set_webhook)
    info = zalo_sub.add_parser("info", help="the bot's account and its registered webhook")
    info.set_defaults(run=cmd_info)


def cmd_set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.zalo_webhook_secret:
        raise InvalidInput("HOTLINE_ZALO_WEBHOOK_SECRET is not set: the webhook would refuse every event")
    if not args.url.startswith("https://"):
        raise InvalidInput("Zalo only delivers to an https:// URL")

    async def run() -> None:
        async with open_zalo_api(settings) as api:
            await api.call("setWebhook", {"url": args.url, "secret_token": settings.zalo_webhook_secret})

    return _run(settings, run, f"webhook set to {args.url}")


def cmd_info(settings: Settings, args: argparse.Namespace) -> int:
    lines: list[str] = []

    async def run() -> None:
        async with open_zalo_api(settings) as api:
            me = await api.call("getMe")
            hook = await api.call("getWebhookInfo")
        me = me if isinstance(me, dict) else {}
        hook = hook if isinstance(hook, dict) else {}
        lines.append(f"bot: {me.get('account_name') or me.get('display_name') or '?'}")
        lines.append(f"webhook: {hook.get('url') or '(none)'}")

    code = _run(settings, run, "")
    if code == 0:
        print("\n".join(lines))
    return code


def _run(settings: Settings, work: Any, done: str) -> int:
    if not settings.zalo_token:
        raise InvalidInput("HOTLINE_ZALO_TOKEN is not set")
    try:
        asyncio.run(work())
    except ZaloError as exc:
        print(f"hotline: Zalo refused: {exc.code} {exc.description}", file=sys.stderr)
        return 1
    except NotSent:
        print("hotline: the Zalo Bot Platform could not be reached", file=sys.stderr)
        return 1
    if done:
        print(done)
    return 0


def zalo_poster(settings: Settings, args: argparse.Namespace) -> int:
    """The bot's link as a QR code, with the words to type beside it (.svg or .png)."""
    link = zalo_link(args.bot_url or settings.zalo_bot_url or "")
    caption = poster_caption(args.audience, args.lang, args.commune)
    qr = segno.make(link, error="m", micro=False)
    out: Path = args.out
    if out.suffix.lower() == ".svg":
        out.write_text(_svg(qr, caption, args.scale), encoding="utf-8")
    else:
        _png(qr, caption, args.scale).save(out)
    print(link)
    print(words_to_type(args.audience, args.lang, args.commune))
    return 0


def _svg(qr: Any, caption: str, scale: int) -> str:
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True)
    code = buffer.getvalue().decode()
    width, height = qr.symbol_size(scale=scale, border=4)
    font = max(14, scale * 2)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + font * 3}">'
        f"{code}"
        f'<text x="{width // 2}" y="{height + font * 2}" font-size="{font}" text-anchor="middle" '
        f'font-family="sans-serif">{html.escape(caption)}</text></svg>'
    )


def _png(qr: Any, caption: str, scale: int) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    path = next((f for f in FONTS if Path(f).exists()), None)
    size = max(14, scale * 2)
    font: Any = ImageFont.truetype(path, size) if path else ImageFont.load_default(size)
    measure = ImageDraw.Draw(code).textbbox((0, 0), caption, font=font)
    width = int(max(code.width, measure[2] + 2 * size))
    poster = Image.new("RGB", (width, code.height + size * 3), "white")
    poster.paste(code, ((width - code.width) // 2, 0))
    ImageDraw.Draw(poster).text(
        (int(width - measure[2]) // 2, code.height + size // 2), caption, fill="black", font=font
    )
    return poster
