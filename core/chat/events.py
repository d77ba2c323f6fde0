"""What a person did in a chat, and what the bot answers, in channel-neutral terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    COMMAND = "command"  # `/start tip`: name in `command`, argument in `text`
    TEXT = "text"  # typed, forwarded, or a reply-keyboard tap
    BUTTON = "button"  # an inline button: its data in `text`
    LOCATION = "location"
    FILE = "file"  # a photo or document: `file` says which and how big
    CONTACT = "contact"  # a shared phone contact: never stored
    VOICE = "voice"  # voice and video notes: refused, a voice identifies its speaker
    OTHER_MEDIA = "other_media"  # stickers, video, audio, polls...


@dataclass(frozen=True)
class FileRef:
    """A file the channel holds for us; fetched only when needed, through `FileSource`."""

    ref: str
    size: int | None = None


@dataclass(frozen=True)
class Incoming:
    kind: Kind
    text: str = ""
    command: str = ""
    file: FileRef | None = None
    latitude: float | None = None
    longitude: float | None = None
    #: The channel's locale for the person (Telegram's `language_code`), used on first contact.
    language_hint: str | None = None


@dataclass(frozen=True)
class Button:
    """An inline button; `data` comes back as an `Incoming` of kind BUTTON."""

    label: str
    data: str


@dataclass(frozen=True)
class KeyboardKey:
    """A key of the persistent keyboard; a tap comes back as TEXT equal to `label`."""

    label: str
    request_location: bool = False


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    #: None leaves the current keyboard; () removes it; rows replace it.
    keyboard: tuple[tuple[KeyboardKey, ...], ...] | None = None


@dataclass
class Outcome:
    """Everything the channel must do for one incoming event."""

    replies: list[Reply] = field(default_factory=list)
    #: Delete the person's message (it held a passphrase), where the channel allows it.
    delete_incoming: bool = False
    #: A short notice shown on the pressed button (Telegram's answerCallbackQuery text).
    notice: str | None = None

    def say(
        self,
        text: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
        keyboard: tuple[tuple[KeyboardKey, ...], ...] | None = None,
    ) -> None:
        self.replies.append(Reply(text, buttons, keyboard))
