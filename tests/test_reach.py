"""Reach: distinct subscribers who received at least one item in a period, per audience,
against the populations administrators enter and the plan's targets; CLI and `hotline kpi`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.categories import Channel
from core.chat.ports import ChatRef
from core.errors import InvalidInput
from core.kpi import Period
from core.reach import ReachLine, Status, Target, targets
from hotline.bootstrap import Services
from hotline.cli import main
from storage.models import ChatSubscriberRow, OutreachCampaignRow, OutreachDeliveryRow, OutreachItemRow
from tests.conftest import COMMUNE, PROVINCE

VN_MIDNIGHT_MARCH_1 = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)  # 00:00 on 1 March in Viet Nam
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))


async def subscribe(services: Services, n: int, audience: str) -> int:
    chat = ChatRef(Channel.TELEGRAM, f"hash-{n:04d}", str(900_000 + n))
    await services.chat.directory.subscribe(chat, audience, "vi")
    async with services.engine.connect() as conn:
        return int(
            await conn.scalar(sa.select(ChatSubscriberRow.id).where(ChatSubscriberRow.chat_hash == chat.key))
        )


async def campaign(services: Services, audience: str, group: str) -> int:
    at = VN_MIDNIGHT_MARCH_1
    async with services.engine.begin() as conn:
        item = await conn.scalar(
            sa.insert(OutreachItemRow)
            .values(
                group_key=group,
                audience=audience,
                language="vi",
                title="t",
                text="x",
                state="published",
                created_at=at,
                created_by="test",
            )
            .returning(OutreachItemRow.id)
        )
        return int(
            await conn.scalar(
                sa.insert(OutreachCampaignRow)
                .values(
                    item_id=item,
                    group_key=group,
                    audience=audience,
                    area_code=None,
                    state="done",
                    scheduled_at=at,
                    created_at=at,
                    created_by="test",
                )
                .returning(OutreachCampaignRow.id)
            )
        )


async def deliver(services: Services, campaign_id: int, subscriber: int, state: str, at: datetime) -> None:
    async with services.engine.begin() as conn:
        group = await conn.scalar(
            sa.select(OutreachCampaignRow.group_key).where(OutreachCampaignRow.id == campaign_id)
        )
        await conn.execute(
            sa.insert(OutreachDeliveryRow).values(
                campaign_id=campaign_id,
                subscriber_id=subscriber,
                group_key=group,
                state=state,
                attempts=1,
                next_at=at,
                finished_at=at,
            )
        )


@pytest.fixture
async def delivered(services: Services) -> dict[str, int]:
    """Students s1..s5 and a worker, with deliveries around March's bounds."""
    ids = {
        name: await subscribe(services, n, "student") for n, name in enumerate(["s1", "s2", "s3", "s4", "s5"])
    }
    ids["w1"] = await subscribe(services, 10, "worker")
    first = await campaign(services, "student", "g-law")
    second = await campaign(services, "student", "g-hiv")
    workers = await campaign(services, "worker", "g-jobs")
    start = VN_MIDNIGHT_MARCH_1
    end = start + timedelta(days=31)  # 00:00 on 1 April in Viet Nam
    await deliver(services, first, ids["s1"], "sent", start)  # the first instant counts
    await deliver(services, second, ids["s1"], "sent", start + timedelta(days=3))  # twice: one person
    await deliver(services, first, ids["s2"], "sent", start + timedelta(days=5))
    await deliver(services, first, ids["s3"], "blocked", start + timedelta(days=5))  # never received
    await deliver(services, first, ids["s4"], "sent", end)  # April: outside
    await deliver(services, second, ids["s5"], "sent", start - timedelta(seconds=1))  # February
    await deliver(services, first, ids["s5"], "queued", start + timedelta(days=1))  # not yet sent
    await deliver(services, workers, ids["w1"], "sent", end - timedelta(seconds=1))  # the last instant
    await services.chat.directory.unsubscribe("hash-0001")  # s2 left later: still reached in March
    return ids


async def test_reach_counts_distinct_receivers_within_the_period(
    services: Services, delivered: dict[str, int]
) -> None:
    report = await services.reach.report(MARCH)
    lines = {line.audience: line for line in report.lines}
    assert {a: line.reached for a, line in lines.items()} == {
        "student": 2,
        "worker": 1,
        "service_worker": 0,
        "parent": 0,
        "general": 0,
    }
    assert report.area_code == PROVINCE
    february = {
        line.audience: line.reached
        for line in (await services.reach.report(Period(date(2026, 2, 1), date(2026, 2, 28)))).lines
    }
    assert february["student"] == 1
    april = {
        line.audience: line.reached
        for line in (await services.reach.report(Period(date(2026, 4, 1), date(2026, 4, 30)))).lines
    }
    assert april["student"] == 1 and april["worker"] == 0


async def test_reach_against_populations_and_targets(services: Services, delivered: dict[str, int]) -> None:
    await services.reach.set_population("student", 4, by="admin")
    await services.reach.set_population("worker", 2, by="admin")
    await services.reach.set_population("student", 3, by="admin2")  # replaces
    lines = {line.audience: line for line in (await services.reach.report(MARCH)).lines}
    assert lines["student"].population == 3 and lines["student"].share == pytest.approx(2 / 3)
    assert lines["student"].status is Status.BELOW
    assert lines["worker"].share == 0.5 and lines["worker"].status is Status.WITHIN
    assert lines["service_worker"].status is Status.NO_POPULATION
    assert lines["parent"].status is Status.NO_TARGET and lines["general"].target is None
    populations = await services.reach.populations()
    assert [(p.audience, p.area_code, p.population, p.updated_by) for p in populations] == [
        ("student", PROVINCE, 3, "admin2"),
        ("worker", PROVINCE, 2, "admin"),
    ]
    for bad in (("teacher", 10), ("student", 0), ("student", -5)):
        with pytest.raises(InvalidInput):
            await services.reach.set_population(*bad, by="admin")
    with pytest.raises(InvalidInput):
        await services.reach.set_population("student", 10, area_code="99999", by="admin")


async def test_reach_of_one_commune(services: Services, delivered: dict[str, int]) -> None:
    assert await services.subscriber_areas.set_area("hash-0000", COMMUNE)  # s1
    assert not await services.subscriber_areas.set_area("hash-0001", COMMUNE)  # s2 left: no subscription
    assert not await services.subscriber_areas.set_area("hash-0002", "99999")  # no such commune
    assert not await services.subscriber_areas.set_area("hash-0002", PROVINCE)  # a province is not one
    await services.reach.set_population("student", 2, area_code=COMMUNE, by="admin")
    lines = {line.audience: line for line in (await services.reach.report(MARCH, COMMUNE)).lines}
    assert lines["student"].reached == 1 and lines["student"].share == 0.5
    assert lines["worker"].reached == 0 and lines["worker"].population is None


def test_targets_are_the_plans() -> None:
    plan = targets()
    assert plan["student"] == Target(0.7, 0.7, plan["student"].source)
    assert (plan["worker"].lower, plan["worker"].upper) == (0.5, 0.6)
    assert plan["service_worker"].upper == 0.7 and "parent" not in plan and "general" not in plan
    worker = plan["worker"]
    assert ReachLine("worker", None, 60, 100, worker).status is Status.MET
    assert ReachLine("worker", None, 59, 100, worker).status is Status.WITHIN
    assert ReachLine("worker", None, 49, 100, worker).status is Status.BELOW


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", PROVINCE)
    return db_url


def test_cli_population_report_and_kpi(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reach", "set-population", "--audience", "student", "--count", "120000"]) == 0
    assert "120000" in capsys.readouterr().out
    assert main(["reach", "set-population", "--audience", "student", "--count", "0"]) == 1
    assert "positive" in capsys.readouterr().err
    assert main(["reach", "populations"]) == 0
    assert "admin (cli)" in capsys.readouterr().out
    assert main(["reach", "report", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    student = next(a for a in data["audiences"] if a["audience"] == "student")
    assert student == {
        "audience": "student",
        "area_code": PROVINCE,
        "reached": 0,
        "population": 120000,
        "share": 0.0,
        "target_lower": 0.7,
        "target_upper": 0.7,
        "status": "below",
    }
    assert main(["reach", "report", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    table = capsys.readouterr().out
    assert "student" in table and "120000" in table and "70%" in table and "50%-60%" in table
    assert main(["kpi", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"]) == 0
    kpi = json.loads(capsys.readouterr().out)
    assert "stages" in kpi and kpi["reach"]["audiences"][0]["population"] == 120000
    assert main(["kpi", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    out = capsys.readouterr().out
    assert "on-time share" in out and "Reach 2026-03-01 .. 2026-03-31" in out


def test_cli_knowledge_commands(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["knowledge", "ask", "xet nghiem hiv o dau"]) == 0
    assert "[hiv-test-where]" in capsys.readouterr().out
    assert main(["knowledge", "ask", "gia vang hom nay"]) == 0
    assert "no good match" in capsys.readouterr().out
    assert main(["knowledge", "eval"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] >= 100
    assert main(["knowledge", "feedback"]) == 0
    assert "did not help" in capsys.readouterr().out


async def test_reach_through_the_outreach_engine_s_own_delivery_queue(services: Services) -> None:
    """The same count when the rows are written by the broadcast side's queue (a campaign to
    one commune's students), not by hand."""
    from core.outreach.campaigns import DeliveryState
    from core.outreach.content import ContentDraft
    from core.outreach.ports import Resolution
    from storage.db import session_factory
    from storage.outreach import SqlDeliveryQueue

    now = VN_MIDNIGHT_MARCH_1 + timedelta(days=2)
    for n in range(3):
        await subscribe(services, 100 + n, "student")
    await services.subscriber_areas.set_area("hash-0100", COMMUNE)
    await services.subscriber_areas.set_area("hash-0101", COMMUNE)
    outreach = services.outreach
    item = await outreach.create_item(
        ContentDraft(audience="student", language="vi", text="Tin"), by="officer:a"
    )
    await outreach.publish_item(item.id, by="officer:b", review=True)
    sent = await outreach.create_campaign(item.id, "student", by="officer:b", area_code=COMMUNE, at=now)
    queue = SqlDeliveryQueue(session_factory(services.engine))
    assert list(await queue.start_due(now)) == [sent.id]
    claimed = await queue.claim(sent.id, worker="w", limit=10, now=now, lease=30)
    assert len(claimed) == 2  # the commune's two students, not the third
    ids = await queue.mark_sending([r.delivery_id for r in claimed], worker="w", now=now, lease=30)
    first, second = sorted(ids)
    await queue.resolve(
        [
            Resolution(first, DeliveryState.SENT, language="vi"),
            Resolution(second, DeliveryState.FAILED, error="x"),
        ],
        now=now,
    )
    assert {line.audience: line.reached for line in (await services.reach.report(MARCH)).lines}[
        "student"
    ] == 1
    commune = await services.reach.report(MARCH, COMMUNE)
    assert {line.audience: line.reached for line in commune.lines}["student"] == 1
