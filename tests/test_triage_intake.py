"""Triage on intake: the proposal is stored with the tip, duplicates point at open tips,
and officers' decisions are kept so the correction rate can be measured."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from core.categories import Category
from core.stages import Stage
from hotline.bootstrap import Services
from storage.models import TriageDecisionRow
from tests.builders import move, submit
from tests.conftest import FakeClock

VENUE = "Quán karaoke Hoa Hồng số 12 đường Lê Lợi có nhân viên bán dâm cho khách, gọi 0912 345 678"


async def view(services: Services, tip_id: int) -> Any:
    tip, _ = await services.tips.view(tip_id, "officer:test")
    return tip


async def test_proposal_is_stored_with_reasons_and_urgency_shortens_deadlines(
    services: Services, clock: FakeClock
) -> None:
    receipt = await submit(
        services.intake, text="co be gai 14 tuoi bi ep tiep khach o nha nghi, dang bi nhot khong cho ve"
    )
    tip = await view(services, receipt.tip_id)
    assert tip.triage["language"] == "vi"
    assert tip.triage["category"] == "minor"
    assert tip.triage["urgent"] is True
    assert tip.triage["reasons"]
    assert tip.language == "vi"
    assert tip.urgent and receipt.urgent
    assert tip.due[Stage.VERIFIED] == clock.now + timedelta(hours=2)
    # The reporter's own choice of category is not overwritten by the proposal.
    assert tip.category is None


async def test_repeat_of_an_open_tip_is_proposed_as_duplicate(services: Services, clock: FakeClock) -> None:
    first = await submit(services.intake, text=VENUE)
    clock.advance(days=3)
    second = await submit(services.intake, text="Karaoke Hoa Hong o Le Loi van ban dam, sdt 0912345678")
    assert (await view(services, second.tip_id)).triage["duplicate_of"] == first.tip_id
    unrelated = await submit(services.intake, text="Cho em hỏi xét nghiệm HIV miễn phí ở đâu ạ?")
    assert (await view(services, unrelated.tip_id)).triage["duplicate_of"] is None


async def test_closed_or_old_tips_are_not_proposed_as_originals(services: Services, clock: FakeClock) -> None:
    first = await submit(services.intake, text=VENUE)
    await services.tips.transition(first.tip_id, move(Stage.SPAM))
    again = await submit(services.intake, text=VENUE)
    assert (await view(services, again.tip_id)).triage["duplicate_of"] is None
    clock.advance(days=91)
    late = await submit(services.intake, text=VENUE)
    assert (await view(services, late.tip_id)).triage["duplicate_of"] is None


async def test_officer_decisions_are_kept_against_the_proposal(services: Services) -> None:
    receipt = await submit(services.intake, text=VENUE)
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    await services.tips.transition(
        receipt.tip_id, move(Stage.CLASSIFIED, category=Category.ONLINE, urgent=False)
    )
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(TriageDecisionRow.field, TriageDecisionRow.proposed, TriageDecisionRow.decided)
                .where(TriageDecisionRow.tip_id == receipt.tip_id)
                .order_by(TriageDecisionRow.field)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("category", "venue", "online"), ("urgent", "false", "false")]


async def test_staff_api_shows_the_proposal(client: Any, admin: dict[str, str]) -> None:
    resp = await client.post(
        "/api/v1/tips",
        json={"text": "A 15-year-old girl is forced to work at the bar on Tran Hung Dao street"},
    )
    assert resp.status == 201
    body = await (await client.get("/api/v1/staff/tips/1", headers=admin)).json()
    assert body["triage"]["language"] == "en"
    assert body["triage"]["urgent"] is True
    assert body["urgent"] is True


async def test_tips_another_worker_stored_are_read_and_its_own_are_not(
    services: Services, settings: Any, clock: FakeClock, monkeypatch: Any
) -> None:
    """Catching up reads the texts of tips other workers stored (a repeat of one is found)
    and never re-reads the worker's own, which it indexed when they committed."""
    from hotline.bootstrap import open_services
    from storage.repositories import SqlTipRepository

    asked: list[int] = []
    texts = SqlTipRepository.texts

    async def spy(self: SqlTipRepository, ids: Any) -> dict[int, tuple[str, Any]]:
        asked.extend(ids)
        return await texts(self, ids)

    monkeypatch.setattr(SqlTipRepository, "texts", spy)
    assert services.intake.triage is not None
    services.intake.triage.refresh = 0  # catch up before every batch
    own = await submit(services.intake, text="Cho em hỏi xét nghiệm HIV miễn phí ở đâu ạ?")
    async with open_services(settings, clock) as other:
        theirs = await submit(other.intake, text=VENUE)
    asked.clear()
    again = await submit(services.intake, text="Karaoke Hoa Hong o Le Loi van ban dam, sdt 0912345678")
    assert (await view(services, again.tip_id)).triage["duplicate_of"] == theirs.tip_id
    assert asked == [theirs.tip_id]
    asked.clear()
    await submit(services.intake, text="Một tin khác về nhà nghỉ ở quận 3")
    assert own.tip_id not in asked and again.tip_id not in asked and asked == []


async def test_a_worker_does_not_read_back_the_tips_it_stored(
    services: Services, settings: Any, clock: FakeClock, monkeypatch: Any
) -> None:
    """Alone, a worker stores every tip, and catching up finds nothing to read: the ids it
    stored itself are passed over as they commit. Another worker's tip in between is read
    once, with the worker's own later ones listed but not read."""
    from hotline.bootstrap import open_services
    from storage.repositories import SqlTipRepository

    listed: list[list[int]] = []
    asked: list[int] = []
    open_since, texts = SqlTipRepository.open_since, SqlTipRepository.texts

    async def spy_open(self: SqlTipRepository, **kwargs: Any) -> Any:
        ids = await open_since(self, **kwargs)
        listed.append(list(ids))
        return ids

    async def spy_texts(self: SqlTipRepository, ids: Any) -> dict[int, tuple[str, Any]]:
        asked.extend(ids)
        return await texts(self, ids)

    monkeypatch.setattr(SqlTipRepository, "open_since", spy_open)
    monkeypatch.setattr(SqlTipRepository, "texts", spy_texts)
    assert services.intake.triage is not None
    services.intake.triage.refresh = 0  # catch up before every batch
    for n in range(3):
        await submit(services.intake, text=f"Nhà nghỉ số {n} trên đường Trần Phú cho gái vào phòng")
    assert listed[1:] == [[], []] and asked == []
    async with open_services(settings, clock) as other:
        theirs = await submit(other.intake, text=VENUE)
    asked.clear()  # the other worker read ours
    services.intake.triage.refresh = 3600  # no catching up: theirs is unseen when mine commits
    mine = await submit(services.intake, text="Quán bia ôm ở chợ Bến Thành mở đến khuya")
    services.intake.triage.refresh = 0
    listed.clear()
    again = await submit(services.intake, text="Karaoke Hoa Hong o Le Loi van ban dam, sdt 0912345678")
    assert (await view(services, again.tip_id)).triage["duplicate_of"] == theirs.tip_id
    assert listed == [[theirs.tip_id, mine.tip_id]] and asked == [theirs.tip_id]
    listed.clear()
    await submit(services.intake, text="Một tin khác về nhà nghỉ ở quận 3")
    assert listed == [[]]
