"""The published prevention library on the public site: `/learn`, one page per audience,
one per item, the knowledge base's answers by topic, Atom feeds, QR codes, the sitemap
and robots.txt.

These pages set no cookie and read none (the language is in the address), load nothing
from elsewhere and need no JavaScript. A rendered page is kept in memory with the library
stamp it was made from and reused until the published set changes, so a request costs one
small query; each answer carries an ETag, and a matching If-None-Match gets a 304.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from core.calendar import VN_TZ
from core.errors import NotFound
from core.learn import MAX_PAGE, Retired
from core.outreach.content import AUDIENCES, ContentItem
from core.posters import subscribe_link
from handlers import learn_render as render_
from handlers.i18n import LANGUAGES, renderer
from handlers.keys import SERVICES, SETTINGS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

#: Like the other public pages, plus our own script (the "copy the link" button).
LEARN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: Rendered answers kept per process (pages, feeds, QR codes): bounded, oldest out first.
CACHE_ENTRIES = 4096
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$")
_IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: Never indexed: the staff workspace, the API and a reporter's status pages.
PRIVATE_PREFIXES = ("/staff", "/api/", "/status")


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    etag: str
    status: int = 200


def rendered(body: bytes, content_type: str, status: int = 200) -> Rendered:
    return Rendered(body, content_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"', status)


class RenderCache:
    """Answers by key, each valid for the library stamp it was rendered from."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, ...], tuple[str, Rendered]] = OrderedDict()

    def get(self, key: tuple[str, ...], stamp: str) -> Rendered | None:
        hit = self._entries.get(key)
        if hit is None or hit[0] != stamp:
            return None
        self._entries.move_to_end(key)
        return hit[1]

    def put(self, key: tuple[str, ...], stamp: str, value: Rendered) -> None:
        self._entries[key] = (stamp, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


RENDERED = web.AppKey("learn_rendered", RenderCache)


class BadAddress(Exception):
    """A query parameter or Host we will not build a page from (answered 400)."""


def base_url(request: web.Request) -> str:
    """The site's address for absolute links: the setting, else this request's host."""
    configured: str = request.app[SETTINGS].public_url
    if configured:
        return configured
    host = request.host
    if not _HOST.match(host):
        raise BadAddress("host")
    return f"{request.scheme}://{host}"


def page_language(request: web.Request) -> str:
    lang = request.query.get("lang", "vi")
    if lang not in LANGUAGES:
        raise BadAddress("lang")
    return lang


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    if not raw.isdigit() or len(raw) > 5 or not 1 <= int(raw) <= MAX_PAGE:
        raise BadAddress("page")
    return int(raw)


def query_key(request: web.Request) -> tuple[str, str]:
    """The language and page a request asks for, spelled one way, for the cache key: `?page=01`
    and `?page=1` are one page, not two renders (a bad value is refused before caching)."""
    lang = request.query.get("lang", "vi")
    raw = request.query.get("page", "1")
    page = str(int(raw)) if raw.isdigit() and len(raw) <= 5 else "?"
    return (lang if lang in LANGUAGES else "?"), page


def with_lang(path: str, lang: str, **query: str | int) -> str:
    """`path` for a language: Vietnamese is the plain address, English adds ?lang=en."""
    params: dict[str, str | int] = {} if lang == "vi" else {"lang": lang}
    params.update({k: v for k, v in query.items() if v not in ("", 1)})
    return f"{path}?{urlencode(params)}" if params else path


def item_path(item_id: int) -> str:
    return f"/learn/item/{item_id}"


def local_date(moment: datetime | None) -> tuple[str, str]:
    """Viet Nam's date as readers write it (dd/mm/yyyy), and its ISO form for <time>."""
    if moment is None:
        return "", ""
    day = moment.astimezone(VN_TZ).date()
    return day.strftime("%d/%m/%Y"), day.isoformat()


def feed_title(lang: str, audience: str) -> str:
    gettext = render_.translations(lang).gettext
    names = {
        "student": gettext("Students"),
        "worker": gettext("Industrial workers"),
        "service_worker": gettext("Service workers"),
        "parent": gettext("Parents"),
        "general": gettext("Everyone"),
    }
    return f"{gettext('Prevention messages')}: {names[audience]}"


def page_html(request: web.Request, lang: str, template: str, status: int = 200, **context: Any) -> Rendered:
    base = base_url(request)
    defaults: dict[str, Any] = {
        "path": request.path,
        "languages": LANGUAGES,
        "alternates": [],
        "feeds": [],
        "image": None,
        "og_type": "website",
        "share_script": False,
        "index_url": with_lang("/learn", lang),
    }
    context = defaults | context
    context["canonical"] = base + context["canonical"]
    context["alternates"] = [(code, base + href) for code, href in context["alternates"]]
    context["feeds"] = [(title, href) for title, href in context["feeds"]]
    html = renderer().render(lang, template, context)
    return rendered(html.encode("utf-8"), "text/html; charset=utf-8", status)


def answer(request: web.Request, value: Rendered, *, cacheable: bool = True) -> web.Response:
    """The response, or 304 when the reader already has this version (If-None-Match)."""
    max_age = request.app[SETTINGS].learn_max_age_seconds
    headers = {
        "ETag": value.etag,
        "Cache-Control": f"public, max-age={max_age}" if cacheable else "public, max-age=60",
        "Content-Type": value.content_type,
    }
    if value.content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = LEARN_CSP
    if value.status == 200 and etag_matches(request.headers.get("If-None-Match", ""), value.etag):
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    return web.Response(body=value.body, status=value.status, headers=headers)


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: `*`, or any listed tag equal to ours (weak comparison, RFC 9110)."""
    if not header or len(header) > 4096:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


async def cached(
    request: web.Request, key: tuple[str, ...], build: Callable[[], Awaitable[Rendered]]
) -> web.Response:
    """Reuse the answer rendered from the current library, or render and keep it."""
    try:
        base = base_url(request)
        cache = request.app[RENDERED]
        stamp = await request.app[SERVICES].learn.stamp()
        full_key = (base, *key)
        value = cache.get(full_key, stamp)
        if value is None:
            value = await build()
            if value.status == 200:
                cache.put(full_key, stamp, value)
    except BadAddress:
        return answer(request, problem_page(request, "bad_request", 400), cacheable=False)
    except NotFound:
        return answer(request, problem_page(request, "not_found", 404), cacheable=False)
    return answer(request, value)


def problem_page(
    request: web.Request, problem: str, status: int, lang: str | None = None, **context: Any
) -> Rendered:
    """The section's own 400/404/410 page, in the reader's language where it is known."""
    lang = lang or request.query.get("lang", "vi")
    lang = lang if lang in LANGUAGES else "vi"
    with contextlib.suppress(BadAddress):
        return page_html(
            request,
            lang,
            "learn_error.html",
            status,
            problem=problem,
            page_title=render_.translations(lang).gettext("Learn"),
            description="",
            canonical=with_lang("/learn", lang),
            lang_links=[(code, with_lang("/learn", code)) for code in LANGUAGES],
            **context,
        )
    body = "Địa chỉ không hợp lệ. / This address is not valid.".encode()
    return rendered(body, "text/plain; charset=utf-8", status)


# --- pages ---------------------------------------------------------------------------------


@routes.get("/learn")
async def index(request: web.Request) -> web.Response:
    """The section's front page: the audiences, the answers and the feeds."""

    async def build() -> Rendered:
        lang = page_language(request)
        gettext = render_.translations(lang).gettext
        return page_html(
            request,
            lang,
            "learn_index.html",
            page_title=gettext("Learn"),
            description=gettext(
                "Short messages to recognise the traps of prostitution and trafficking, to protect "
                "yourself and the people around you, and to know where to get help."
            ),
            canonical=with_lang("/learn", lang),
            alternates=[(code, with_lang("/learn", code)) for code in LANGUAGES],
            lang_links=[(code, with_lang("/learn", code)) for code in LANGUAGES],
            audiences=AUDIENCES,
            audience_urls={a: with_lang(f"/learn/{a}", lang) for a in AUDIENCES},
            questions_url=with_lang("/learn/questions", lang),
            feeds=[(feed_title(lang, a), f"/learn/{a}.atom?lang={lang}") for a in AUDIENCES],
        )

    return await cached(request, ("index", query_key(request)[0]), build)


@routes.get("/learn/questions")
async def questions(request: web.Request) -> web.Response:
    """The knowledge base's answers, grouped by topic, to read without asking."""

    async def build() -> Rendered:
        lang = page_language(request)
        gettext = render_.translations(lang).gettext
        topics: dict[str, list[Any]] = {}
        for entry in request.app[SERVICES].answers.base.entries:
            topics.setdefault(entry.topic or "other", []).append(entry)
        return page_html(
            request,
            lang,
            "learn_questions.html",
            page_title=gettext("Questions and answers"),
            description=gettext(
                "The answers our hotline gives most often. Read them without asking anyone; if your "
                "question is not here, you can ask it anonymously."
            ),
            canonical=with_lang("/learn/questions", lang),
            alternates=[(code, with_lang("/learn/questions", code)) for code in LANGUAGES],
            lang_links=[(code, with_lang("/learn/questions", code)) for code in LANGUAGES],
            topics=list(topics.items()),
        )

    return await cached(request, ("questions", query_key(request)[0]), build)


@routes.get(r"/learn/{audience:[a-z_]{1,32}}")
async def audience_page(request: web.Request) -> web.Response:
    """One audience's published items in one language, newest first, a page at a time."""
    audience = request.match_info["audience"]

    async def build() -> Rendered:
        lang = page_language(request)
        number = page_number(request)
        library = await request.app[SERVICES].learn.page(audience, lang, number)
        gettext = render_.translations(lang).gettext
        path = f"/learn/{audience}"
        entries = []
        for item in library.items:
            date, date_iso = local_date(item.published.at if item.published else None)
            entries.append(
                {
                    "item": item,
                    "url": item_path(item.id),
                    "date": date,
                    "date_iso": date_iso,
                    "summary": render_.summary(render_.body_without_title(item)),
                }
            )
        feed = f"/learn/{audience}.atom?lang={lang}"
        username = request.app[SETTINGS].telegram_bot_username
        return page_html(
            request,
            lang,
            "learn_audience.html",
            page_title=feed_title(lang, audience),
            description=gettext("Prevention messages") + " · " + gettext("Learn"),
            canonical=with_lang(path, lang, page=number),
            alternates=[(code, with_lang(path, code)) for code in LANGUAGES],
            lang_links=[(code, with_lang(path, code)) for code in LANGUAGES],
            feeds=[(feed_title(lang, audience), feed)],
            audience=audience,
            entries=entries,
            newer_url=with_lang(path, lang, page=number - 1) if number > 1 else "",
            older_url=with_lang(path, lang, page=number + 1) if library.has_older else "",
            subscribe_qr=with_lang(f"{path}/subscribe-qr.svg", lang) if username else "",
        )

    return await cached(request, ("audience", audience, *query_key(request)), build)


@routes.get(r"/learn/{audience:[a-z_]{1,32}}.atom")
async def feed(request: web.Request) -> web.Response:
    """An audience's newest items in one language as an Atom feed, for other sites to repost."""
    audience = request.match_info["audience"]

    async def build() -> Rendered:
        lang = page_language(request)
        items, updated = await request.app[SERVICES].learn.feed(audience, lang)
        base = base_url(request)
        gettext = render_.translations(lang).gettext
        info = render_.FeedInfo(
            key=f"{audience}/{lang}",
            language=lang,
            title=feed_title(lang, audience),
            subtitle=gettext("Learn"),
            author=gettext("Anonymous hotline"),
            self_url=f"{base}/learn/{audience}.atom?lang={lang}",
            page_url=base + with_lang(f"/learn/{audience}", lang),
            updated=updated,
        )
        urls = {item.id: base + item_path(item.id) for item in items}
        return rendered(render_.atom_feed(info, items, urls), "application/atom+xml; charset=utf-8")

    return await cached(request, ("feed", audience, query_key(request)[0]), build)


@routes.get(r"/learn/{audience:[a-z_]{1,32}}/subscribe-qr.svg")
async def subscribe_qr(request: web.Request) -> web.Response:
    """The poster QR code of `hotline qr`: subscribe to the audience's news in Telegram."""
    audience = request.match_info["audience"]
    username = request.app[SETTINGS].telegram_bot_username

    async def build() -> Rendered:
        lang = page_language(request)
        if not username or audience not in AUDIENCES:
            raise NotFound("no subscription link")
        link = subscribe_link(username, audience, lang)
        return rendered(render_.qr_svg(link, link), "image/svg+xml")

    return await cached(request, ("subscribe-qr", audience, query_key(request)[0]), build)


async def _item_or_problem(
    request: web.Request,
) -> tuple[ContentItem | None, list[tuple[str, str]], Rendered | None]:
    """The published item and its translations' paths, or the 404/410 page to send."""
    raw = request.match_info["item_id"]
    if len(raw) > 18:  # beyond any id the database can hold
        return None, [], problem_page(request, "not_found", 404)
    try:
        shown = await request.app[SERVICES].learn.item(int(raw))
    except Retired as gone:
        audience = gone.item.audience
        lang = gone.item.language
        page = problem_page(
            request,
            "retired",
            410,
            lang,
            audience=audience,
            audience_url=with_lang(f"/learn/{audience}", lang),
        )
        return None, [], page
    except NotFound:
        return None, [], problem_page(request, "not_found", 404)
    translations = [(lang, item_path(v.id)) for lang, v in sorted(shown.translations.items())]
    return shown.item, translations, None


def local_image(item: ContentItem) -> Path | None:
    """The item's image when it is a file on this server (a web address is not loaded by
    our pages: it would be a third party; it only goes into the share preview)."""
    if not item.image or item.image.startswith(("http://", "https://")):
        return None
    return Path(item.image)


@routes.get(r"/learn/item/{item_id:\d+}")
async def item_page(request: web.Request) -> web.Response:
    """A published item, its other-language version, the share block; views are counted."""
    item, translations, problem = await _item_or_problem(request)
    if problem is not None or item is None:
        return answer(request, problem or problem_page(request, "not_found", 404), cacheable=False)
    if request.method == "GET":
        request.app[SERVICES].learn.count_view(item.id)

    async def build() -> Rendered:
        assert item is not None
        base = base_url(request)
        lang = item.language
        path = item_path(item.id)
        date, date_iso = local_date(item.published.at if item.published else None)
        image = None
        image_url = ""
        if local_image(item) is not None:
            image_url = f"{path}/image"
            image = base + image_url
        elif item.image:
            image = item.image
        other = dict(translations)
        audience_path = f"/learn/{item.audience}"
        return page_html(
            request,
            lang,
            "learn_item.html",
            page_title=item.title,
            description=render_.summary(render_.body_without_title(item)),
            canonical=path,
            alternates=[(lang, path), *translations],
            lang_links=[
                (code, path if code == lang else other.get(code, with_lang(audience_path, code)))
                for code in LANGUAGES
            ],
            og_type="article",
            image=image,
            image_url=image_url,
            share_script=True,
            index_url=with_lang("/learn", lang),
            audience_url=with_lang(audience_path, lang),
            item=item,
            body=render_.web_html(render_.body_without_title(item)),
            date=date,
            date_iso=date_iso,
            translations=translations,
            qr_url=f"{path}/qr.svg",
        )

    return await cached(request, ("item", str(item.id)), build)


@routes.get(r"/learn/item/{item_id:\d+}/qr.svg")
async def item_qr(request: web.Request) -> web.Response:
    """A QR code of the item's address, to print on a poster or a leaflet."""
    item, _, problem = await _item_or_problem(request)
    if problem is not None or item is None:
        return answer(request, problem or problem_page(request, "not_found", 404), cacheable=False)

    async def build() -> Rendered:
        url = base_url(request) + item_path(item.id)
        return rendered(render_.qr_svg(url, item.title), "image/svg+xml")

    return await cached(request, ("qr", str(item.id)), build)


@routes.get(r"/learn/item/{item_id:\d+}/image")
async def item_image(request: web.Request) -> web.Response:
    """The item's image when it is a file here (PNG, JPEG or GIF, read by its first bytes)."""
    item, _, problem = await _item_or_problem(request)
    if problem is not None or item is None:
        return answer(request, problem or problem_page(request, "not_found", 404), cacheable=False)
    path = local_image(item)

    async def build() -> Rendered:
        if path is None:
            raise NotFound("no image")
        try:
            data = await asyncio.to_thread(_read_image, path)
        except OSError:
            raise NotFound("no image") from None
        kind = next((t for magic, t in _IMAGE_TYPES.items() if data.startswith(magic)), None)
        if kind is None:
            raise NotFound("not an image")
        return rendered(data, kind)

    return await cached(request, ("image", str(item.id)), build)


def _read_image(path: Path) -> bytes:
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise OSError("image too large")
    return path.read_bytes()


@routes.get("/learn/{tail:.*}")
async def not_found(request: web.Request) -> web.Response:
    """Any other address under /learn: the section's own "not found" page, in words."""
    return answer(request, problem_page(request, "not_found", 404), cacheable=False)


# --- search engines -------------------------------------------------------------------------


@routes.get("/robots.txt")
async def robots(request: web.Request) -> web.Response:
    """Crawl the public pages; keep out of the staff workspace and the API."""

    async def build() -> Rendered:
        lines = ["User-agent: *", "Disallow: /staff/", "Disallow: /api/", "Disallow: /lang/"]
        lines += ["Allow: /", f"Sitemap: {base_url(request)}/sitemap.xml", ""]
        return rendered("\n".join(lines).encode(), "text/plain; charset=utf-8")

    return await cached(request, ("robots",), build)


@routes.get("/sitemap.xml")
async def sitemap_xml(request: web.Request) -> web.Response:
    """The public pages and every published item, with when each last changed."""

    async def build() -> Rendered:
        base = base_url(request)
        items = await request.app[SERVICES].learn.all_published()
        urls: list[tuple[str, datetime | None]] = [(base + p, None) for p in ("/", "/report", "/ask")]
        for lang in LANGUAGES:
            urls.append((base + with_lang("/learn", lang), None))
            urls.append((base + with_lang("/learn/questions", lang), None))
            for audience in AUDIENCES:
                urls.append((base + with_lang(f"/learn/{audience}", lang), None))
        urls += [(base + item_path(i.id), i.published.at if i.published else None) for i in items]
        return rendered(render_.sitemap(urls), "application/xml; charset=utf-8")

    return await cached(request, ("sitemap",), build)


async def noindex_private(request: web.Request, response: web.StreamResponse) -> None:
    """Search engines that fetch a private page anyway are told never to index it."""
    if request.path.startswith(PRIVATE_PREFIXES):
        response.headers["X-Robots-Tag"] = "noindex, nofollow"


# --- wiring ---------------------------------------------------------------------------------


async def _flush_views_every(app: web.Application, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await app[SERVICES].learn.flush()
        except Exception as exc:  # kept in memory; the next flush tries again
            log.warning("views not written yet: %s", type(exc).__name__)


async def _views_ctx(app: web.Application) -> AsyncIterator[None]:
    """Write counted views every few seconds, and once more on the way out."""
    task = asyncio.create_task(_flush_views_every(app, app[SETTINGS].learn_views_flush_seconds))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    try:
        await app[SERVICES].learn.flush()
    except Exception as exc:
        log.error("views counted since the last flush were lost: %s", type(exc).__name__)


def setup(app: web.Application) -> None:
    """Register the pages; call after the services' startup context has been added, so the
    last views are written before the database closes."""
    app[RENDERED] = RenderCache()
    app.add_routes(routes)
    app.cleanup_ctx.append(_views_ctx)
    app.on_response_prepare.append(noindex_private)


__all__: Sequence[str] = ("routes", "setup")
