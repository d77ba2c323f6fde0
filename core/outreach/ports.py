"""What the outreach service and the broadcast engine need from storage and channels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.outreach.bucket import Grant
from core.outreach.campaigns import Campaign, CampaignState, DeliveryState, Progress
from core.outreach.content import ContentDraft, ContentItem, ItemState


class ContentRepository(Protocol):
    """Every method is one transaction; state changes are conditional updates."""

    async def add(self, draft: ContentDraft, *, group: str, by: str, at: datetime) -> ContentItem:
        """Insert a draft; raise DuplicateKey if the group already has this language."""
        ...

    async def add_published(self, draft: ContentDraft, *, group: str, by: str, at: datetime) -> bool:
        """Insert an already published item unless (group, language) exists: shipped
        content, loaded idempotently. True if inserted."""
        ...

    async def get(self, item_id: int) -> ContentItem:
        """Raise NotFound."""
        ...

    async def move(
        self, item_id: int, *, expected: ItemState, target: ItemState, by: str, at: datetime
    ) -> bool:
        """Set the state (and who/when of that step) only if the item is still `expected`."""
        ...

    async def list(
        self,
        *,
        audience: str | None = None,
        language: str | None = None,
        state: ItemState | None = None,
        limit: int = 200,
    ) -> Sequence[ContentItem]: ...

    async def versions(self, group: str) -> dict[str, ContentItem]:
        """The published items of a group, by language."""
        ...


class CampaignRepository(Protocol):
    async def add(
        self,
        *,
        item: ContentItem,
        audience: str,
        area_code: str | None,
        scheduled_at: datetime,
        by: str,
        at: datetime,
    ) -> Campaign: ...

    async def get(self, campaign_id: int) -> Campaign:
        """Raise NotFound."""
        ...

    async def list(self, *, limit: int = 50) -> Sequence[Campaign]:
        """Newest first."""
        ...

    async def move(
        self,
        campaign_id: int,
        *,
        expected: CampaignState,
        target: CampaignState,
        by: str,
        at: datetime,
    ) -> bool:
        """Conditional update; cancelling also marks the still queued rows `skipped`."""
        ...

    async def progress(self, campaign_id: int, now: datetime) -> Progress: ...

    async def area_targeting_supported(self) -> bool:
        """Whether subscribers carry an area (migration 0007) to filter on."""
        ...


@dataclass(frozen=True)
class Recipient:
    """One delivery row claimed by a worker, with what is needed to send it."""

    delivery_id: int
    campaign_id: int
    subscriber_id: int
    chat_key: str
    channel: str
    #: Encrypted chat id (empty once unsubscribed); decrypted only at sending time.
    chat_cipher: str
    language: str
    active: bool
    attempts: int


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    RETRY_AFTER = "retry_after"  # 429: Telegram did not send it; pause everyone, resend
    TRANSIENT = "transient"  # network error before delivery: resend after a backoff
    UNCONFIRMED = "unconfirmed"  # a timeout: it may have arrived; never resent
    FAILED = "failed"  # permanent (bad request): give up
    REFUSED = "refused"  # the bot itself is refused (401 bad token): nothing sent, stop


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    retry_after: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Resolution:
    """What the worker decided for one delivery after its send."""

    delivery_id: int
    state: DeliveryState
    error: str = ""
    #: For `queued`: when to try again.
    next_at: datetime | None = None
    #: True for a 429: the attempt does not count against the retry budget.
    refund_attempt: bool = False
    language: str | None = None
    chat_key: str | None = None  # set for `blocked`: the subscriber to unsubscribe


class DeliveryQueue(Protocol):
    """The per-recipient rows: expansion, atomic claims with leases, outcomes."""

    async def start_due(self, now: datetime) -> Sequence[int]:
        """Expand every scheduled campaign due by `now` into delivery rows and mark it
        running (each campaign exactly once, even with several workers); return their ids."""
        ...

    async def running(self) -> Sequence[Campaign]:
        """Running campaigns, oldest first."""
        ...

    async def claim(
        self, campaign_id: int, *, worker: str, limit: int, now: datetime, lease: float
    ) -> Sequence[Recipient]:
        """Lease up to `limit` queued rows that are due to this worker, atomically."""
        ...

    async def mark_sending(
        self, delivery_ids: Sequence[int], *, worker: str, now: datetime, lease: float
    ) -> Sequence[int]:
        """Move leased rows to `sending` (committed before any API call); return the ids
        still ours."""
        ...

    async def resolve(self, resolutions: Sequence[Resolution], *, now: datetime) -> None:
        """Write outcomes (one transaction) and unsubscribe blocked chats."""
        ...

    async def release(self, delivery_ids: Sequence[int], *, worker: str, next_at: datetime) -> None:
        """Give leased (not yet sending) rows back, due again at `next_at`."""
        ...

    async def recover(self, now: datetime) -> int:
        """Rows left in `sending` by a dead worker (lease expired) are ambiguous: record
        them as sent, unconfirmed (at most once). Return how many."""
        ...

    async def finish_if_complete(self, campaign_id: int, now: datetime) -> bool:
        """Mark a running campaign done when no row is queued or sending."""
        ...


class Sender(Protocol):
    """A channel's way to deliver one item to one chat (Telegram: bot/broadcast.py)."""

    async def send(self, address: str, item: ContentItem) -> SendResult: ...


class Bucket(Protocol):
    """The global send rate shared by all workers."""

    async def acquire(self, wanted: int = 1) -> Grant:
        """Reserve the next slot (up to `wanted` messages), sleep until it, return it."""
        ...

    async def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends for `seconds`."""
        ...
