"""Typed commands, the same on every channel: `/report` or `báo tin`, `/subscribe
students` or `đăng ký học sinh`, with or without the slash and the diacritics."""

from __future__ import annotations

import re

from core.chat.catalogue import LANGUAGES, text
from core.chat.ports import AUDIENCES
from core.text import fold

#: Command names the engine knows (English, as typed after a slash).
NAMES = frozenset(
    {"start", "report", "ask", "status", "subscribe", "unsubscribe", "stop", "help", "cancel", "language"}
)
#: Vietnamese words (folded) for each command; a whole message, or after a slash.
WORDS: dict[str, str] = {
    "bat dau": "start",
    "bao tin": "report",
    "gui tin": "report",
    "hoi": "ask",
    "dat cau hoi": "ask",
    "tra cuu": "status",
    "kiem tra": "status",
    "dang ky": "subscribe",
    "huy dang ky": "unsubscribe",
    "ngung": "stop",
    "ngung nhan": "stop",
    "tro giup": "help",
    "giup": "help",
    "huy": "cancel",
    "ngon ngu": "language",
}
#: Words for the audiences, besides their codes and their catalogue labels.
_AUDIENCE_WORDS: dict[str, str] = {
    "hoc sinh": "student",
    "sinh vien": "student",
    "students": "student",
    "cong nhan": "worker",
    "nguoi lao dong": "worker",
    "workers": "worker",
    "service workers": "service_worker",
    "phu huynh": "parent",
    "parents": "parent",
    "tat ca": "general",
}
_PUNCT = re.compile(r"[^\w /-]+")
_WITH_ARGUMENT = frozenset({"subscribe", "start"})


def _plain(typed: str) -> str:
    return " ".join(_PUNCT.sub(" ", fold(typed)).split())


def parse(typed: str) -> tuple[str, str] | None:
    """(command, argument) for a typed command, or None for ordinary text."""
    stripped = typed.strip()
    slash = stripped.startswith("/")
    body = stripped[1:] if slash else stripped
    head, _, rest = body.partition(" ")
    head = head.split("@", 1)[0]  # Telegram's /start@SomeBot in groups
    if slash and head.lower() in NAMES:
        return head.lower(), rest.strip()
    plain = _plain(f"{head} {rest}" if rest else head)
    if not slash and plain in NAMES:
        return plain, ""
    for phrase in sorted(WORDS, key=len, reverse=True):
        name = WORDS[phrase]
        if plain == phrase:
            return name, ""
        if name in _WITH_ARGUMENT and plain.startswith(phrase + " "):
            return name, plain[len(phrase) + 1 :]
    if not slash and plain.startswith("subscribe "):
        return "subscribe", plain[len("subscribe ") :]
    return None


def normalise(name: str, arg: str) -> tuple[str, str]:
    """A channel's command (`/bao tin` arrives as `bao` + `tin`) in the engine's terms."""
    if name.lower() in NAMES:
        return name.lower(), arg
    parsed = parse(f"/{name} {arg}".strip())
    return parsed if parsed is not None else (name.lower(), arg)


def audience(typed: str) -> str | None:
    """The audience a person named: `hoc sinh`, `students`, `student`, `cha mẹ`…"""
    said = _plain(typed).replace("-", " ")
    if not said:
        return None
    for code in AUDIENCES:
        if said in (code, code.replace("_", " ")):
            return code
        if any(said == _plain(text(f"audience.{code}", lang)) for lang in LANGUAGES):
            return code
    if said in _AUDIENCE_WORDS:
        return _AUDIENCE_WORDS[said]
    return next((code for word, code in _AUDIENCE_WORDS.items() if said.startswith(word)), None)
