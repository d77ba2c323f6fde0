"""The content library and campaigns: review workflow, starter content, commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.errors import Conflict, DuplicateKey, IllegalTransition, InvalidInput
from core.outreach.campaigns import CampaignState, check_campaign_transition
from core.outreach.content import (
    ContentDraft,
    ItemState,
    check_item_transition,
    pick_translation,
    validate_draft,
)
from core.outreach.service import CLI_ACTOR
from core.outreach.starter import starter_drafts
from hotline.cli import main
from storage.models import OutreachItemRow
from storage.outreach import load_starter_content
from tests.outreach_rig import open_outreach, published_pair

# --- the rules, without storage -----------------------------------------------------------


def test_an_item_must_be_reviewed_before_it_is_published_and_retiring_is_final() -> None:
    check_item_transition(ItemState.DRAFT, ItemState.REVIEWED)
    check_item_transition(ItemState.REVIEWED, ItemState.PUBLISHED)
    check_item_transition(ItemState.PUBLISHED, ItemState.RETIRED)
    for current, target in [
        (ItemState.DRAFT, ItemState.PUBLISHED),
        (ItemState.PUBLISHED, ItemState.DRAFT),
        (ItemState.RETIRED, ItemState.PUBLISHED),
        (ItemState.RETIRED, ItemState.DRAFT),
    ]:
        with pytest.raises(IllegalTransition):
            check_item_transition(current, target)


def test_campaign_moves() -> None:
    check_campaign_transition(CampaignState.RUNNING, CampaignState.PAUSED)
    check_campaign_transition(CampaignState.PAUSED, CampaignState.RUNNING)
    with pytest.raises(IllegalTransition):
        check_campaign_transition(CampaignState.CANCELLED, CampaignState.RUNNING)
    with pytest.raises(IllegalTransition):
        check_campaign_transition(CampaignState.DONE, CampaignState.PAUSED)


@pytest.mark.parametrize(
    "draft",
    [
        ContentDraft("teacher", "vi", "x"),
        ContentDraft("student", "fr", "x"),
        ContentDraft("student", "vi", "   "),
        ContentDraft("student", "vi", "x" * 4097),
        ContentDraft("student", "vi", "x" * 1025, image="poster.png"),
        ContentDraft("student", "vi", "x", link="javascript:alert(1)"),
        ContentDraft("student", "vi", "x", group="Not A Group!"),
    ],
)
def test_bad_drafts_are_refused(draft: ContentDraft) -> None:
    with pytest.raises(InvalidInput):
        validate_draft(draft)


def test_a_title_is_taken_from_the_first_line_without_tags() -> None:
    assert validate_draft(ContentDraft("parent", "vi", "<b>Tiêu đề</b>\nNội dung")).title == "Tiêu đề"


def test_translation_falls_back_to_the_other_language() -> None:
    [vi_draft] = [d for d in starter_drafts() if d.language == "vi"][:1]
    from core.outreach.content import ContentItem, Step

    item = ContentItem(1, "g", "general", "vi", "t", "x", None, None, ItemState.PUBLISHED, Step("a", None))  # type: ignore[arg-type]
    assert pick_translation({"vi": item}, "en") is item
    assert pick_translation({}, "vi") is None
    assert vi_draft.language == "vi"


def test_the_starter_set_has_at_least_20_items_in_each_language_with_diacritics() -> None:
    drafts = starter_drafts()
    vi = [d for d in drafts if d.language == "vi"]
    en = [d for d in drafts if d.language == "en"]
    assert len(vi) >= 20 and len(en) >= 20
    assert {d.group for d in vi} == {d.group for d in en}, "every item exists in both languages"
    assert all(
        any(ch in d.text for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉĩọỏốồổỗộớờởỡợụủũứừửữựỳỷỹý") for d in vi
    )
    text = " ".join(d.text for d in drafts)
    for must in ("111", "113", "HIV", "Điều 329", "hộ chiếu", "Trợ giúp pháp lý", "học nghề"):
        assert must in text, must
    assert {d.audience for d in drafts} == {"student", "worker", "service_worker", "parent", "general"}


# --- through storage ------------------------------------------------------------------------


async def test_review_workflow_records_who_and_when(db_url: str) -> None:
    async with open_outreach(db_url) as (service, _):
        item = await service.create_item(
            ContentDraft("worker", "vi", "Cảnh giác việc nhẹ lương cao"), by="officer:a"
        )
        assert item.state == ItemState.DRAFT and item.created.by == "officer:a"
        with pytest.raises(IllegalTransition):
            await service.publish_item(item.id, by="officer:b")
        reviewed = await service.review_item(item.id, by="officer:b")
        published = await service.publish_item(item.id, by="officer:c")
        assert reviewed.reviewed is not None and reviewed.reviewed.by == "officer:b"
        assert published.state == ItemState.PUBLISHED
        assert published.published is not None and published.published.by == "officer:c"
        assert published.published.at.tzinfo is not None
        retired = await service.retire_item(item.id, by="officer:d")
        assert retired.retired is not None and retired.retired.by == "officer:d"
        with pytest.raises(IllegalTransition):
            await service.review_item(item.id, by="officer:b")
        # Translations share a group; one item per language in a group.
        en = await service.create_item(
            ContentDraft("worker", "en", "Beware", group=item.group), by="officer:a"
        )
        assert en.group == item.group
        with pytest.raises(DuplicateKey):
            await service.create_item(ContentDraft("worker", "en", "Again", group=item.group), by="officer:a")
        listed = await service.list_items(audience="worker", state=ItemState.RETIRED)
        assert [i.id for i in listed] == [item.id]


async def test_a_conflicting_move_is_refused(db_url: str) -> None:
    async with open_outreach(db_url) as (service, _):
        item = await service.create_item(ContentDraft("parent", "en", "Talk to your child"), by="officer:a")
        assert await service.content.move(
            item.id, expected=ItemState.DRAFT, target=ItemState.REVIEWED, by="x", at=service.clock()
        )
        assert not await service.content.move(
            item.id, expected=ItemState.DRAFT, target=ItemState.REVIEWED, by="y", at=service.clock()
        )
        # The service re-reads and refuses a stale expectation as a conflict, not silently.
        with pytest.raises((Conflict, IllegalTransition)):
            await service.return_to_draft(item.id, by="z") and await service.return_to_draft(item.id, by="z")


async def test_campaigns_need_a_published_item_for_the_audience(db_url: str) -> None:
    async with open_outreach(db_url) as (service, _):
        draft = await service.create_item(ContentDraft("student", "vi", "Bản nháp"), by="officer:a")
        with pytest.raises(InvalidInput):
            await service.create_campaign(draft.id, "student", by="officer:a")
        vi, _ = await published_pair(service)
        with pytest.raises(InvalidInput):
            await service.create_campaign(vi.id, "parent", by="officer:a")  # written for students
        with pytest.raises(InvalidInput):
            await service.create_campaign(vi.id, "nobody", by="officer:a")
        from datetime import datetime

        with pytest.raises(InvalidInput):
            await service.create_campaign(vi.id, "student", by="officer:a", at=datetime(2026, 12, 1, 8))
        campaign = await service.create_campaign(vi.id, "student", by="officer:a")
        assert campaign.state == CampaignState.SCHEDULED
        paused = await service.pause_campaign(campaign.id, by="officer:b")
        resumed = await service.resume_campaign(campaign.id, by="officer:b")
        assert (paused.state, resumed.state) == (CampaignState.PAUSED, CampaignState.SCHEDULED)
        cancelled = await service.cancel_campaign(campaign.id, by="officer:b")
        assert cancelled.state == CampaignState.CANCELLED and cancelled.updated_by == "officer:b"
        with pytest.raises(IllegalTransition):
            await service.resume_campaign(campaign.id, by="officer:b")
        progress = await service.progress(campaign.id)
        assert progress.total == 0 and progress.to_dict()["state"] == "cancelled"


async def test_starter_content_is_loaded_published_once(db_url: str) -> None:
    async with open_outreach(db_url) as (service, sessions):
        published = await service.list_items(state=ItemState.PUBLISHED, limit=1000)
        assert len(published) == len(starter_drafts())
        assert all(i.published is not None and i.published.by.startswith("system") for i in published)
        # Retire one; loading again neither duplicates nor revives anything.
        await service.retire_item(published[0].id, by="officer:a")
        async with sessions() as session:
            assert await load_starter_content(session, service.clock()) == 0
            await session.commit()
            count = await session.scalar(sa.select(sa.func.count()).select_from(OutreachItemRow))
        assert count == len(starter_drafts())
        assert (await service.get_item(published[0].id)).state == ItemState.RETIRED
        versions = await service.translations(published[2])  # [0] and [1] share a group
        assert set(versions) == {"vi", "en"}


# --- commands -------------------------------------------------------------------------------


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", "79")
    monkeypatch.delenv("HOTLINE_TELEGRAM_TOKEN", raising=False)
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_content_and_campaign_commands(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "content", "add", "--audience", "student", "--lang", "vi", "--text", "Chào <b>bạn</b>"
    )
    assert code == 0
    draft_id = int(out.strip())
    code, out, _ = run(
        capsys, "content", "add", "--audience", "student", "--lang", "en", "--text", "Hello",
        "--link", "https://example.vn", "--publish",
    )  # fmt: skip
    published_id = int(out.strip())
    code, out, _ = run(capsys, "content", "list", "--format", "json", "--audience", "student")
    items = {i["id"]: i for i in json.loads(out)}
    assert items[draft_id]["state"] == "draft"
    assert items[published_id]["state"] == "published"
    assert items[published_id]["reviewed"]["by"] == items[published_id]["published"]["by"] == CLI_ACTOR
    code, out, _ = run(capsys, "content", "list")
    assert "Hello" in out and code == 0

    code, _, err = run(capsys, "campaign", "send", "--item", str(draft_id), "--audience", "student")
    assert code == 1 and "only published" in err
    code, out, _ = run(capsys, "content", "publish", str(draft_id))
    assert out.strip() == f"item {draft_id} is published"
    code, out, _ = run(
        capsys, "campaign", "send", "--item", str(draft_id), "--audience", "student",
        "--at", "2030-01-01T08:00+07:00",
    )  # fmt: skip
    campaign_id = int(out.strip())
    code, out, _ = run(capsys, "campaign", "status", str(campaign_id))
    assert f"campaign {campaign_id} scheduled" in out and "[" in out and "0/0" in out
    code, out, _ = run(capsys, "campaign", "status", str(campaign_id), "--format", "json")
    assert json.loads(out)["state"] == "scheduled"
    assert run(capsys, "campaign", "pause", str(campaign_id))[1].strip().endswith("paused")
    assert run(capsys, "campaign", "resume", str(campaign_id))[1].strip().endswith("scheduled")
    assert run(capsys, "campaign", "cancel", str(campaign_id))[1].strip().endswith("cancelled")
    code, _, err = run(capsys, "campaign", "resume", str(campaign_id))
    assert code == 1 and "cancelled" in err
    code, out, _ = run(capsys, "campaign", "list")
    assert str(campaign_id) in out
    code, _, err = run(
        capsys,
        "campaign",
        "send",
        "--item",
        str(draft_id),
        "--audience",
        "student",
        "--at",
        "2030-01-01T08:00",
    )
    assert code == 2 and "time zone" in err
    assert run(capsys, "content", "retire", str(draft_id))[1].strip() == f"item {draft_id} is retired"
    code, _, err = run(capsys, "worker")
    assert code == 2 and "HOTLINE_TELEGRAM_TOKEN" in err


def test_progress_bar_is_drawn_to_scale() -> None:
    from hotline.outreach_cli import progress_bar

    assert progress_bar(0.5, 10) == "[#####.....]  50.0%"
    assert progress_bar(1.0, 4) == "[####] 100.0%"
