"""Category and stage names in words for code outside templates (CSV, chart data).

The words are the msgids of `staff_badge.html`'s macros, translated through the same
Babel catalogues, so a page, a chart legend and a CSV name a category alike.
"""

from __future__ import annotations

from functools import cache
from gettext import GNUTranslations

from handlers.i18n import catalogue

CATEGORY_WORDS: dict[str, str] = {
    "venue": "Venue",
    "online": "Online",
    "trafficking": "Trafficking",
    "minor": "Minor involved",
    "street": "On the street",
    "official_misconduct": "Official misconduct",
    "complaint": "Complaint",
    "obscene_material": "Obscene material",
    "info_request": "Information request",
    "spam": "Spam",
}

STAGE_WORDS: dict[str, str] = {
    "received": "New",
    "verified": "Verified",
    "classified": "Classified",
    "processed": "Processed",
    "referred": "Referred",
    "duplicate": "Duplicate",
    "spam": "Spam",
    "unfounded": "Unfounded",
}


#: How a tip came in: the public channels, then those an officer registers.
CHANNEL_WORDS: dict[str, str] = {
    "web": "Web",
    "telegram": "Telegram",
    "zalo": "Zalo",
    "phone": "Phone",
    "in_person": "In person",
    "letter": "Letter",
    "tip_box": "Tip box",
    "forwarded": "Forwarded",
}


BADGE_WORDS: dict[str, str] = {"overdue": "Overdue", "at_risk": "At risk", "on_time": "On time"}


@cache
def _translations(lang: str) -> GNUTranslations:
    return catalogue(lang)


def gettext(lang: str, msgid: str) -> str:
    return _translations(lang).gettext(msgid)


def category_label(lang: str, code: str | None) -> str:
    """`trafficking` → "Mua bán người" (vi) / "Trafficking" (en); none → "–"."""
    if not code:
        return "–"
    return gettext(lang, CATEGORY_WORDS[code]) if code in CATEGORY_WORDS else code


def stage_label(lang: str, code: str) -> str:
    return gettext(lang, STAGE_WORDS[code]) if code in STAGE_WORDS else code


def channel_label(lang: str, code: str) -> str:
    """`in_person` → "Trực tiếp" (vi) / "In person" (en)."""
    return gettext(lang, CHANNEL_WORDS[code]) if code in CHANNEL_WORDS else code


def badge_label(lang: str, code: str) -> str:
    """`overdue` → "Quá hạn" (vi) / "Overdue" (en); no deadline → "–"."""
    return gettext(lang, BADGE_WORDS[code]) if code in BADGE_WORDS else "–"
