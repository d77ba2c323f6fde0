"""The subscription link a poster's QR code carries: scanning it opens the bot
with `/start sub-<audience>-<lang>[-<commune>]`, which subscribes in one step."""

from __future__ import annotations

import re

from core.chat.ports import AUDIENCES
from core.errors import InvalidInput

# Telegram usernames: 5-32 letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
_COMMUNE = re.compile(r"^\d{5}$")
LANGUAGES = ("vi", "en")


def start_parameter(audience: str, lang: str, commune_code: str | None = None) -> str:
    """The `start` argument; Telegram allows [A-Za-z0-9_-], up to 64 characters."""
    if audience not in AUDIENCES:
        raise InvalidInput(f"unknown audience {audience!r}; one of {', '.join(AUDIENCES)}")
    if lang not in LANGUAGES:
        raise InvalidInput("the language must be vi or en")
    if commune_code is not None and not _COMMUNE.match(commune_code):
        raise InvalidInput("a commune code is five digits (hotline areas --province P)")
    return "-".join(["sub", audience, lang, *([commune_code] if commune_code else [])])


def subscribe_link(bot_username: str, audience: str, lang: str, commune_code: str | None = None) -> str:
    """`https://t.me/<bot>?start=sub-<audience>-<lang>[-<commune>]`."""
    name = bot_username.removeprefix("@")
    if not _USERNAME.match(name):
        raise InvalidInput(f"{bot_username!r} is not a Telegram bot username")
    return f"https://t.me/{name}?start={start_parameter(audience, lang, commune_code)}"
