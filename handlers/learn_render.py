"""What the public library pages need besides templates: library texts (Telegram HTML)
made safe for a web page, their plain-text summaries, Atom feeds, and QR codes as SVG.

A library text is trusted only as far as Telegram's small HTML subset goes: every other
tag and every attribute but a link's address is dropped, and all text is escaped again.
"""

from __future__ import annotations

import html
import io
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from gettext import GNUTranslations
from html.parser import HTMLParser

import segno
from markupsafe import Markup

from core.outreach.content import ContentItem
from handlers.i18n import catalogue

ATOM = "http://www.w3.org/2005/Atom"
#: Names the feed and entry ids (urn:uuid, version 5): stable across renames of the site.
ID_NAMESPACE = uuid.UUID("6f1d8c1e-3b7a-5e42-9c1d-2a4f0b7e9d31")
#: Telegram's formatting tags and what a web page shows for them.
_TAGS = {
    "b": "strong", "strong": "strong", "i": "em", "em": "em", "u": "u", "ins": "u",
    "s": "s", "strike": "s", "del": "s", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "a": "a",
}  # fmt: skip
_SAFE_LINK = re.compile(r"^(https?://|tel:|mailto:)[^\s\"'<>`]+$", re.IGNORECASE)
SUMMARY_CHARS = 200


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        web = _TAGS.get(tag)
        if web is None:
            return
        if web == "a":
            href = next((v for k, v in attrs if k == "href" and v), "")
            if not _SAFE_LINK.match(href):
                return
            self.out.append(f'<a href="{html.escape(href)}" rel="nofollow noopener noreferrer">')
        else:
            self.out.append(f"<{web}>")
        self.open.append(web)

    def handle_endtag(self, tag: str) -> None:
        web = _TAGS.get(tag)
        if web is None or web not in self.open:
            return
        while self.open:
            closing = self.open.pop()
            self.out.append(f"</{closing}>")
            if closing == web:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))


def web_html(text: str) -> Markup:
    """Telegram HTML as safe web HTML: its formatting and http(s)/tel/mailto links only."""
    parser = _Sanitiser()
    parser.feed(text)
    return Markup(parser.result())  # noqa: S704 - built from escaped text and fixed tags


def plain(text: str) -> str:
    """The text without any markup, whitespace collapsed."""
    stripped = re.sub(r"<[^>]*>", " ", text)
    return " ".join(html.unescape(stripped).split())


def summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first `limit` characters of the plain text, cut at a word, for previews."""
    words = plain(text)
    if len(words) <= limit:
        return words
    cut = words[: limit - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


def body_without_title(item: ContentItem) -> str:
    """The text, less a first line that only repeats the title (the page has it as heading)."""
    lines = item.text.strip().split("\n", 1)
    if plain(lines[0]) == plain(item.title):
        return lines[1].strip() if len(lines) > 1 else ""
    return item.text


@cache
def translations(lang: str) -> GNUTranslations:
    return catalogue(lang)


def stable_id(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, '/'.join(parts))}"


@dataclass(frozen=True)
class FeedInfo:
    key: str  # what the feed's id is made from: stable for the life of the feed
    language: str
    title: str
    subtitle: str
    author: str
    self_url: str
    page_url: str
    updated: datetime | None


def atom_feed(info: FeedInfo, items: Sequence[ContentItem], item_url: dict[int, str]) -> bytes:
    """An Atom (RFC 4287) document: ids are urn:uuid names of the feed and of each item,
    entry times are publication times (a published text never changes)."""

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        if text is not None:
            element.text = text
        return element

    # Plain names under a declared default namespace: ElementTree's own namespace handling
    # would prefix every element (ns0:), which feed readers accept but people find odd.
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": info.language})
    sub(feed, "id", stable_id("feed", info.key))
    sub(feed, "title", info.title)
    sub(feed, "subtitle", info.subtitle)
    updated = info.updated or datetime(2026, 1, 1, tzinfo=UTC)
    sub(feed, "updated", _rfc3339(updated))
    sub(feed, "link", rel="self", type="application/atom+xml", href=info.self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=info.page_url)
    author = sub(feed, "author")
    sub(author, "name", info.author)
    for item in items:
        published = item.published.at if item.published else updated
        entry = sub(feed, "entry")
        sub(entry, "id", stable_id("item", str(item.id)))
        sub(entry, "title", item.title)
        sub(entry, "published", _rfc3339(published))
        sub(entry, "updated", _rfc3339(published))
        sub(entry, "link", rel="alternate", type="text/html", href=item_url[item.id])
        sub(entry, "category", term=item.audience)
        sub(entry, "summary", summary(item.text))
        sub(entry, "content", str(web_html(body_without_title(item))), type="html")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def qr_svg(data: str, title: str) -> bytes:
    """A QR code as `hotline qr` draws it for posters (error correction M, never a micro
    code, a quiet zone of four modules), as SVG so it prints sharp at any size."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        buffer, kind="svg", scale=8, border=4, title=title, xmldecl=True, nl=False
    )
    return buffer.getvalue()


def sitemap(urls: Sequence[tuple[str, datetime | None]]) -> bytes:
    """A sitemaps.org urlset: each page's address and, where known, when it last changed."""
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    urlset = ET.Element("urlset", {"xmlns": ns})
    for loc, modified in urls:
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = loc
        if modified is not None:
            ET.SubElement(url, "lastmod").text = _rfc3339(modified)
    return bytes(ET.tostring(urlset, encoding="utf-8", xml_declaration=True))
