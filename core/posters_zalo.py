"""What a Zalo poster says: the bot's link (Zalo has no deep-link payload, so the
subscription is typed) and the words to type for an audience, in the poster's language."""

from __future__ import annotations

import re

from core.chat.catalogue import text
from core.chat.ports import AUDIENCES
from core.errors import InvalidInput

_ZALO_LINK = re.compile(r"^https://(?:[a-z0-9-]+\.)*zalo\.me/[A-Za-z0-9_./?=&-]{1,200}$")
_COMMUNE = re.compile(r"^\d{5}$")
#: The typed subscription per audience, as short as the command parser reads it.
_WORDS = {
    "vi": {
        "student": "đăng ký học sinh",
        "worker": "đăng ký công nhân",
        "service_worker": "đăng ký người làm dịch vụ",
        "parent": "đăng ký cha mẹ",
        "general": "đăng ký mọi người",
    },
    "en": {
        "student": "subscribe students",
        "worker": "subscribe workers",
        "service_worker": "subscribe service workers",
        "parent": "subscribe parents",
        "general": "subscribe everyone",
    },
}


def zalo_link(url: str) -> str:
    if not _ZALO_LINK.match(url):
        raise InvalidInput(f"{url!r} is not a Zalo link (https://zalo.me/...)")
    return url


def words_to_type(audience: str, lang: str, commune_code: str | None = None) -> str:
    """`đăng ký học sinh` (or `… 26743` for a commune's poster)."""
    if audience not in AUDIENCES:
        raise InvalidInput(f"unknown audience {audience!r}; one of {', '.join(AUDIENCES)}")
    if lang not in _WORDS:
        raise InvalidInput("the language must be vi or en")
    if commune_code is not None and not _COMMUNE.match(commune_code):
        raise InvalidInput("a commune code is five digits (hotline areas --province P)")
    words = _WORDS[lang][audience]
    return f"{words} {commune_code}" if commune_code else words


def poster_caption(audience: str, lang: str, commune_code: str | None = None) -> str:
    """The line printed beside the code: scan, then type these words."""
    return text("poster.zalo", lang, words=words_to_type(audience, lang, commune_code))
