"""What every chat channel shares: which channels are configured, the services a channel's
conversation engine is built from (`ChatServices`, built once by `hotline.bootstrap`),
and the province's places for the conversation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from core.attachments import AttachmentPolicy
from core.categories import Channel
from core.chat.engine import ChatEngine
from core.chat.flows.support import SupportAsker
from core.chat.identity import ChatKeys
from core.chat.places import GazetteerPlaces
from core.chat.ports import ChatDirectory, NoticeOutbox, Reporter, SubscriberAreas
from core.chat.state import ChatStateStore, UpdateLedger
from core.knowledge import AnswerService
from core.services import Clock
from core.triage.places import Gazetteer, package_province_names
from hotline.settings import Settings


def configured_channels(settings: Settings) -> tuple[Channel, ...]:
    """The chat channels with a token: these get a bot, a webhook and a broadcast worker."""
    found: list[Channel] = []
    if settings.telegram_token:
        found.append(Channel.TELEGRAM)
    if settings.zalo_token:
        found.append(Channel.ZALO)
    return tuple(found)


@cache
def province_places(province_code: str) -> GazetteerPlaces:
    """The gazetteer takes about a second to index: built once per process, on first use."""
    gazetteer = Gazetteer()
    gazetteer.add_province_names(package_province_names())
    return GazetteerPlaces(gazetteer, province_code)


@dataclass(frozen=True)
class ChatServices:
    """The services every chat adapter (Telegram, Zalo) hands its conversations to, picked
    out of `Services` once; the conversation state and redelivery ledger are shared."""

    reporter: Reporter
    directory: ChatDirectory
    outbox: NoticeOutbox
    keys: ChatKeys
    attachment_policy: AttachmentPolicy
    answers: AnswerService
    areas: SubscriberAreas
    support: SupportAsker
    clock: Clock
    province_code: str
    #: Conversation state and seen update ids: Redis when configured, in-process otherwise.
    store: ChatStateStore
    ledger: UpdateLedger

    def engine(self, channel: Channel, *, text_only: bool = False) -> ChatEngine:
        """The conversation engine of one channel (`text_only`: no buttons, numbered lists)."""
        return ChatEngine(
            reporter=self.reporter,
            directory=self.directory,
            places=province_places(self.province_code),
            store=self.store,
            clock=self.clock,
            channel=channel,
            attachment_policy=self.attachment_policy,
            answers=self.answers,
            areas=self.areas,
            support=self.support,
            text_only=text_only,
        )
