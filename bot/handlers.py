"""PTB handlers: turn a Telegram update into an engine event, and the engine's replies
into Bot API calls. No rule lives here; `core.chat.engine` decides what to say.

Only private chats reach the engine. Group messages get one pointer to a private chat and
nothing is remembered; being added to a group makes the bot leave; channel posts, edits,
reactions, messages from bots and unknown update types are acknowledged and ignored
(no handler matches them).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    CallbackQuery,
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    ChatMemberHandler,
    ExtBot,
    MessageHandler,
    filters,
)

from core.categories import Channel
from core.chat.engine import ChatEngine
from core.chat.events import FileRef, Incoming, Kind, Outcome, Reply
from core.chat.identity import ChatKeys
from core.chat.ports import ChatRef
from core.errors import InvalidInput

log = logging.getLogger(__name__)

CHANNEL = Channel.TELEGRAM


@dataclass
class BotData:
    """What every handler needs, typed (PTB builds it empty; `install` fills it)."""

    engine: ChatEngine | None = None
    keys: ChatKeys | None = None
    counters: dict[str, int] = field(default_factory=dict)


class HotlineContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotData]):
    """The callback context with our dependencies as typed properties."""

    @property
    def engine(self) -> ChatEngine:
        if self.bot_data.engine is None:
            raise RuntimeError("the chat engine is not installed")
        return self.bot_data.engine

    @property
    def keys(self) -> ChatKeys:
        if self.bot_data.keys is None:
            raise RuntimeError("the chat keys are not installed")
        return self.bot_data.keys

    def chat_ref(self, chat_id: int) -> ChatRef:
        address = str(chat_id)
        return ChatRef(CHANNEL, self.keys.chat_key(CHANNEL.value, address), address)

    def count(self, name: str) -> None:
        self.bot_data.counters[name] = self.bot_data.counters.get(name, 0) + 1


HotlineApplication = Application[ExtBot[int], HotlineContext, dict[Any, Any], dict[Any, Any], BotData, None]


class TelegramFiles:
    """`FileSource` over `getFile` and the file download URL of the configured Bot API."""

    def __init__(self, bot: ExtBot[int]) -> None:
        self.bot = bot

    async def fetch(self, ref: str) -> bytes:
        try:
            file = await self.bot.get_file(ref)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise InvalidInput("the file could not be fetched from Telegram") from exc


def install(application: HotlineApplication) -> None:
    """Register the handlers, most specific first."""
    application.add_handler(ChatMemberHandler(on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, on_private
        )
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, on_group
        )
    )
    application.add_error_handler(on_error)


async def on_private(update: Update, context: HotlineContext) -> None:
    """A message in a private chat: one engine event, then its replies."""
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        context.count("ignored")
        return
    event = to_event(message)
    chat = context.chat_ref(message.chat_id)
    outcome = await context.engine.handle(chat, event, TelegramFiles(context.bot))
    if outcome.delete_incoming:
        try:
            await message.delete()
        except (BadRequest, Forbidden):
            pass  # too old or not allowed: the reply already advised deleting the chat
    await send_replies(context, message.chat_id, outcome)
    context.count("handled")


async def on_button(update: Update, context: HotlineContext) -> None:
    """An inline button: always answered (the spinner stops), then handled like a message."""
    query: CallbackQuery | None = update.callback_query
    if query is None:
        return
    message = query.message
    if message is None or message.chat.type != ChatType.PRIVATE or query.from_user.is_bot:
        await query.answer()
        context.count("ignored")
        return
    event = Incoming(Kind.BUTTON, text=query.data or "", language_hint=query.from_user.language_code)
    outcome = await context.engine.handle(
        context.chat_ref(message.chat.id), event, TelegramFiles(context.bot)
    )
    await query.answer(text=outcome.notice)
    await send_replies(context, message.chat.id, outcome)
    context.count("handled")


async def on_group(update: Update, context: HotlineContext) -> None:
    """Group messages: point to a private chat; nothing of the group is stored."""
    message = update.message
    if message is None or (message.from_user is not None and message.from_user.is_bot):
        return
    hint = message.from_user.language_code if message.from_user else None
    await send_replies(context, message.chat_id, ChatEngine.not_private(hint))
    context.count("group")


async def on_membership(update: Update, context: HotlineContext) -> None:
    """Blocked in a private chat → unsubscribed and forgotten; added to a group → leave it."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    if change.chat.type == ChatType.PRIVATE:
        if status in (ChatMember.BANNED, ChatMember.LEFT):
            await context.engine.left(context.chat_ref(change.chat.id).key)
            context.count("blocked")
    elif status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED):
        try:
            await context.bot.leave_chat(change.chat.id)
        except TelegramError:
            pass  # already gone
        context.count("left_group")


async def on_error(update: object, context: HotlineContext) -> None:
    """Log the failure without the update (it may identify an informant), and tell a
    private chat that nothing was saved so the person can retry."""
    error = context.error
    frames = "".join(traceback.format_tb(error.__traceback__)) if error is not None else ""
    # Only the type and the code path: exception messages can quote what the user sent.
    log.error("handling an update failed: %s\n%s", type(error).__name__, frames.rstrip())
    context.count("errors")
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == ChatType.PRIVATE
    ):
        try:
            lang = update.effective_user.language_code if update.effective_user else None
            from core.chat.catalogue import language_from_hint, text

            await context.bot.send_message(
                update.effective_chat.id, text("error.not_saved", language_from_hint(lang))
            )
        except TelegramError:
            pass


def to_event(message: Message) -> Incoming:
    """A private message as an engine event. Forwarded texts and links are content like any
    other; a contact or a voice is recognised only to be refused."""
    hint = message.from_user.language_code if message.from_user else None
    if message.text is not None:
        command = _command(message)
        if command is not None:
            name, arg = command
            return Incoming(Kind.COMMAND, text=arg, command=name, language_hint=hint)
        return Incoming(Kind.TEXT, text=message.text, language_hint=hint)
    if message.photo:
        largest = max(message.photo, key=lambda p: p.width * p.height)
        return Incoming(Kind.FILE, file=FileRef(largest.file_id, largest.file_size), language_hint=hint)
    if message.document is not None:
        doc = message.document
        return Incoming(Kind.FILE, file=FileRef(doc.file_id, doc.file_size), language_hint=hint)
    location = message.location or (message.venue.location if message.venue else None)
    if location is not None:
        return Incoming(
            Kind.LOCATION, latitude=location.latitude, longitude=location.longitude, language_hint=hint
        )
    if message.contact is not None:
        return Incoming(Kind.CONTACT, language_hint=hint)
    if message.voice is not None or message.video_note is not None:
        return Incoming(Kind.VOICE, language_hint=hint)
    return Incoming(Kind.OTHER_MEDIA, language_hint=hint)


def _command(message: Message) -> tuple[str, str] | None:
    text = message.text or ""
    if not text.startswith("/") or not message.entities or message.entities[0].type != "bot_command":
        return None
    head, _, arg = text.partition(" ")
    name = head[1:].split("@", 1)[0]
    return name.lower(), arg.strip()


async def send_replies(context: HotlineContext, chat_id: int, outcome: Outcome) -> None:
    for reply in outcome.replies:
        await context.bot.send_message(chat_id, reply.text, reply_markup=markup(reply))


def markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if reply.buttons:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
        )
    if reply.keyboard is None:
        return None
    if not reply.keyboard:
        return ReplyKeyboardRemove()
    asks_location = any(key.request_location for row in reply.keyboard for key in row)
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(k.label, request_location=k.request_location or None) for k in row]
            for row in reply.keyboard
        ],
        resize_keyboard=True,
        one_time_keyboard=asks_location,
        is_persistent=not asks_location,
    )
