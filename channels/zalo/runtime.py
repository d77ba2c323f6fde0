"""The Zalo bot as one object the web app starts and stops: each webhook event is
checked for redelivery (the ledger, shared through Redis when configured), answered 200
at once, and handled right after, one chat's events strictly in order.

Replies go out through one token bucket per process at the configured rate; a 429 pauses
every reply of this process and the message is sent again, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable

from channels.notices import ChatGone, ReplyNotifier
from channels.ordering import ChatLocks
from channels.pacing import TokenBucket
from channels.text import split_message
from channels.zalo.api import MAX_TEXT, MediaRefused, NotSent, ZaloApi, ZaloError
from channels.zalo.events import Handling, ZaloEvent, parse_event
from core.categories import Channel
from core.chat.catalogue import DEFAULT_LANGUAGE, text
from core.chat.engine import ChatEngine
from core.chat.events import Outcome
from core.chat.identity import ChatKeys
from core.chat.ports import ChatRef
from core.chat.state import UpdateLedger
from core.errors import InvalidInput

log = logging.getLogger(__name__)

CHANNEL = Channel.ZALO
#: Events handled at once (different chats); one chat's events never overlap.
CONCURRENT_EVENTS = 8
#: Sends of one reply retried after a 429 or a network error before giving up.
MAX_SEND_RETRIES = 5
#: A 429 from Zalo carries no retry time: pause this long.
PAUSE_ON_429 = 1.0


class ZaloFiles:
    """`FileSource` over the allowed media hosts, under the attachment size limit."""

    def __init__(self, api: ZaloApi, max_bytes: int) -> None:
        self.api = api
        self.max_bytes = max_bytes

    async def fetch(self, ref: str) -> bytes:
        try:
            return await self.api.fetch_media(ref, self.max_bytes)
        except MediaRefused as exc:
            raise InvalidInput("the photo could not be fetched from Zalo") from exc


class ZaloNotices:
    """`channels.notices.NoticeSender` over the bot's paced sends."""

    def __init__(self, bot: ZaloBot) -> None:
        self.bot = bot

    async def notify(self, address: str, message: str) -> None:
        await self.bot.send_text(address, message)  # ChatGone for a blocked chat


class ZaloBot:
    def __init__(
        self,
        api: ZaloApi,
        engine: ChatEngine,
        keys: ChatKeys,
        ledger: UpdateLedger,
        *,
        rate: float,
        max_file_bytes: int,
        public_url: str | None = None,
        outbox_notifier: Callable[[ZaloBot], ReplyNotifier] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.api = api
        self.engine = engine
        self.keys = keys
        self.ledger = ledger
        self.public_url = public_url
        self.files = ZaloFiles(api, max_file_bytes)
        self.bucket = TokenBucket(rate, max(1.0, rate))
        self._sleep = sleep
        self._locks = ChatLocks()
        self._slots = asyncio.Semaphore(CONCURRENT_EVENTS)
        self._tasks: set[asyncio.Task[None]] = set()
        self.notifier = outbox_notifier(self) if outbox_notifier is not None else None
        self.counters: dict[str, int] = {}
        self.duplicates = 0

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def chat_ref(self, chat_id: str) -> ChatRef:
        return ChatRef(CHANNEL, self.keys.chat_key(CHANNEL.value, chat_id), chat_id)

    async def feed(self, payload: dict[str, object]) -> bool:
        """Queue one webhook event unless its message id was already taken (by this or
        another worker). False for a redelivery; ValueError for a body that is not an event."""
        event = parse_event(payload)
        if not await self.ledger.first_time(CHANNEL.value, event.message_id):
            self.duplicates += 1
            return False
        task = asyncio.create_task(self._locks.run(event.chat_id, self._handle(event)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _handle(self, event: ZaloEvent) -> None:
        async with self._slots:
            try:
                await self._dispatch(event)
            except ChatGone:
                pass  # blocked meanwhile: unsubscribed and forgotten, nothing to answer
            except Exception as exc:
                # Only the type and the code path: messages can quote what the person sent.
                frames = "".join(traceback.format_tb(exc.__traceback__))
                log.error("handling a Zalo event failed: %s\n%s", type(exc).__name__, frames.rstrip())
                self.count("errors")
                if event.handling is Handling.CHAT:
                    await self._try_send(event.chat_id, text("error.not_saved", DEFAULT_LANGUAGE))

    async def _dispatch(self, event: ZaloEvent) -> None:
        if event.handling is Handling.CHAT and event.incoming is not None:
            outcome = await self.engine.handle(self.chat_ref(event.chat_id), event.incoming, self.files)
            await self.send(event.chat_id, outcome)
            self.count("handled")
        elif event.handling is Handling.GROUP:
            # One pointer per group (a day): the group's id is kept only as a keyed hash.
            group_key = self.keys.chat_key("zalo-group", event.chat_id)
            if await self.ledger.first_time("zalo-group", group_key):
                await self._try_send(event.chat_id, text("group.private", DEFAULT_LANGUAGE))
            self.count("group")
        elif event.handling is Handling.UNSUPPORTED:
            message = (
                text("unsupported.message", DEFAULT_LANGUAGE, url=self.public_url)
                if self.public_url
                else text("unsupported.no_url", DEFAULT_LANGUAGE)
            )
            await self._try_send(event.chat_id, message)
            self.count("unsupported")
        else:
            self.count("ignored")

    async def send(self, chat_id: str, outcome: Outcome) -> None:
        for reply in outcome.replies:
            await self.send_text(chat_id, reply.text)

    async def send_text(self, chat_id: str, message: str) -> None:
        """Each piece of at most 2,000 characters, paced; a 429 or a connection that could
        not be made is retried after a pause; a blocked chat is forgotten."""
        for piece in split_message(message, MAX_TEXT):
            await self._send_piece(chat_id, piece)

    async def _send_piece(self, chat_id: str, piece: str) -> None:
        for attempt in range(MAX_SEND_RETRIES + 1):
            delay = self.bucket.delay()
            if delay > 0:
                await self._sleep(delay)
            try:
                await self.api.send_message(chat_id, piece)
                return
            except ZaloError as exc:
                if exc.code == 429 and attempt < MAX_SEND_RETRIES:
                    self.bucket.pause(PAUSE_ON_429)
                    self.count("throttled")
                    continue
                if exc.code == 403:
                    await self.engine.left(self.chat_ref(chat_id).key)
                    self.count("blocked")
                    raise ChatGone from exc
                raise
            except NotSent:
                if attempt == MAX_SEND_RETRIES:
                    raise
                await self._sleep(min(2.0, 0.2 * 2**attempt))

    async def _try_send(self, chat_id: str, message: str) -> None:
        """A courtesy message (group pointer, unsupported): a refusal is not an error."""
        try:
            await self.send_text(chat_id, message)
        except (ZaloError, NotSent, ChatGone):
            self.count("not_answered")

    async def drain(self) -> None:
        """Wait until every queued event has been handled (tests and the benchmark)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def start(self) -> None:
        if self.notifier is not None:
            self.notifier.start()

    async def stop(self) -> None:
        if self.notifier is not None:
            await self.notifier.stop()
        await self.drain()
