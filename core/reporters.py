"""The reporter's side of a tip: intake under rate limits, status in plain words, and the
follow-up conversation.

A reporter proves nothing but knowledge of the receipt code and passphrase. An unknown
code, a malformed code and a wrong passphrase all end in the same `NotFound` after the same
argon2 work, and all count against the same rate limits, so none of them tells a guesser
anything.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from core import receipts
from core.areas import Area
from core.attachments import attachment_meta, clean_files, discard_files, store_files
from core.categories import Category, Channel
from core.errors import InvalidInput, NotFound
from core.intake import Receipt, TipIntake
from core.messages import Author, Credentials, Message
from core.ports import UnitOfWork
from core.ratelimits import Throttle
from core.stages import CLOSING_EXITS, Stage
from core.tips import TipDraft

MAX_MESSAGE = 10_000
#: Looked up in place of a malformed code, so that it costs what a well-formed one does;
#: whatever it finds is never accepted.
_STAND_IN_CODE = "AAAAAAAAAA"


@dataclass(frozen=True)
class ReporterView:
    """All a reporter may see: no officer names, agency, category or internal notes."""

    stage: str
    received_at: datetime
    messages: tuple[Message, ...]
    attachments: int
    #: The content was deleted under the retention rules (the page says so).
    forgotten: bool = False


def public_stage(stage: Stage) -> str:
    """Closing exits read as `closed`: a flooder need not learn that it was caught as spam."""
    return "closed" if stage in CLOSING_EXITS else stage.value


def clean_text(text: str, limit: int = MAX_MESSAGE) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("text must not be empty")
    if len(cleaned) > limit:
        raise InvalidInput(f"text is longer than {limit} characters")
    if "\x00" in cleaned:  # PostgreSQL cannot store it
        raise InvalidInput("text must not contain NUL characters")
    return cleaned


class ReporterService:
    """The use cases of an anonymous reporter on any channel."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        intake: TipIntake,
        throttle: Throttle,
        clock: Callable[[], datetime],
    ) -> None:
        self._uow = uow_factory
        self.intake = intake
        self.throttle = throttle
        self._clock = clock
        self._communes: tuple[Area, ...] | None = None

    async def communes(self) -> tuple[Area, ...]:
        """The picker's communes and wards; read once, since the gazetteer changes by release."""
        if self._communes is None:
            async with self._uow() as uow:
                self._communes = tuple(await uow.areas.communes(self.intake.province_code))
        return self._communes

    async def report(
        self, draft: TipDraft, files: Sequence[bytes] = (), *, source: str | None = None
    ) -> Receipt:
        """A new tip with optional files; counted against the tip form's limits for its
        source (core.sources). An urgent tip over them is stored and marked `over_limit`."""
        clean_text(draft.text)
        over = await self.throttle.submission("tip", source, urgent=draft.urgent)
        receipt = await self.intake.submit(draft, files=files)
        return replace(receipt, over_limit=True) if over else receipt

    async def ask(self, text: str, channel: Channel = Channel.WEB, *, source: str | None = None) -> Receipt:
        """A question: filed as an `info_request` until the knowledge base can answer it."""
        clean_text(text)
        await self.throttle.submission("question", source)
        return await self.intake.submit(TipDraft(text=text, channel=channel, category=Category.INFO_REQUEST))

    async def status(self, receipt_code: str, passphrase: str, *, source: str | None = None) -> ReporterView:
        """Stage and conversation for the holder of the receipt, or NotFound."""
        creds = await self._authenticate(receipt_code, passphrase, source)
        async with self._uow() as uow:
            messages = await uow.conversation.messages(creds.tip_id)
            attachments = await uow.conversation.attachments(creds.tip_id)
        return ReporterView(
            stage=public_stage(creds.stage),
            received_at=creds.received_at,
            messages=tuple(messages),
            attachments=len(attachments),
            forgotten=creds.forgotten,
        )

    async def add_message(
        self,
        receipt_code: str,
        passphrase: str,
        text: str,
        files: Sequence[bytes] = (),
        channel: Channel = Channel.WEB,
        *,
        source: str | None = None,
    ) -> Message:
        """The reporter adds details (text, optionally files) to their own tip, atomically."""
        cleaned = clean_text(text)
        creds = await self._authenticate(receipt_code, passphrase, source)
        if creds.forgotten:
            raise InvalidInput("this report's content was deleted under the retention rules")
        await self.throttle.submission("message", source)
        store = self.intake.store
        if files and store is None:
            raise InvalidInput("attachments are not accepted on this channel")
        clean = await clean_files(files, self.intake.attachment_policy)
        now = self._clock()
        message = Message(Author.REPORTER, cleaned, now)
        keys = await store_files(store, clean) if store is not None and clean else []
        try:
            async with self._uow() as uow:
                await uow.conversation.add_message(creds.tip_id, message, actor=f"reporter:{channel.value}")
                for key, file in zip(keys, clean, strict=True):
                    await uow.conversation.add_attachment(creds.tip_id, attachment_meta(key, file, now))
                await uow.commit()
        except BaseException:
            if store is not None:
                await discard_files(store, keys)
            raise
        return message

    async def _authenticate(
        self, receipt_code: str, passphrase: str, source: str | None = None
    ) -> Credentials:
        """The same work for every input: a malformed code is looked up (as a stand-in)
        and verified like any other, and counts under its own key, not one shared by all
        malformed codes (which let a few typos lock everyone's typos out)."""
        code = receipts.normalise(receipt_code)
        key = code or "malformed:" + hashlib.sha256(receipt_code.strip().upper().encode()).hexdigest()[:20]
        await self.throttle.check_allowed(key, source)
        async with self._uow() as uow:
            creds = await uow.conversation.credentials(code or _STAND_IN_CODE)
        stored = creds.passphrase_hash if creds is not None else None
        matched = await asyncio.to_thread(self.intake.hasher.verify, stored, passphrase)
        if not matched or creds is None or code is None:
            await self.throttle.check_failed(key, source)
            raise NotFound("no tip matches this receipt code and passphrase")
        return creds
