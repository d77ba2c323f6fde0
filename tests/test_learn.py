"""The public prevention library (/learn): audience and item pages, feeds, share previews,
caching, view counters, the sitemap and robots.txt; on both databases, through HTTP."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import sqlalchemy as sa

from core.learn import PAGE_SIZE, ItemViews, LearnService, ViewCounter, views_by_audience
from core.officers import Role
from core.outreach.content import ContentDraft, ContentItem, ItemState
from handlers.keys import SERVICES
from handlers.learn import RenderCache, etag_matches, rendered
from handlers.learn_render import summary, web_html
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import LearnViewRow
from tests.conftest import PROVINCE, FakeClock, add_staff

EDITOR = "officer:editor"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """The app asks the database for the library's version on every request, so that a
    change made through the services shows at once (a worker normally reuses it briefly)."""
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, learn_stamp_seconds=0)


async def publish(
    services: Services,
    clock: FakeClock,
    *,
    audience: str = "student",
    language: str = "vi",
    title: str = "Việc nhẹ lương cao?",
    text: str = "<b>Việc nhẹ lương cao?</b>\nCẩn thận với lời mời <i>việc nhẹ lương cao</i> ở nước ngoài.",
    group: str | None = None,
    image: str | None = None,
) -> ContentItem:
    clock.advance(minutes=5)
    item = await services.outreach.create_item(
        ContentDraft(audience, language, text, title, image=image, group=group), by=EDITOR
    )
    return await services.outreach.publish_item(item.id, by=EDITOR, review=True)


async def get(client: Any, path: str, **headers: str) -> Any:
    client.session.cookie_jar.clear()
    return await client.get(path, headers=headers, allow_redirects=False)


@pytest.fixture
async def empty_library(services: Services) -> None:
    """Retire the starter content the migration publishes, so each test sees only its own."""
    for item in await services.outreach.list_items(state=ItemState.PUBLISHED, limit=1000):
        await services.outreach.retire_item(item.id, by=EDITOR)


ATOM = "{http://www.w3.org/2005/Atom}"


def atom_rules(body: str) -> None:
    """RFC 4287's musts: the feed and every entry have exactly one id, title and updated
    (RFC 3339), the feed an author and a self link, every entry an alternate link."""
    feed = ET.fromstring(body.encode())
    assert feed.tag == f"{ATOM}feed"
    for element in (feed, *feed.findall(f"{ATOM}entry")):
        for name in ("id", "title", "updated"):
            assert len(element.findall(f"{ATOM}{name}")) == 1, name
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", element.findtext(f"{ATOM}updated") or "")
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    assert all(e.find(f"{ATOM}link[@rel='alternate']") is not None for e in feed.findall(f"{ATOM}entry"))


def feed_of(body: str) -> Any:
    atom_rules(body)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


async def test_publish_retire_and_republish_show_on_pages_and_feeds(
    empty_library: None, client: Any, services: Services, clock: FakeClock
) -> None:
    clock.now = datetime.now(UTC) + timedelta(days=1)  # after the starter content's publication
    vi = await publish(services, clock, group="trap-jobs")
    en = await publish(
        services, clock, language="en", title="Easy job, high pay?", group="trap-jobs",
        text="<b>Easy job, high pay?</b>\nBeware of offers of <i>easy, well-paid work</i> abroad.",
    )  # fmt: skip
    everyone = await publish(
        services, clock, audience="general", title="Gọi 111 hay 113?", text="Gọi 113 khi khẩn cấp."
    )
    draft = await services.outreach.create_item(ContentDraft("student", "vi", "Bản nháp bí mật"), by=EDITOR)

    home = await (await get(client, "/")).text()
    assert 'href="/learn"' in home
    index = await get(client, "/learn")
    assert index.status == 200
    text = await index.text()
    assert 'href="/learn/student"' in text and 'href="/learn/questions"' in text
    assert 'href="/learn/student.atom?lang=vi"' in text

    page = await (await get(client, "/learn/student")).text()
    assert f'href="/learn/item/{vi.id}"' in page and f'href="/learn/item/{everyone.id}"' in page
    assert f"/learn/item/{en.id}" not in page and "Bản nháp" not in page
    assert page.index(f"/learn/item/{everyone.id}") < page.index(f"/learn/item/{vi.id}")  # newest first
    english = await (await get(client, "/learn/student?lang=en")).text()
    assert f'href="/learn/item/{en.id}"' in english and f'/learn/item/{vi.id}"' not in english
    assert '<html lang="en">' in english

    feed = feed_of(await (await get(client, "/learn/student.atom?lang=vi")).text())
    ids = [e.id for e in feed.entries]
    assert feed.entries[0].link.endswith(f"/learn/item/{everyone.id}")
    assert len(ids) == 2 and all(i.startswith("urn:uuid:") for i in ids)
    assert feed.feed.updated and all(e.updated for e in feed.entries)
    again = feed_of(await (await get(client, "/learn/student.atom?lang=vi")).text())
    assert [e.id for e in again.entries] == ids and again.feed.id == feed.feed.id  # stable ids
    assert feed.feed.id != feed_of(await (await get(client, "/learn/parent.atom?lang=vi")).text()).feed.id
    assert "<em>việc nhẹ" in feed.entries[1].content[0].value

    item = await get(client, f"/learn/item/{vi.id}")
    body = await item.text()
    assert item.status == 200
    assert (
        f'<link rel="alternate" hreflang="en" href="http://{client.host}:{client.port}/learn/item/{en.id}"'
        in body
    )
    assert f'href="/learn/item/{en.id}" hreflang="en"' in body  # the other language's version
    assert (await get(client, f"/learn/item/{draft.id}")).status == 404  # never published

    # retire: gone from pages and feeds, the item page answers 410 and points to the audience
    clock.advance(minutes=5)
    await services.outreach.retire_item(vi.id, by=EDITOR)
    page = await (await get(client, "/learn/student")).text()
    assert f'/learn/item/{vi.id}"' not in page
    retired_feed = feed_of(await (await get(client, "/learn/student.atom?lang=vi")).text())
    assert len(retired_feed.entries) == 1 and retired_feed.feed.updated > feed.feed.updated
    gone = await get(client, f"/learn/item/{vi.id}")
    assert gone.status == 410 and 'href="/learn/student"' in await gone.text()
    english = await (await get(client, f"/learn/item/{en.id}")).text()
    assert f'/learn/item/{vi.id}"' not in english  # no link to the retired translation
    assert (await get(client, f"/learn/item/{vi.id}/qr.svg")).status == 410

    # published again (a retired item stays retired: the editor writes it anew)
    again_item = await publish(services, clock, group="trap-jobs-2026")
    page = await (await get(client, "/learn/student")).text()
    assert f'href="/learn/item/{again_item.id}"' in page
    entries = feed_of(await (await get(client, "/learn/student.atom?lang=vi")).text()).entries
    assert entries[0].link.endswith(f"/learn/item/{again_item.id}") and len(entries) == 2


async def test_share_preview_tags_and_qr(
    empty_library: None, client: Any, services: Services, clock: FakeClock, tmp_path: Any
) -> None:
    picture = tmp_path / "poster.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    item = await publish(services, clock, image=str(picture))
    resp = await get(client, f"/learn/item/{item.id}")
    page = await resp.text()
    base = f"http://{client.host}:{client.port}"
    for prop, value in (
        ("og:title", "Việc nhẹ lương cao?"),
        ("og:type", "article"),
        ("og:url", f"{base}/learn/item/{item.id}"),
        ("og:image", f"{base}/learn/item/{item.id}/image"),
        ("og:locale", "vi_VN"),
    ):
        assert f'<meta property="{prop}" content="{value}">' in page, prop
    assert re.search(r'<meta property="og:description" content="Cẩn thận với lời mời việc nhẹ', page)
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert f'<link rel="canonical" href="{base}/learn/item/{item.id}">' in page
    assert f'value="{base}/learn/item/{item.id}"' in page and "readonly" in page  # copy the link
    assert "Tải mã QR để in" in page and "Share this" not in page  # Vietnamese only
    image = await get(client, f"/learn/item/{item.id}/image")
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    qr = await get(client, f"/learn/item/{item.id}/qr.svg")
    assert qr.status == 200 and qr.headers["Content-Type"] == "image/svg+xml"
    svg = await qr.text()
    import segno

    expected = segno.make(f"{base}/learn/item/{item.id}", error="m", micro=False)
    assert f'height="{(expected.symbol_size(scale=8, border=4))[1]}"' in svg
    # a third party's image goes into the preview only, never into the page itself
    outside = await publish(
        services, clock, title="Ảnh", text="Ảnh ngoài", image="https://cdn.example.org/a.jpg"
    )
    page = await (await get(client, f"/learn/item/{outside.id}")).text()
    assert '<meta property="og:image" content="https://cdn.example.org/a.jpg">' in page
    assert '<img class="learn-image"' not in page
    assert (await get(client, f"/learn/item/{outside.id}/image")).status == 404
    # no subscription QR without a bot name
    assert (await get(client, "/learn/student/subscribe-qr.svg")).status == 404


async def test_no_cookie_on_any_learn_answer(
    empty_library: None, client: Any, services: Services, clock: FakeClock
) -> None:
    item = await publish(services, clock)
    await services.outreach.retire_item(
        (await publish(services, clock, title="Cũ", text="Cũ", group="old")).id, by=EDITOR
    )
    retired = (await services.outreach.list_items(audience="student"))[0]
    paths = [
        "/learn", "/learn?lang=en", "/learn/student", "/learn/student?page=2", "/learn/questions",
        "/learn/student.atom?lang=vi", "/learn/general.atom?lang=en", f"/learn/item/{item.id}",
        f"/learn/item/{item.id}/qr.svg", f"/learn/item/{retired.id}", "/learn/item/99999",
        "/learn/nobody", "/learn?lang=xx", "/sitemap.xml", "/robots.txt",
    ]  # fmt: skip
    for path in paths:
        for headers in ({}, {"Cookie": "lang=en; csrf=" + "a" * 43}):
            resp = await get(client, path, **headers)
            assert "Set-Cookie" not in resp.headers, path
            assert resp.status < 500, path
    # the other public pages still set theirs: the exemption is ours only
    assert "Set-Cookie" in (await get(client, "/")).headers


async def test_conditional_get_answers_304(
    empty_library: None, client: Any, services: Services, clock: FakeClock
) -> None:
    item = await publish(services, clock)
    for path in (
        "/learn/student",
        "/learn/student.atom?lang=vi",
        f"/learn/item/{item.id}",
        "/learn/questions",
    ):
        first = await get(client, path)
        assert first.status == 200
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"].startswith("public, max-age=")
        unchanged = await get(client, path, **{"If-None-Match": etag})
        assert unchanged.status == 304 and unchanged.headers["ETag"] == etag, path
        assert await unchanged.read() == b""
        weak = await get(client, path, **{"If-None-Match": f'"other", W/{etag}'})
        assert weak.status == 304
        assert (await get(client, path, **{"If-None-Match": '"other"'})).status == 200
    etag = (await get(client, "/learn/student")).headers["ETag"]
    await publish(services, clock, title="Mới", text="Bài mới")
    changed = await get(client, "/learn/student", **{"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag and "Bài mới" in await changed.text()


async def test_views_are_counters_per_item_and_day_on_the_reach_page(
    empty_library: None, client: Any, services: Services, clock: FakeClock, db_url: str
) -> None:
    item = await publish(services, clock)
    other = await publish(services, clock, audience="parent", title="Cha mẹ", text="Dấu hiệu")
    first = await get(client, f"/learn/item/{item.id}")
    await get(client, f"/learn/item/{item.id}", **{"If-None-Match": first.headers["ETag"]})  # still a view
    await asyncio.gather(*(get(client, f"/learn/item/{other.id}") for _ in range(25)))
    await client.head(f"/learn/item/{other.id}")  # a HEAD is no view
    await get(client, "/learn/student")  # a list is no view of an item
    app_learn = client.server.app[SERVICES].learn
    assert await app_learn.flush() == 27
    clock.advance(days=1)
    await get(client, f"/learn/item/{item.id}")
    await app_learn.flush()
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(LearnViewRow).order_by(LearnViewRow.day, LearnViewRow.item_id))
        ).all()
        columns = [c.name for c in LearnViewRow.__table__.columns]
    assert columns == ["item_id", "day", "views"]  # nothing about a reader
    assert [(r.item_id, r.views) for r in rows] == [(item.id, 2), (other.id, 25), (item.id, 1)]
    assert rows[0].day == date(2026, 3, 2) and rows[2].day == date(2026, 3, 3)

    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    await get(client, f"/learn/item/{other.id}")  # counted, not yet written: the page flushes first
    client.session.cookie_jar.clear()
    page = await (await client.get("/staff/reach", headers={"Cookie": admin["Cookie"]})).text()
    section = page[page.index('id="web-views"') :]
    assert "Lượt xem" in section and "không phải số người" in section
    assert re.search(r"Phụ huynh</td><td[^>]*>26</td>", section), section[:2000]
    assert re.search(r"Học sinh, sinh viên</td><td[^>]*>3</td>", section)


async def test_view_flush_keeps_counts_when_the_database_fails(clock: FakeClock) -> None:
    class Failing:
        calls = 0

        async def add_views(self, counts: Any) -> None:
            self.calls += 1
            if self.calls == 1:
                raise OSError("database down")

    store = Failing()
    service = LearnService(store, clock=clock)  # type: ignore[arg-type]
    for _ in range(3):
        service.count_view(7)
    with pytest.raises(OSError):
        await service.flush()
    assert service.counter.pending() == 3
    assert await service.flush() == 3 and service.counter.pending() == 0


async def test_concurrent_flushes_add_up(empty_library: None, services: Services, clock: FakeClock) -> None:
    item = await publish(services, clock)
    store = services.learn.store
    day = date(2026, 3, 2)
    await asyncio.gather(*(store.add_views({(item.id, day): 2}) for _ in range(20)))
    rows = await store.views(day, day)
    assert rows == [ItemViews(item.id, "student", "vi", item.title, 40)]
    assert views_by_audience(rows)["student"] == 40 and views_by_audience(rows)["parent"] == 0


async def test_hostile_and_malformed_addresses(
    empty_library: None, client: Any, services: Services, clock: FakeClock
) -> None:
    nasty = (
        '<b>Tiêu đề</b>\n<script>alert(1)</script><a href="javascript:alert(2)">bấm</a> '
        '<img src=x onerror=alert(3)><a href="https://gov.vn/x" onclick="evil()">luật</a>'
    )
    item = await publish(services, clock, title="Tiêu đề", text=nasty)
    page = await (await get(client, f"/learn/item/{item.id}")).text()
    assert "<script>alert" not in page and "javascript:" not in page and "onerror" not in page
    assert (
        "onclick" not in page
        and '<a href="https://gov.vn/x" rel="nofollow noopener noreferrer">luật</a>' in page
    )
    feed = feed_of(await (await get(client, "/learn/student.atom?lang=vi")).text())
    assert "javascript:" not in feed.entries[0].content[0].value
    for path, status in (
        ("/learn?lang=xx", 400), ("/learn/student?lang=" + "e" * 5000, 400), ("/learn/student?page=0", 400),
        ("/learn/student?page=abc", 400), ("/learn/student?page=99999999", 400), ("/learn/student?page=2", 404),
        ("/learn/teacher", 404), ("/learn/teacher.atom?lang=vi", 404), ("/learn/student.atom?lang=fr", 400),
        ("/learn/item/999999999999999999", 404), ("/learn/item/99999999999999999999", 404),
        ("/learn/item/-1", 404), ("/learn/item/1%00", 404), ("/learn/STUDENT", 404),
    ):  # fmt: skip
        resp = await get(client, path)
        assert resp.status == status, path
        assert resp.headers["Content-Type"].startswith("text/html"), path
        assert "Set-Cookie" not in resp.headers
    bad_host = await get(client, "/learn", Host="evil.example<script>")
    assert bad_host.status == 400 and "<script>" not in await bad_host.text()
    huge = await get(client, "/learn", **{"If-None-Match": '"x",' * 2000})
    assert huge.status == 200
    # many readers at once: all served, one view each
    results = await asyncio.gather(*(get(client, f"/learn/item/{item.id}") for _ in range(40)))
    assert {r.status for r in results} == {200}
    assert await client.server.app[SERVICES].learn.flush() == 41


async def test_pages_of_an_audience(
    empty_library: None, client: Any, services: Services, clock: FakeClock
) -> None:
    for n in range(PAGE_SIZE + 2):
        await publish(services, clock, audience="worker", title=f"Bài {n}", text=f"Bài số {n}", group=f"g{n}")
    first = await (await get(client, "/learn/worker")).text()
    assert "Bài 31" in first and "Bài 1<" not in first and 'href="/learn/worker?page=2"' in first
    second = await (await get(client, "/learn/worker?page=2")).text()
    assert "Bài 1<" in second and "Bài 0<" in second and 'href="/learn/worker"' in second
    assert (await get(client, "/learn/worker?page=3")).status == 404
    same = await get(client, "/learn/worker?page=02")
    assert same.headers["ETag"] == (await get(client, "/learn/worker?page=2")).headers["ETag"]
    assert (
        f'<link rel="canonical" href="http://{client.host}:{client.port}/learn/worker?page=2">'
        in await same.text()
    )


async def test_questions_by_topic(empty_library: None, client: Any, services: Services) -> None:
    page = await (await get(client, "/learn/questions")).text()
    base = services.answers.base
    entry = base.entries[0]
    assert entry.question("vi") in page and 'id="topic-hotlines"' in page
    assert "Đường dây nóng" in page  # topics in words, not codes
    english = await (await get(client, "/learn/questions?lang=en")).text()
    assert entry.question("en") in english


async def test_sitemap_robots_and_private_pages_never_indexed(
    empty_library: None, client: Any, services: Services, clock: FakeClock
) -> None:
    item = await publish(services, clock)
    robots = await (await get(client, "/robots.txt")).text()
    assert "Disallow: /staff/" in robots and "Sitemap: http://" in robots
    resp = await get(client, "/sitemap.xml")
    tree = ET.fromstring(await resp.read())
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text or "" for e in tree.findall("s:url/s:loc", ns)]
    assert any(loc.endswith(f"/learn/item/{item.id}") for loc in locs)
    assert any(loc.endswith("/learn/student?lang=en") for loc in locs)
    assert not any("/staff" in loc or "/status" in loc for loc in locs)
    for path in ("/status", "/staff/login"):
        assert (await get(client, path)).headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "X-Robots-Tag" not in (await get(client, "/learn")).headers


def test_sanitiser_and_summary() -> None:
    assert str(web_html("<b>a</b><span class=x>b</span><i>c")) == "<strong>a</strong>b<em>c</em>"
    assert (
        str(web_html('<a href="tel:111">111</a>'))
        == '<a href="tel:111" rel="nofollow noopener noreferrer">111</a>'
    )
    assert str(web_html("1 < 2 &amp; 3")) == "1 &lt; 2 &amp; 3"
    assert summary("<b>x</b> " + "từ " * 200).endswith("…") and len(summary("từ " * 200)) <= 200


def test_etags_and_render_cache() -> None:
    one = rendered(b"a", "text/plain")
    assert etag_matches(one.etag, one.etag) and etag_matches("*", one.etag)
    assert not etag_matches('"nope"', one.etag) and not etag_matches("", one.etag)
    cache = RenderCache(size=2)
    cache.put(("a",), "s1", one)
    assert cache.get(("a",), "s1") is one and cache.get(("a",), "s2") is None
    cache.put(("b",), "s1", one)
    cache.put(("c",), "s1", one)
    assert cache.get(("a",), "s1") is None  # oldest out


def test_view_counter() -> None:
    counter = ViewCounter()
    counter.add(1, date(2026, 3, 2))
    counter.add(1, date(2026, 3, 2))
    drained = counter.drain()
    assert drained == {(1, date(2026, 3, 2)): 2} and counter.pending() == 0
    counter.restore(drained)
    assert counter.pending() == 2


async def test_stamp_is_reused_for_a_while() -> None:
    class Store:
        version = 1
        asked = 0

        async def stamp(self) -> str:
            self.asked += 1
            return str(self.version)

    store, now = Store(), [100.0]
    service = LearnService(
        store, clock=FakeClock(datetime(2026, 3, 2, tzinfo=UTC)), stamp_seconds=2, monotonic=lambda: now[0]
    )  # type: ignore[arg-type]
    assert await service.stamp() == "1"
    store.version = 2
    now[0] += 1.9
    assert await service.stamp() == "1" and store.asked == 1  # within the window: no question
    now[0] += 0.2
    assert await service.stamp() == "2" and store.asked == 2
    now[0] += 5
    assert await asyncio.gather(*(service.stamp() for _ in range(20))) == ["2"] * 20
    assert store.asked == 3  # many readers at once when it runs out: one question


async def test_public_address_from_the_settings(
    empty_library: None, settings: Settings, services: Services, clock: FakeClock, aiohttp_client: Any
) -> None:
    from handlers.app import create_app

    item = await publish(services, clock)
    public = settings.model_copy(update={"public_url": "https://tinbao.example.vn"})
    client = await aiohttp_client(create_app(public, clock=clock))
    page = await (await get(client, f"/learn/item/{item.id}", Host="attacker.example")).text()
    assert f'<link rel="canonical" href="https://tinbao.example.vn/learn/item/{item.id}">' in page
    assert "attacker.example" not in page
    feed = feed_of(await (await get(client, "/learn/student.atom?lang=vi")).text())
    assert feed.entries[0].link == f"https://tinbao.example.vn/learn/item/{item.id}"
    robots = await (await get(client, "/robots.txt")).text()
    assert "Sitemap: https://tinbao.example.vn/sitemap.xml" in robots


def test_public_url_setting_is_checked() -> None:
    assert Settings(public_url="https://tinbao.example.vn/").public_url == "https://tinbao.example.vn"
    for bad in ("tinbao.example.vn", "javascript:alert(1)", 'https://x.vn/"><script>', "https://x.vn/?a=1"):
        with pytest.raises(ValueError):
            Settings(public_url=bad)


async def test_views_counted_before_shutdown_are_written(
    empty_library: None, settings: Settings, services: Services, clock: FakeClock, aiohttp_client: Any
) -> None:
    from handlers.app import create_app

    item = await publish(services, clock)
    client = await aiohttp_client(create_app(settings, clock=clock))
    for _ in range(3):
        assert (await get(client, f"/learn/item/{item.id}")).status == 200
    await client.close()  # the app's cleanup writes what it counted
    day = clock.now.date()
    assert [r.views for r in await services.learn.store.views(day, day)] == [3]
