"""Retention through `hotline retention ...` as an operator runs it: a spam tip's content
is forgotten for good (database and disk), a processed tip within its period is kept, the
KPI and indicators do not move, a dry run changes nothing, two runs at once are fine, and
malformed input is refused with exit code 2 and no change."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.categories import Category, Channel
from core.chat.ports import ChatRef
from core.errors import InvalidInput
from core.retention import DEFAULT_RULES, Data, RetentionRule, parse_rule, rule_for, selectors
from core.stages import Stage
from hotline.bootstrap import Services, open_services
from hotline.cli import main
from hotline.masterkey import MasterKeySource
from hotline.settings import Settings
from storage.db import create_engine, session_factory
from storage.files import DirectoryStore
from storage.models import TipRow
from storage.retention import SqlRetentionRules, run_retention
from tests.builders import draft, move
from tests.conftest import COMMUNE, FakeClock, staff_headers
from tests.test_web_api import jpeg

SPAM_TEXT = "MARKER-SPAM-TEXT quán Hoa Hồng số 12"
SPAM_PLACE = "MARKER-SPAM-PLACE hẻm 5"
KEPT_TEXT = "MARKER-KEPT-TEXT nhà nghỉ Bình Minh"
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@dataclass
class Seeded:
    spam_id: int
    spam_code: str
    spam_passphrase: str
    kept_id: int
    files: list[Path]


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HOTLINE_PROVINCE", "79")
    return settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _seed(settings: Settings) -> Seeded:
    clock = FakeClock(START)
    async with open_services(settings, clock) as services:
        return await _seed_into(services, clock)


async def _seed_into(services: Services, clock: FakeClock) -> Seeded:
    settings = services.settings
    tips = services.tips
    spam = await services.intake.submit(
        draft(SPAM_TEXT, place=SPAM_PLACE, commune_code=COMMUNE, category=Category.VENUE), files=[jpeg()]
    )
    kept = await services.intake.submit(draft(KEPT_TEXT, commune_code=COMMUNE, category=Category.VENUE), files=[jpeg()])
    for receipt in (spam, kept):
        await tips.reply(receipt.tip_id, actor="officer:test", text="MARKER-REPLY xin cho biết thêm")
        await tips.add_note(receipt.tip_id, actor="officer:test", text="MARKER-NOTE ghi chú")
        await services.reporters.add_message(
            receipt.receipt_code, receipt.passphrase, "MARKER-MESSAGE thêm chi tiết", [jpeg((32, 32))]
        )
        chat = ChatRef(Channel.TELEGRAM, services.chat.keys.chat_key("telegram", "4242"), "4242")
        await services.chat.directory.allow_notices(chat, receipt.tip_id, "vi")
    clock.advance(hours=2)
    await tips.transition(spam.tip_id, move(Stage.VERIFIED))
    await tips.transition(spam.tip_id, move(Stage.SPAM, reason="MARKER-REASON quảng cáo"))
    await tips.transition(kept.tip_id, move(Stage.VERIFIED))
    await tips.transition(kept.tip_id, move(Stage.CLASSIFIED, category=Category.VENUE, urgent=False))
    await tips.transition(kept.tip_id, move(Stage.PROCESSED))
    files = sorted(p for p in settings.attachments_path.rglob("*") if p.is_file())
    return Seeded(spam.tip_id, spam.receipt_code, spam.passphrase, kept.tip_id, files)


async def _state(url: str) -> dict[str, Any]:
    """Everything retention may touch, per table, as plain values."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            async def rows(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in (await conn.execute(sa.text(sql))).all()]

            return {
                "tips": await rows(
                    # `sealed`: the tip's blind-index words (rows on SQLite, one array on PostgreSQL) and
                    # data key (0 once both are gone).
                    "SELECT id, text, place,"
                    " (SELECT count(*) FROM tip_tokens k WHERE k.tip_id = tips.id)"
                    " + (SELECT count(*) FROM tip_token_sets k WHERE k.tip_id = tips.id)"
                    " + (SELECT count(*) FROM tip_keys k WHERE k.tip_id = tips.id) AS sealed,"
                    " forgotten_at, stage, category, commune_code,"
                    " channel, received_at, verified_at, processed_at FROM tips ORDER BY id"
                ),
                "messages": await rows("SELECT tip_id, text FROM tip_messages ORDER BY id"),
                "notes": await rows("SELECT tip_id, text FROM tip_notes ORDER BY id"),
                "attachments": await rows("SELECT tip_id, storage_key FROM attachments ORDER BY id"),
                "notices": await rows("SELECT tip_id FROM chat_notices ORDER BY id"),
                "transitions": await rows(
                    "SELECT tip_id, action, from_stage, to_stage, at, reason FROM tip_transitions ORDER BY id"
                ),
                "audit": await rows(
                    "SELECT action, detail FROM audit_log WHERE actor = 'retention' ORDER BY id"
                ),
            }
    finally:
        await engine.dispose()


async def _triage(url: str, tip_id: int) -> dict[str, Any]:
    """The stored proposal's codes, and `sealed`: whether its sealed part (reasons) is there."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            row = (
                await session.execute(
                    sa.select(TipRow.triage, TipRow.triage_sealed).where(TipRow.id == tip_id)
                )
            ).one()
            return {**(row.triage or {}), "sealed": row.triage_sealed is not None}
    finally:
        await engine.dispose()


def _figures(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    as_of = (START + timedelta(days=400)).isoformat()
    code, kpi, err = run(
        capsys, "kpi", "--from", "2026-01-01", "--to", "2026-12-31", "--as-of", as_of, "--format", "json"
    )
    assert code == 0, err
    code, indicators, err = run(
        capsys, "indicators", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json"
    )
    assert code == 0, err
    return kpi, indicators


def test_a_year_on_spam_is_forgotten_processed_is_kept_and_the_figures_do_not_move(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = asyncio.run(_seed(env))
    assert len(seeded.files) == 4
    url = env.effective_database_url
    before = asyncio.run(_state(url))
    assert asyncio.run(_triage(url, seeded.spam_id))["sealed"]  # triage kept words of the text, sealed
    kpi_before, indicators_before = _figures(capsys)
    as_of = (START + timedelta(days=365)).isoformat()

    code, out, err = run(capsys, "retention", "run", "--as-of", as_of, "--dry-run")
    assert code == 0, err
    assert "content:spam:* after 90 days: would forget 1 tips" in out
    assert f"tip {seeded.spam_id} {seeded.spam_code}" in out
    assert "chats:*:*" in out  # both closed tips' notice consents would go
    assert "MARKER" not in out
    assert asyncio.run(_state(url)) == before
    assert all(p.exists() for p in seeded.files)

    code, out, err = run(capsys, "retention", "run", "--as-of", as_of)
    assert code == 0, err
    assert "content:spam:* after 90 days: forgot 1 tips" in out
    after = asyncio.run(_state(url))
    spam = next(t for t in after["tips"] if t[0] == seeded.spam_id)
    kept = next(t for t in after["tips"] if t[0] == seeded.kept_id)
    assert next(t for t in before["tips"] if t[0] == seeded.spam_id)[3] > 1  # words and a key
    assert bytes(spam[1]) == b"" and spam[2] is None and spam[3] == 0 and spam[4] is not None
    assert set(asyncio.run(_triage(url, seeded.spam_id))) <= {"language", "category", "urgent", "sealed"}
    assert not asyncio.run(_triage(url, seeded.spam_id))["sealed"]
    assert spam[5:] == next(t for t in before["tips"] if t[0] == seeded.spam_id)[5:]  # KPI's columns
    assert kept == next(t for t in before["tips"] if t[0] == seeded.kept_id)
    for table in ("messages", "notes", "attachments"):
        assert [r for r in after[table] if r[0] == seeded.spam_id] == []
        assert [r for r in after[table] if r[0] == seeded.kept_id] == [
            r for r in before[table] if r[0] == seeded.kept_id
        ]
    assert after["notices"] == []  # consents go as soon as a tip closes, kept or not
    spam_moves = [r for r in after["transitions"] if r[0] == seeded.spam_id]
    assert spam_moves and all(r[5] == "" for r in spam_moves)
    assert [r[:5] for r in spam_moves] == [r[:5] for r in before["transitions"] if r[0] == seeded.spam_id]
    kept_keys = {k for t, k in before["attachments"] if t == seeded.kept_id}
    for path in seeded.files:
        assert path.exists() == (path.name in kept_keys)
    assert ("retention_forget", "content:spam:* · 90 ngày · 1 tin báo") in after["audit"]
    assert any(a == "retention_run" for a, _ in after["audit"])
    assert not any("MARKER" in d for _, d in after["audit"])
    assert _figures(capsys) == (kpi_before, indicators_before)

    # Idempotent: nothing more to forget.
    code, out, err = run(capsys, "retention", "run", "--as-of", as_of)
    assert code == 0 and "forgot 0 tips" in out
    assert asyncio.run(_state(url))["tips"] == after["tips"]


async def test_the_staff_page_and_the_status_page_say_the_content_was_deleted(
    client: Any, services: Services, admin: dict[str, str], settings: Settings
) -> None:
    seeded = await _seed_into(services, services.tips.clock)  # type: ignore[arg-type]
    rules = await SqlRetentionRules(session_factory(services.engine)).all()
    await run_retention(
        services.engine,
        DirectoryStore(settings.attachments_path, MasterKeySource(settings)),
        rules,
        now=START + timedelta(days=365),
        processed_days=settings.retention_processed_days,
    )
    admin = await staff_headers(services, "admin")  # a fresh session: the seeding took hours
    page = await (await client.get(f"/staff/tips/{seeded.spam_id}", headers=admin)).text()
    assert "Nội dung đã được xoá theo quy định lưu trữ." in page and "MARKER" not in page
    kept = await (await client.get(f"/staff/tips/{seeded.kept_id}", headers=admin)).text()
    assert KEPT_TEXT in kept and "quy định lưu trữ" not in kept
    api = await (await client.get(f"/api/v1/staff/tips/{seeded.spam_id}", headers=admin)).json()
    assert api["text"] == "" and api["place"] is None and api["forgotten_at"]
    view = await services.reporters.status(seeded.spam_code, seeded.spam_passphrase)
    assert view.forgotten and view.messages == () and view.attachments == 0
    with pytest.raises(InvalidInput):
        await services.reporters.add_message(seeded.spam_code, seeded.spam_passphrase, "thêm nữa")
    log = await (await client.get("/staff/audit", headers=admin)).text()
    assert "xoá nội dung theo quy định lưu trữ" in log and "content:spam:* · 90 ngày · 1 tin báo" in log
    # Nothing can be added to it by staff either (it would outlive every rule).
    assert f'action="/staff/tips/{seeded.spam_id}/note"' not in page
    refused = await client.post(
        f"/api/v1/staff/tips/{seeded.spam_id}/notes", json={"text": "ghi chú mới"}, headers=admin
    )
    assert refused.status == 422, await refused.text()
    with pytest.raises(InvalidInput):
        await services.tips.reply(seeded.spam_id, actor="officer:test", text="trả lời")


def test_two_runs_at_once_both_succeed_and_forget_once(env: Settings) -> None:
    seeded = asyncio.run(_seed(env))
    url = env.effective_database_url
    now = START + timedelta(days=365)

    async def both() -> list[int]:
        engines = [create_engine(url), create_engine(url)]
        try:
            rules = await SqlRetentionRules(session_factory(engines[0])).all()
            reports = await asyncio.gather(
                *(
                    run_retention(
                        e,
                        DirectoryStore(env.attachments_path, MasterKeySource(env)),
                        rules,
                        now=now,
                        processed_days=env.retention_processed_days,
                        batch=1,
                    )
                    for e in engines
                )
            )
            return [len(o.tips) for r in reports for o in r.outcomes if o.rule.data is Data.CONTENT]
        finally:
            for e in engines:
                await e.dispose()

    counts = asyncio.run(both())
    assert sum(counts) == 1  # the spam tip, forgotten by exactly one of the two
    state = asyncio.run(_state(url))
    assert bytes(next(t for t in state["tips"] if t[0] == seeded.spam_id)[1]) == b""
    forgets = [d for a, d in state["audit"] if a == "retention_forget" and d.startswith("content")]
    assert forgets == ["content:spam:* · 90 ngày · 1 tin báo"]


def test_rules_can_be_listed_and_changed_and_bad_input_changes_nothing(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = asyncio.run(_seed(env))
    code, out, err = run(capsys, "retention", "rules")
    assert code == 0, err
    assert "spam" in out and "7300 (default)" in out
    before = asyncio.run(_state(env.effective_database_url))
    for argv in (
        ["retention", "run", "--as-of", "next tuesday"],
        ["retention", "run", "--as-of", "2027-03-01T00:00"],  # no time zone
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    capsys.readouterr()
    for argv, words in (
        (["retention", "set", "brothel", "spam", "30"], "unknown category"),
        (["retention", "set", "venue", "closed", "30"], "unknown outcome"),
        (["retention", "set", "venue", "spam", "-3"], "whole number"),
        (["retention", "set", "venue", "spam", "99999999"], "whole number"),
        (["retention", "set", "venue", "spam", "30", "--data", "photos"], "unknown data"),
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2 and words in err, (argv, err)
    code, out, _ = run(capsys, "retention", "rules")
    assert asyncio.run(_state(env.effective_database_url)) == before

    # A shorter period for processed venue tips reaches the kept tip too.
    code, out, err = run(capsys, "retention", "set", "venue", "processed", "30")
    assert code == 0, err
    code, out, err = run(capsys, "retention", "rules")
    assert "venue" in out and "30" in out
    code, out, err = run(capsys, "retention", "run", "--as-of", (START + timedelta(days=365)).isoformat())
    assert "content:processed:venue after 30 days: forgot 1 tips" in out
    tips = asyncio.run(_state(env.effective_database_url))["tips"]
    assert all(bytes(t[1]) == b"" for t in tips if t[0] in (seeded.spam_id, seeded.kept_id))


def test_the_most_specific_rule_wins_and_selectors_do_not_overlap() -> None:
    rules = [*DEFAULT_RULES, RetentionRule(Data.CONTENT, "processed", "minor", 10)]
    rules.append(RetentionRule(Data.CONTENT, "*", "online", 5))
    spam_online = rule_for(rules, Data.CONTENT, "spam", "online")
    assert spam_online is not None and spam_online.days == 90  # the outcome counts more
    assert rule_for(rules, Data.CONTENT, "processed", "minor") == RetentionRule(
        Data.CONTENT, "processed", "minor", 10
    )
    assert rule_for(rules, Data.CONTENT, "processed", None) == DEFAULT_RULES[2]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    found = selectors(rules, Data.CONTENT, now, 7300)
    seen = [(s.outcome, s.category) for s in found]
    assert len(seen) == len(set(seen))
    general = next(s for s in found if s.outcome == "processed" and s.category is None)
    assert general.excluded == ("minor", "online")
    assert parse_rule("content", "SPAM", "*", "default").days is None


async def test_the_chat_status_check_says_the_content_was_deleted(
    settings: Settings, clock: FakeClock
) -> None:
    from tests.telegram_harness import telegram_rig
    from tests.telegram_updates import TelegramUser

    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig, open_services(rig.settings, clock) as services:
        seeded = await _seed_into(services, clock)
        rules = await SqlRetentionRules(session_factory(services.engine)).all()
        await run_retention(
            services.engine,
            DirectoryStore(rig.settings.attachments_path, MasterKeySource(rig.settings)),
            rules,
            now=START + timedelta(days=365),
            processed_days=settings.retention_processed_days,
        )
        await rig.send(user.command("start"))
        await rig.send(user.text("🔎 Tra cứu tin báo"), user.text(seeded.spam_code))
        await rig.send(user.text(seeded.spam_passphrase))
        status = rig.last_text(user.chat_id)
        assert "đã được xoá theo quy định lưu trữ" in status and "MARKER" not in status
        assert "check:add" not in rig.api.sent(user.chat_id)[-1].button_data()


def test_the_worker_can_apply_the_rules_daily(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hotline worker --retention-daily`: a run at start (then one a day); the stop event
    is set when the first run reports, so the test waits on the run, not on a clock."""
    from hotline import broadcast

    seeded = asyncio.run(_seed(settings))  # closed in March 2026: long past 90 days now
    reported: list[str] = []

    async def go() -> None:
        stop = asyncio.Event()

        class Log:
            def info(self, message: str, *args: object) -> None:
                reported.append(message % args)
                stop.set()

            def exception(self, message: str) -> None:
                reported.append(message)
                stop.set()

        monkeypatch.setattr(broadcast, "log", Log())
        await asyncio.wait_for(broadcast.run_retention_daily(settings, stop), timeout=120)

    asyncio.run(go())
    # The spam tip's content, and the processed tip's chat link.
    assert reported == ["retention run: 2 tips' data forgotten"]
    tips = asyncio.run(_state(settings.effective_database_url))["tips"]
    assert bytes(next(t for t in tips if t[0] == seeded.spam_id)[1]) == b""
