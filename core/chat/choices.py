"""Choices answered by typing: every button or menu key the bot shows can also be chosen
by its number or its word, with or without diacritics, so a channel without buttons
(Zalo) runs the same flows, and a Telegram user who types instead of tapping is understood.
"""

from __future__ import annotations

import re

from core.chat.events import Incoming, Kind, Outcome, Reply
from core.text import fold

#: (label, kind, value): kind "b" answers as the button's data, "k" as the key's text.
Choice = tuple[str, str, str]
_NOT_WORD = re.compile(r"[^\w ]+")


def _plain(label: str) -> str:
    """A label as a person would type it: no emoji or punctuation, no diacritics."""
    return " ".join(_NOT_WORD.sub(" ", fold(label)).split())


def offered(outcome: Outcome) -> list[Choice]:
    """The choices of the last reply that offered any (a location key cannot be typed)."""
    for reply in reversed(outcome.replies):
        choices = reply_choices(reply)
        if choices:
            return choices
    return []


def reply_choices(reply: Reply) -> list[Choice]:
    if reply.buttons:
        return [(b.label, "b", b.data) for row in reply.buttons for b in row]
    if reply.keyboard:
        return [(k.label, "k", k.label) for row in reply.keyboard for k in row if not k.request_location]
    return []


def match(typed: str, choices: list[Choice], language_hint: str | None = None) -> Incoming | None:
    """The event a typed answer stands for: `2`, `2.`, `xong` or `Xong` for the second
    choice `Xong`; None when it answers none of them."""
    if not choices:
        return None
    said = _plain(typed)
    picked: Choice | None = None
    if said.isdigit() and len(said) <= 3 and 1 <= int(said) <= len(choices):
        picked = choices[int(said) - 1]
    else:
        picked = next((c for c in choices if said and _plain(c[0]) == said), None)
    if picked is None:
        return None
    label, kind, value = picked
    if kind == "b":
        return Incoming(Kind.BUTTON, text=value, language_hint=language_hint)
    return Incoming(Kind.TEXT, text=label, language_hint=language_hint)


def numbered(reply: Reply) -> Reply:
    """The reply for a channel without buttons: one numbered option per line."""
    choices = reply_choices(reply)
    if not choices:
        return Reply(reply.text)
    lines = "\n".join(f"{i}. {label}" for i, (label, _, _) in enumerate(choices, 1))
    return Reply(f"{reply.text}\n\n{lines}")
