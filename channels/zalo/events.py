"""A Zalo webhook body as a core chat event. Both shapes are read: the platform's
`{"ok": true, "result": {...}}` and the bare inner object some senders post.

Only what the conversation needs is kept: the chat id (hashed at once by the runtime),
the message id (for dropping redeliveries) and the content. The sender's id, display
name and avatar are never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.chat.events import FileRef, Incoming, Kind

#: A message id or chat id longer than this is not the platform's.
MAX_ID = 128
#: Zalo's own text limit is 2,000 characters; a longer incoming text is cut, not refused.
MAX_TEXT_IN = 4000


class Handling(StrEnum):
    CHAT = "chat"  # a private message for the engine
    GROUP = "group"  # a group message: at most one pointer to a private chat
    UNSUPPORTED = "unsupported"  # a protected account's message the bot cannot read
    IGNORED = "ignored"  # from a bot, or an event kind we do not handle


@dataclass(frozen=True)
class ZaloEvent:
    handling: Handling
    chat_id: str
    message_id: str
    incoming: Incoming | None = None

    def __repr__(self) -> str:  # never print the chat id
        return f"ZaloEvent({self.handling.value})"


def _id(value: object, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValueError(f"the event has no usable {what}")
    return value


def parse_event(payload: dict[str, Any]) -> ZaloEvent:
    """Raise ValueError for a body that is not a Zalo event (answered 400)."""
    inner: Any = payload.get("result") if "result" in payload else payload
    if not isinstance(inner, dict):
        raise ValueError("the event is not an object")
    name = inner.get("event_name")
    message = inner.get("message")
    if not isinstance(name, str) or not isinstance(message, dict):
        raise ValueError("the event has no event_name or message")
    chat = message.get("chat")
    if not isinstance(chat, dict):
        raise ValueError("the event has no chat")
    chat_id = _id(chat.get("id"), "chat id")
    message_id = _id(message.get("message_id"), "message id")
    sender = message.get("from")
    if isinstance(sender, dict) and sender.get("is_bot") is True:
        return ZaloEvent(Handling.IGNORED, chat_id, message_id)
    chat_type = chat.get("chat_type", "PRIVATE")
    if isinstance(chat_type, str) and chat_type.upper() != "PRIVATE":
        return ZaloEvent(Handling.GROUP, chat_id, message_id)
    if name == "message.unsupported.received":
        return ZaloEvent(Handling.UNSUPPORTED, chat_id, message_id)
    incoming = _incoming(name, message)
    if incoming is None:
        return ZaloEvent(Handling.IGNORED, chat_id, message_id)
    return ZaloEvent(Handling.CHAT, chat_id, message_id, incoming)


def _incoming(name: str, message: dict[str, Any]) -> Incoming | None:
    if name == "message.text.received":
        text = message.get("text")
        if not isinstance(text, str):
            raise ValueError("a text event without text")
        return Incoming(Kind.TEXT, text=text[:MAX_TEXT_IN])
    if name == "message.image.received":
        photo = message.get("photo") or message.get("photo_url")
        if not isinstance(photo, str) or len(photo) > 2048:
            raise ValueError("an image event without a photo URL")
        return Incoming(Kind.FILE, file=FileRef(photo))
    if name == "message.sticker.received":
        return Incoming(Kind.OTHER_MEDIA)
    if name == "message.voice.received":
        return Incoming(Kind.VOICE)
    return None
