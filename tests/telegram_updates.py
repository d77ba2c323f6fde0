"""Builders of real Bot API `Update` JSON, as Telegram posts it to a webhook.

One `TelegramUser` is one person with a private chat; its identifiers are what the privacy
check later searches the database and the logs for.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

_update_ids = itertools.count(500_000_001)
_message_ids = itertools.count(1)


def next_update_id() -> int:
    return next(_update_ids)


@dataclass
class TelegramUser:
    user_id: int = 918_273_645
    username: str = "lan_hoa_sg1999"
    first_name: str = "Nguyễn Thị Lan"
    phone: str = "+84912345678"
    language_code: str = "vi"
    is_bot: bool = False
    last_bot_message_id: int = field(default=0)

    @property
    def chat_id(self) -> int:
        return self.user_id

    def user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": self.is_bot,
            "first_name": self.first_name,
            "username": self.username,
            "language_code": self.language_code,
        }

    def chat(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "type": "private",
            "first_name": self.first_name,
            "username": self.username,
        }

    def message(self, **content: Any) -> dict[str, Any]:
        return update(
            message={
                "message_id": next(_message_ids),
                "date": int(time.time()),
                "from": self.user(),
                "chat": self.chat(),
                **content,
            }
        )

    def text(self, text: str, **extra: Any) -> dict[str, Any]:
        return self.message(text=text, **extra)

    def command(self, name: str, arg: str = "") -> dict[str, Any]:
        text = f"/{name}" + (f" {arg}" if arg else "")
        return self.message(
            text=text, entities=[{"type": "bot_command", "offset": 0, "length": len(name) + 1}]
        )

    def tap(self, data: str, message_id: int = 1) -> dict[str, Any]:
        return update(
            callback_query={
                "id": str(next(_message_ids)),
                "from": self.user(),
                "chat_instance": "-4242",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": self.chat(),
                    "from": {"id": 1, "is_bot": True, "first_name": "Hotline"},
                    "text": "…",
                },
            }
        )

    def photo(self, file_id: str, size: int) -> dict[str, Any]:
        return self.message(
            photo=[
                {
                    "file_id": f"{file_id}-thumb",
                    "file_unique_id": "t1",
                    "width": 90,
                    "height": 60,
                    "file_size": 900,
                },
                {"file_id": file_id, "file_unique_id": "p1", "width": 1280, "height": 853, "file_size": size},
            ]
        )

    def document(self, file_id: str, size: int, name: str = "evidence.pdf") -> dict[str, Any]:
        return self.message(
            document={
                "file_id": file_id,
                "file_unique_id": "d1",
                "file_name": name,
                "mime_type": "application/pdf",
                "file_size": size,
            }
        )

    def location(self, latitude: float, longitude: float) -> dict[str, Any]:
        return self.message(location={"latitude": latitude, "longitude": longitude})

    def contact(self) -> dict[str, Any]:
        return self.message(
            contact={"phone_number": self.phone, "first_name": self.first_name, "user_id": self.user_id}
        )

    def voice(self) -> dict[str, Any]:
        return self.message(
            voice={"file_id": "voice-1", "file_unique_id": "v1", "duration": 4, "mime_type": "audio/ogg"}
        )

    def sticker(self) -> dict[str, Any]:
        return self.message(
            sticker={
                "file_id": "sticker-1",
                "file_unique_id": "s1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        )

    def edited(self, text: str) -> dict[str, Any]:
        return update(
            edited_message={
                "message_id": next(_message_ids),
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "from": self.user(),
                "chat": self.chat(),
                "text": text,
            }
        )

    def membership(self, old: str, new: str) -> dict[str, Any]:
        bot = {"id": 7_000_000_001, "is_bot": True, "first_name": "Hotline"}
        return update(
            my_chat_member={
                "chat": self.chat(),
                "from": self.user(),
                "date": int(time.time()),
                "old_chat_member": _member(old, bot),
                "new_chat_member": _member(new, bot),
            }
        )

    def reaction(self) -> dict[str, Any]:
        return update(
            message_reaction={
                "chat": self.chat(),
                "message_id": 5,
                "user": self.user(),
                "date": int(time.time()),
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        )


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "kicked":
        member["until_date"] = 0
    if status == "administrator":
        member.update(
            can_be_edited=False, is_anonymous=False, can_manage_chat=True, can_delete_messages=False,
            can_manage_video_chats=False, can_restrict_members=False, can_promote_members=False,
            can_change_info=False, can_invite_users=True, can_post_stories=False, can_edit_stories=False,
            can_delete_stories=False,
        )  # fmt: skip
    return member


def update(**body: Any) -> dict[str, Any]:
    return {"update_id": next_update_id(), **body}


def group_message(user: TelegramUser, text: str, chat_id: int = -100_555_000_111) -> dict[str, Any]:
    return update(
        message={
            "message_id": next(_message_ids),
            "date": int(time.time()),
            "from": user.user(),
            "chat": {"id": chat_id, "type": "supergroup", "title": "Nhóm bạn bè"},
            "text": text,
        }
    )


def added_to_group(user: TelegramUser, chat_id: int = -100_555_000_222) -> dict[str, Any]:
    bot = {"id": 7_000_000_001, "is_bot": True, "first_name": "Hotline"}
    return update(
        my_chat_member={
            "chat": {"id": chat_id, "type": "supergroup", "title": "Nhóm lạ"},
            "from": user.user(),
            "date": int(time.time()),
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": {"status": "member", "user": bot},
        }
    )


def channel_post(text: str, chat_id: int = -100_777_000_333) -> dict[str, Any]:
    return update(
        channel_post={
            "message_id": next(_message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "channel", "title": "Kênh tin"},
            "text": text,
        }
    )


def unknown_update_type() -> dict[str, Any]:
    """A field Telegram may add in a future API version; the library does not know it."""
    return update(
        purchased_paid_media_v99={"from": {"id": 1, "is_bot": False, "first_name": "X"}, "payload": "p"}
    )
