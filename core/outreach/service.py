"""The outreach use cases: the content library's review workflow and campaigns.

Channels (staff workspace, CLI) call `OutreachService` and nothing below it. Delivery is
the broadcast engine's job (core/outreach/engine.py), which reads what this writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from core.errors import Conflict, InvalidInput
from core.outreach.campaigns import Campaign, CampaignState, Progress, check_campaign_transition
from core.outreach.content import (
    AUDIENCES,
    ContentDraft,
    ContentItem,
    ItemState,
    check_item_transition,
    validate_draft,
)
from core.outreach.ports import CampaignRepository, ContentRepository

Clock = Callable[[], datetime]
#: The actor recorded for steps taken from the command line.
CLI_ACTOR = "admin (cli)"


def _now() -> datetime:
    return datetime.now(UTC)


class OutreachService:
    """Content library and campaigns. `by` is always the acting officer ("officer:name")."""

    def __init__(
        self, content: ContentRepository, campaigns: CampaignRepository, *, clock: Clock = _now
    ) -> None:
        self.content = content
        self.campaigns = campaigns
        self.clock = clock

    # --- content library ----------------------------------------------------------------

    async def create_item(self, draft: ContentDraft, *, by: str) -> ContentItem:
        """Store a new draft. Give `draft.group` the group of an existing item to add its
        translation; without it a fresh group is drawn. DuplicateKey if the group already
        has that language."""
        clean = validate_draft(draft)
        group = clean.group or f"item-{secrets.token_hex(5)}"
        return await self.content.add(clean, group=group, by=by, at=self.clock())

    async def review_item(self, item_id: int, *, by: str) -> ContentItem:
        """draft → reviewed: a second person checked the text (recorded as reviewer)."""
        return await self._move(item_id, ItemState.REVIEWED, by)

    async def publish_item(self, item_id: int, *, by: str, review: bool = False) -> ContentItem:
        """reviewed → published. With `review=True` a draft is reviewed and published in
        one step by the same actor (the command line's administrator)."""
        item = await self.content.get(item_id)
        if review and item.state == ItemState.DRAFT:
            item = await self._move(item_id, ItemState.REVIEWED, by)
        return await self._move(item_id, ItemState.PUBLISHED, by)

    async def return_to_draft(self, item_id: int, *, by: str) -> ContentItem:
        """reviewed → draft: the reviewer asks for changes."""
        return await self._move(item_id, ItemState.DRAFT, by)

    async def retire_item(self, item_id: int, *, by: str) -> ContentItem:
        """Any state → retired: no new campaign may use it (running ones finish)."""
        return await self._move(item_id, ItemState.RETIRED, by)

    async def get_item(self, item_id: int) -> ContentItem:
        return await self.content.get(item_id)

    async def list_items(
        self,
        *,
        audience: str | None = None,
        language: str | None = None,
        state: ItemState | None = None,
        limit: int = 200,
    ) -> Sequence[ContentItem]:
        """Items, newest first, optionally filtered."""
        return await self.content.list(audience=audience, language=language, state=state, limit=limit)

    async def translations(self, item: ContentItem) -> dict[str, ContentItem]:
        """The published versions of the item's group, by language."""
        return await self.content.versions(item.group)

    async def _move(self, item_id: int, target: ItemState, by: str) -> ContentItem:
        item = await self.content.get(item_id)
        check_item_transition(item.state, target)
        if not await self.content.move(item_id, expected=item.state, target=target, by=by, at=self.clock()):
            raise Conflict(f"item {item_id} changed meanwhile; reload and try again")
        return await self.content.get(item_id)

    # --- campaigns ------------------------------------------------------------------------

    async def create_campaign(
        self,
        item_id: int,
        audience: str,
        *,
        by: str,
        area_code: str | None = None,
        at: datetime | None = None,
    ) -> Campaign:
        """Send a published item to `audience` (optionally only subscribers of an area) at
        `at` (aware time; default now). Each subscriber gets the item's translation in
        their language. Recipients are chosen when the campaign starts, so people who
        subscribe before then are included."""
        if audience not in AUDIENCES:
            raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}")
        if at is not None and at.tzinfo is None:
            raise InvalidInput("the scheduled time needs a time zone, e.g. 2026-07-01T08:00+07:00")
        item = await self.content.get(item_id)
        if item.state != ItemState.PUBLISHED:
            raise InvalidInput(f"item {item_id} is {item.state.value}; only published items can be sent")
        if not item.suits(audience):
            raise InvalidInput(f"item {item_id} is written for {item.audience}, not {audience}")
        area = (area_code or "").strip() or None
        if area is not None and not await self.campaigns.area_targeting_supported():
            raise InvalidInput("subscribers have no area yet: send to the whole audience")
        now = self.clock()
        return await self.campaigns.add(
            item=item, audience=audience, area_code=area, scheduled_at=at or now, by=by, at=now
        )

    async def cancel_campaign(self, campaign_id: int, *, by: str) -> Campaign:
        """Stop for good; rows not yet sent become `skipped`. Messages in flight finish."""
        return await self._move_campaign(campaign_id, CampaignState.CANCELLED, by)

    async def pause_campaign(self, campaign_id: int, *, by: str) -> Campaign:
        """Workers stop claiming its rows; rows already claimed are finished."""
        return await self._move_campaign(campaign_id, CampaignState.PAUSED, by)

    async def resume_campaign(self, campaign_id: int, *, by: str) -> Campaign:
        """Back to running (or scheduled, if it was paused before it started)."""
        campaign = await self.campaigns.get(campaign_id)
        target = CampaignState.RUNNING if campaign.started_at is not None else CampaignState.SCHEDULED
        return await self._move_campaign(campaign_id, target, by, current=campaign)

    async def get_campaign(self, campaign_id: int) -> Campaign:
        return await self.campaigns.get(campaign_id)

    async def list_campaigns(self, *, limit: int = 50) -> Sequence[Campaign]:
        """Newest first."""
        return await self.campaigns.list(limit=limit)

    async def progress(self, campaign_id: int) -> Progress:
        """Counts per delivery state, and the rate, for the workspace and the CLI."""
        return await self.campaigns.progress(campaign_id, self.clock())

    async def _move_campaign(
        self, campaign_id: int, target: CampaignState, by: str, current: Campaign | None = None
    ) -> Campaign:
        campaign = current or await self.campaigns.get(campaign_id)
        check_campaign_transition(campaign.state, target)
        if not await self.campaigns.move(
            campaign_id, expected=campaign.state, target=target, by=by, at=self.clock()
        ):
            raise Conflict(f"campaign {campaign_id} changed meanwhile; try again")
        return await self.campaigns.get(campaign_id)
