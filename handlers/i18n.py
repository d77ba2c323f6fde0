"""Page rendering in Vietnamese (default) or English, from gettext catalogues.

The `.po` catalogues are compiled in memory when the app starts (Babel), so a fresh
checkout needs no build step and a compiled file can never be stale. Templates autoescape:
tip text is untrusted everywhere.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from gettext import GNUTranslations
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.calendar import VN_TZ
from handlers.previews import preview

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "lang"


def catalogue(lang: str) -> GNUTranslations:
    """The compiled catalogue of `lang`, from `handlers/locale/<lang>/LC_MESSAGES/messages.po`."""
    po = resources.files("handlers").joinpath(f"locale/{lang}/LC_MESSAGES/messages.po")
    with po.open("rb") as fh:
        parsed = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, parsed)
    buffer.seek(0)
    return GNUTranslations(buffer)


@dataclass(frozen=True)
class Renderer:
    """One Jinja environment per language, each with its translations installed."""

    environments: dict[str, jinja2.Environment]

    def render(self, lang: str, template: str, context: dict[str, Any]) -> str:
        return self.environments[lang].get_template(template).render(lang=lang, **context)


#: Bidirectional controls (LRE..RLO, LRI..PDI, LRM, RLM, ALM): stored as sent, but shown
#: as a visible mark, so a place like "\u202egnp.exe" cannot read reversed on a page.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BIDI_MARK = "\ufffd"


def neutralise(value: Any) -> Any:
    """Every value a template prints: text loses its bidirectional controls."""
    if not isinstance(value, str) or not _BIDI.search(value):
        return value
    # str.replace keeps Markup (a translated sentence with its links) markup.
    for control in set(_BIDI.findall(value)):
        value = value.replace(control, BIDI_MARK)
    return value


class SharedBytecode(jinja2.BytecodeCache):
    """Each template compiled once per process for every language: the environments differ
    only in their translations, which the compiled code looks up as it renders."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # checks the source's checksum itself

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


@cache
def renderer() -> Renderer:
    environments: dict[str, jinja2.Environment] = {}
    compiled = SharedBytecode()
    for lang in LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("handlers", "templates"),
            bytecode_cache=compiled,
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=neutralise,
        )
        env.install_gettext_translations(catalogue(lang), newstyle=True)  # type: ignore[attr-defined]
        env.filters["vn_time"] = vn_time
        env.filters["vn_date"] = vn_date
        env.filters["percent"] = percent
        env.filters["telegram_preview"] = lambda text: preview(text, formatted=True)
        env.filters["plain_preview"] = lambda text: preview(text, formatted=False)
        env.filters["decimal"] = decimal
        env.filters["works_on_support"] = works_on_support
        environments[lang] = env
    return Renderer(environments)


def works_on_support(officer: Any) -> bool:
    """Whether the staff menu offers the support pages (the rule of core.support_service)."""
    from core.support_service import support_scope

    return (
        support_scope(
            admin=officer.role.value == "admin", agency_code=officer.agency_code, area_code=officer.area_code
        )
        is not None
    )


def _moment(moment: datetime | str | None) -> datetime | None:
    """A moment, or one stored as ISO text (a history line's details); None if unreadable."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return None
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=VN_TZ)  # a bare day ("2026-03-01") is Viet Nam's day
    return moment


def vn_time(moment: datetime | str | None) -> str:
    """Staff read times as the clock on their wall shows them (Viet Nam, UTC+7)."""
    at = _moment(moment)
    return "–" if at is None else at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def vn_date(moment: datetime | str | None) -> str:
    """A day as Vietnamese readers write it (dd/mm/yyyy), on Viet Nam's calendar."""
    at = _moment(moment)
    return "–" if at is None else at.astimezone(VN_TZ).strftime("%d/%m/%Y")


@jinja2.pass_context
def decimal(context: Any, value: float | None, digits: int = 1) -> str:
    """A number with the reader's decimal mark: 12,5 in Vietnamese, 12.5 in English."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if context.get("lang") == "vi":  # Vietnamese: dot between thousands, comma for decimals
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


@jinja2.pass_context
def percent(context: Any, share: float | None, digits: int = 1) -> str:
    """A share (0..1) as a percentage written one way on every page: 12,5% / 12.5%."""
    return "–" if share is None else decimal(context, share * 100, digits) + "%"


def language(request: web.Request) -> str:
    """The reader's choice from the switch (a cookie), else Vietnamese."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE
