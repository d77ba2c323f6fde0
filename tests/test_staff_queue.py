"""The staff queue: order (urgent, then nearest deadline), filters, deadline badges and
keyset pagination that neither skips nor repeats a tip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.categories import Category
from core.errors import InvalidInput
from core.queue import Badge, Cursor, deadline_badge
from core.stages import Stage
from hotline.bootstrap import Services
from tests.builders import move, submit
from tests.conftest import COMMUNE, REMOTE_COMMUNE, FakeClock, staff_headers

QUEUE = "/api/v1/staff/tips"
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def test_badges() -> None:
    due, risk = T0 + timedelta(hours=24), T0 + timedelta(hours=18)
    assert deadline_badge(due, risk, T0) is Badge.ON_TIME
    assert deadline_badge(due, risk, risk) is Badge.AT_RISK
    assert deadline_badge(due, risk, due) is Badge.AT_RISK
    assert deadline_badge(due, risk, due + timedelta(seconds=1)) is Badge.OVERDUE
    assert deadline_badge(None, None, T0) is Badge.NONE


@pytest.mark.parametrize("cursor", [Cursor(True, T0, 7), Cursor(False, None, 123456789)])
def test_cursor_round_trip(cursor: Cursor) -> None:
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("text", ["", "!!!", "bm90IGpzb24", "WzEsIDIsIDNd", "WyJ4IiwgbnVsbCwgMV0"])
def test_bad_cursor(text: str) -> None:
    with pytest.raises(InvalidInput):
        Cursor.decode(text)


async def get(client: Any, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    resp = await client.get(f"{QUEUE}{query}", headers=headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_default_order_filters_and_badges(
    client: Any, services: Services, admin: dict[str, str], clock: FakeClock
) -> None:
    plain = (await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)).tip_id
    clock.advance(hours=1)
    urgent = (await submit(services.intake, category=Category.VENUE, urgent=True)).tip_id
    clock.advance(hours=1)
    later = (await submit(services.intake, category=Category.ONLINE, commune_code=REMOTE_COMMUNE)).tip_id
    closed = (await submit(services.intake, category=Category.ONLINE)).tip_id
    await services.tips.transition(closed, move(Stage.SPAM))
    await services.tips.transition(later, move(Stage.VERIFIED))
    admin = await staff_headers(services, "admin")  # the first session has timed out

    body = await get(client, admin)
    assert [i["id"] for i in body["items"]] == [urgent, plain, later]
    assert body["next"] is None
    first = body["items"][0]
    assert set(first) >= {"id", "stage", "category", "urgent", "commune_code", "deadline", "badge"}
    assert first["badge"] == "on_time"

    async def ids(query: str) -> list[int]:
        return [i["id"] for i in (await get(client, admin, query))["items"]]

    assert await ids("?stage=verified") == [later]
    assert await ids("?stage=spam") == [closed]
    assert await ids("?category=online") == [later]
    assert await ids("?urgent=true") == [urgent]
    assert await ids("?urgent=false") == [plain, later]
    assert await ids(f"?commune={COMMUNE}") == [plain]
    assert await ids("?overdue=true") == []
    assert closed in await ids("?closed=true")
    clock.advance(hours=20)  # the urgent tip's 2 h and the others' 24 h hand-off: 3/4 used
    admin = await staff_headers(services, "admin")
    badges = {i["id"]: i["badge"] for i in (await get(client, admin))["items"]}
    assert badges == {urgent: "overdue", plain: "at_risk", later: "on_time"}
    assert await ids("?overdue=true") == [urgent]


@pytest.mark.parametrize("query", ["?stage=nowhere", "?urgent=maybe", "?limit=0", "?next=garbage", "?x=1"])
async def test_bad_queries_are_422(client: Any, admin: dict[str, str], query: str) -> None:
    assert (await client.get(f"{QUEUE}{query}", headers=admin)).status == 422


async def test_keyset_pages_cover_the_queue_exactly_once(
    client: Any, services: Services, admin: dict[str, str], clock: FakeClock
) -> None:
    for i in range(11):
        await submit(services.intake, urgent=i % 3 == 0)
        clock.advance(minutes=7 * (i % 2))  # some tips share a deadline: the id breaks ties
    for _ in range(4):  # closed tips have no deadline: they come last, by id
        await services.tips.transition((await submit(services.intake)).tip_id, move(Stage.SPAM))
    admin = await staff_headers(services, "admin")
    full = [i["id"] for i in (await get(client, admin, "?closed=true&limit=200"))["items"]]
    seen: list[int] = []
    query = "?closed=true&limit=3"
    while True:
        body = await get(client, admin, query)
        seen += [i["id"] for i in body["items"]]
        if body["next"] is None:
            break
        query = f"?closed=true&limit=3&next={body['next']}"
    assert seen == full and len(full) == 15 and len(set(seen)) == 15
    urgent_flags = [i["urgent"] for i in (await get(client, admin, "?closed=true&limit=200"))["items"]]
    assert urgent_flags == sorted(urgent_flags, reverse=True)


async def test_text_search_ignores_diacritics_and_case(
    client: Any, services: Services, admin: dict[str, str]
) -> None:
    hoa = (await submit(services.intake, text="Quán karaoke Hoa Hồng trên đường Lê Lợi có bán dâm")).tip_id
    other = (await submit(services.intake, text="Tiệm massage 100% kín đáo ở Đồng Khởi")).tip_id

    async def ids(q: str) -> list[int]:
        from urllib.parse import quote

        return [i["id"] for i in (await get(client, admin, f"?q={quote(q)}"))["items"]]

    assert await ids("hoa hong") == [hoa]
    assert await ids("HOA HỒNG") == [hoa]
    assert await ids("dong khoi") == [other]
    assert await ids("100%") == [other]
    # Whole words, all of them: punctuation is no word (and no wildcard), "hồng khởi" are two.
    assert await ids("%") == []
    assert await ids("_") == []
    assert await ids("hồng khởi") == []
    assert await ids("khởi, đồng") == [other]
    assert await ids("hon") == []  # no prefixes: the blind index holds whole words only
