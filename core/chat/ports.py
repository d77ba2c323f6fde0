"""What the conversation needs from the rest of the system, as protocols.

`ReporterService` (core/reporters.py) satisfies `Reporter`; storage implements
`ChatDirectory`; each channel adapter implements `FileSource`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.categories import Channel
from core.intake import Receipt
from core.messages import Message
from core.reporters import ReporterView
from core.tips import TipDraft

#: Who prevention content is written for.
AUDIENCES: tuple[str, ...] = ("student", "worker", "service_worker", "parent", "general")


@dataclass(frozen=True)
class ChatRef:
    """A chat as the conversation sees it. `address` (the channel's raw chat id) is handed
    only to `ChatDirectory`, which stores it encrypted and only on the person's request."""

    channel: Channel
    key: str
    address: str

    def __repr__(self) -> str:  # never print the raw address by accident
        return f"ChatRef({self.channel.value}, {self.key[:6]}…)"


@dataclass(frozen=True)
class Subscription:
    audience: str
    language: str


class Reporter(Protocol):
    async def report(self, draft: TipDraft, files: Sequence[bytes] = ()) -> Receipt: ...

    async def ask(self, text: str, channel: Channel = Channel.WEB) -> Receipt: ...

    async def status(self, receipt_code: str, passphrase: str) -> ReporterView: ...

    async def add_message(
        self,
        receipt_code: str,
        passphrase: str,
        text: str,
        files: Sequence[bytes] = (),
        channel: Channel = Channel.WEB,
    ) -> Message: ...


class ChatDirectory(Protocol):
    """Chats we may write to later: subscribers, and reporters who asked for notices."""

    async def subscribe(self, chat: ChatRef, audience: str, language: str) -> None:
        """Subscribe or change audience/language; idempotent."""
        ...

    async def subscription(self, chat_key: str) -> Subscription | None: ...

    async def unsubscribe(self, chat_key: str) -> bool:
        """True if there was an active subscription."""
        ...

    async def allow_notices(self, chat: ChatRef, tip_id: int, language: str) -> None:
        """The reporter agreed to be told here, in `language`, when the tip gets a reply."""
        ...

    async def forget(self, chat_key: str) -> None:
        """`/stop`: no subscription and no notice consent remains for this chat."""
        ...


class SubscriberAreas(Protocol):
    async def set_area(self, chat_key: str, commune_code: str) -> bool:
        """Record the commune of the chat's active subscription; False if it has none."""
        ...


class FileSource(Protocol):
    async def fetch(self, ref: str) -> bytes:
        """The bytes of a file the person sent; raise `InvalidInput` if it cannot be had."""
        ...


@dataclass(frozen=True)
class Place:
    code: str
    name: str


class PlaceFinder(Protocol):
    def candidates(self, typed: str) -> list[Place]:
        """Communes/wards of this province matching what the person typed, best first."""
        ...


@dataclass(frozen=True)
class PendingNotice:
    """One chat to tell "you have a reply"; `address` is decrypted only for the send."""

    notice_id: int
    channel: str
    address: str
    language: str
    message_id: int


class NoticeOutbox(Protocol):
    """Consented chats whose tip has an officer reply not yet announced."""

    async def pending_notices(self, limit: int = 100) -> Sequence[PendingNotice]: ...

    async def mark_notified(self, notice_id: int, message_id: int) -> None: ...
