"""The lifecycle through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.categories import Category, Channel
from core.errors import Conflict, ExtensionRefused, IllegalTransition, InvalidInput, NotFound
from core.receipts import normalise
from core.stages import Stage
from hotline.bootstrap import Services
from storage.models import AuditRow, TipRow
from tests.builders import move, submit
from tests.conftest import COMMUNE, OTHER_PROVINCE_COMMUNE, PROVINCE, REMOTE_COMMUNE, FakeClock


async def test_submit_stores_the_tip_with_deadlines_and_owner(services: Services, clock: FakeClock) -> None:
    receipt = await submit(services.intake, commune_code=COMMUNE, category=Category.VENUE)
    assert normalise(receipt.receipt_code) == receipt.receipt_code
    tip, history = await services.tips.view(receipt.tip_id, "officer:test")
    assert tip.stage is Stage.RECEIVED
    assert tip.received_at == clock.now
    assert tip.due[Stage.VERIFIED] == clock.now + timedelta(hours=24)
    assert tip.agency_code == f"police:{COMMUNE}"
    assert tip.province_code == PROVINCE
    assert [(h.action, h.to_stage) for h in history] == [("create", Stage.RECEIVED)]


async def test_remote_commune_gets_48_hours(services: Services, clock: FakeClock) -> None:
    receipt = await submit(services.intake, commune_code=REMOTE_COMMUNE)
    tip, _ = await services.tips.view(receipt.tip_id, "officer:test")
    assert tip.remote
    assert tip.due[Stage.VERIFIED] == clock.now + timedelta(hours=48)


async def test_minor_is_urgent_by_nature(services: Services, clock: FakeClock) -> None:
    receipt = await submit(services.intake, category=Category.MINOR)
    assert receipt.urgent
    tip, _ = await services.tips.view(receipt.tip_id, "officer:test")
    assert tip.due[Stage.VERIFIED] == clock.now + timedelta(hours=2)


@pytest.mark.parametrize("code", ["99999", OTHER_PROVINCE_COMMUNE, PROVINCE])
async def test_unknown_or_foreign_commune_is_refused_and_nothing_stored(
    services: Services, code: str
) -> None:
    with pytest.raises(InvalidInput):
        await submit(services.intake, commune_code=code)
    async with services.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(TipRow)) == 0


async def test_full_path_records_who_when_and_why(services: Services, clock: FakeClock) -> None:
    receipt = await submit(services.intake)
    clock.advance(hours=3)
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    clock.advance(hours=5)
    tip = await services.tips.transition(
        receipt.tip_id, move(Stage.CLASSIFIED, category=Category.ONLINE, urgent=False)
    )
    assert tip.category is Category.ONLINE
    clock.advance(days=4)
    tip = await services.tips.transition(receipt.tip_id, move(Stage.PROCESSED, reason="venue closed"))
    assert tip.stage is Stage.PROCESSED
    assert tip.next_due() is None
    _, history = await services.tips.view(receipt.tip_id, "officer:test")
    assert [h.to_stage for h in history] == [
        Stage.RECEIVED,
        Stage.VERIFIED,
        Stage.CLASSIFIED,
        Stage.PROCESSED,
    ]
    assert history[-1].reason == "venue closed"
    assert history[-1].actor == "officer:test"
    with pytest.raises(IllegalTransition, match="closed"):
        await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))


async def test_classifying_as_info_request_recomputes_open_deadlines(
    services: Services, clock: FakeClock
) -> None:
    receipt = await submit(services.intake)
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    tip = await services.tips.transition(
        receipt.tip_id, move(Stage.CLASSIFIED, category=Category.INFO_REQUEST)
    )
    # Received Monday 09:00 → three working days → end of Thursday 5 March.
    assert tip.due[Stage.PROCESSED].isoformat() == "2026-03-05T17:00:00+00:00"
    assert tip.agency_code == f"health:{PROVINCE}"


async def test_exits_need_a_reason(services: Services) -> None:
    receipt = await submit(services.intake)
    with pytest.raises(InvalidInput, match="reason"):
        await services.tips.transition(receipt.tip_id, move(Stage.SPAM, reason=" "))


async def test_referral_hands_over_and_the_clock_continues(services: Services, clock: FakeClock) -> None:
    receipt = await submit(services.intake, commune_code=COMMUNE)
    before, _ = await services.tips.view(receipt.tip_id, "officer:test")
    tip = await services.tips.transition(receipt.tip_id, move(Stage.REFERRED, to_agency=f"health:{PROVINCE}"))
    assert tip.agency_code == f"health:{PROVINCE}"
    assert tip.due == before.due
    with pytest.raises(IllegalTransition):
        await services.tips.transition(receipt.tip_id, move(Stage.CLASSIFIED))
    tip = await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    assert tip.stage is Stage.VERIFIED


async def test_referral_to_unknown_agency_is_refused(services: Services) -> None:
    receipt = await submit(services.intake)
    with pytest.raises(InvalidInput, match="unknown agency"):
        await services.tips.transition(receipt.tip_id, move(Stage.REFERRED, to_agency="police:00004"))


async def test_duplicate_links_to_an_existing_original(services: Services) -> None:
    original = await submit(services.intake)
    copy = await submit(services.intake)
    with pytest.raises(InvalidInput):
        await services.tips.transition(copy.tip_id, move(Stage.DUPLICATE, duplicate_of=copy.tip_id))
    with pytest.raises(InvalidInput):
        await services.tips.transition(copy.tip_id, move(Stage.DUPLICATE, duplicate_of=10**9))
    tip = await services.tips.transition(copy.tip_id, move(Stage.DUPLICATE, duplicate_of=original.tip_id))
    assert tip.duplicate_of == original.tip_id
    assert tip.is_closed


async def test_extensions_move_the_decision_deadline_twice_then_stop(
    services: Services, clock: FakeClock
) -> None:
    receipt = await submit(services.intake)
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    tip = await services.tips.extend_deadline(receipt.tip_id, actor="officer:test", reason="complex")
    assert tip.due[Stage.PROCESSED].isoformat() == "2026-05-02T02:00:00+00:00"
    # A later transition recomputes deadlines but keeps the extension.
    tip = await services.tips.transition(receipt.tip_id, move(Stage.CLASSIFIED))
    assert tip.due[Stage.PROCESSED].isoformat() == "2026-05-02T02:00:00+00:00"
    tip = await services.tips.extend_deadline(
        receipt.tip_id, actor="officer:test", reason="procuracy approved", days=30
    )
    assert tip.extensions == 2
    assert tip.due[Stage.PROCESSED].isoformat() == "2026-06-01T02:00:00+00:00"
    with pytest.raises(ExtensionRefused, match="limit"):
        await services.tips.extend_deadline(receipt.tip_id, actor="officer:test", reason="again")
    _, history = await services.tips.view(receipt.tip_id, "officer:test")
    assert [h.reason for h in history if h.action == "extension"] == ["complex", "procuracy approved"]


async def test_extension_needs_a_reason_and_an_open_tip(services: Services) -> None:
    receipt = await submit(services.intake)
    with pytest.raises(InvalidInput):
        await services.tips.extend_deadline(receipt.tip_id, actor="officer:test", reason="")
    await services.tips.transition(receipt.tip_id, move(Stage.SPAM))
    with pytest.raises(ExtensionRefused):
        await services.tips.extend_deadline(receipt.tip_id, actor="officer:test", reason="x")


async def test_stale_expected_stage_is_a_conflict(services: Services) -> None:
    receipt = await submit(services.intake)
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    with pytest.raises(Conflict, match="reload"):
        await services.tips.transition(receipt.tip_id, move(Stage.SPAM, expected_stage=Stage.RECEIVED))


async def test_two_officers_at_once_one_wins_and_nothing_is_half_written(services: Services) -> None:
    receipt = await submit(services.intake)
    # Both officers saw the tip as received; the API sends that as expected_stage.
    outcomes = await asyncio.gather(
        services.tips.transition(receipt.tip_id, move(Stage.VERIFIED, expected_stage=Stage.RECEIVED)),
        services.tips.transition(receipt.tip_id, move(Stage.SPAM, expected_stage=Stage.RECEIVED)),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0], Conflict)
    tip, history = await services.tips.view(receipt.tip_id, "officer:test")
    assert tip.stage is winners[0].stage
    assert tip.version == 2
    assert len([h for h in history if h.action == "transition"]) == 1


async def test_unknown_tip_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        await services.tips.view(123456, "officer:test")


async def test_every_read_and_write_is_audited(services: Services) -> None:
    receipt = await submit(services.intake)
    await services.tips.view(receipt.tip_id, "officer:a")
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    async with services.engine.connect() as conn:
        rows = (await conn.execute(sa.select(AuditRow.actor, AuditRow.action).order_by(AuditRow.id))).all()
    assert [tuple(r) for r in rows] == [("officer:a", "view"), ("officer:test", "transition:verified")]


async def test_audit_log_is_append_only_in_the_database(services: Services) -> None:
    receipt = await submit(services.intake)
    await services.tips.view(receipt.tip_id, "officer:a")
    for statement in (sa.update(AuditRow).values(actor="someone else"), sa.delete(AuditRow)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with services.engine.begin() as conn:
                await conn.execute(statement)
    async with services.engine.connect() as conn:
        assert await conn.scalar(sa.select(AuditRow.actor)) == "officer:a"


async def test_receipt_codes_are_unique_and_a_collision_is_retried(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await submit(services.intake)
    codes = iter([first.receipt_code, first.receipt_code, "0000000000"])
    monkeypatch.setattr("core.intake.new_receipt_code", lambda: next(codes))
    second = await submit(services.intake, channel=Channel.TELEGRAM)
    assert second.receipt_code == "0000000000"
    assert second.tip_id != first.tip_id


async def test_a_write_based_on_a_stale_read_is_refused(services: Services) -> None:
    """The compare-and-set itself: two transactions read version 1, only one may write."""
    from dataclasses import replace

    from storage.db import session_factory
    from storage.repositories import SqlUnitOfWork

    receipt = await submit(services.intake)
    sessions = session_factory(services.engine)
    async with SqlUnitOfWork(sessions, services.master_keys) as first:
        stale = await first.tips.get(receipt.tip_id)
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    async with SqlUnitOfWork(sessions, services.master_keys) as second:
        change = services.tips._change_for(
            stale, move(Stage.SPAM), await second.policies.version(1), stale.received_at
        )
        with pytest.raises(Conflict):
            await second.tips.apply_change(stale, change)
        fresh = await second.tips.get(receipt.tip_id)
        await second.tips.apply_change(fresh, replace(change, stage=Stage.SPAM))
        await second.commit()
    tip, _ = await services.tips.view(receipt.tip_id, "officer:test")
    assert (tip.stage, tip.version) == (Stage.SPAM, 3)
