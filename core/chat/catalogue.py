"""Bot texts in Vietnamese and English, kept as data (`core/data/chat_messages.json`) so
that translators edit one file and every channel says the same thing."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Literal

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
DEFAULT_LANGUAGE: Language = "vi"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every key, checked once to have a text in every language."""
    raw = resources.files("core").joinpath("data/chat_messages.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(raw)
    missing = [f"{key}.{lang}" for key, texts in data.items() for lang in LANGUAGES if not texts.get(lang)]
    if missing:
        raise RuntimeError(f"chat messages without a translation: {', '.join(missing)}")
    return data


def text(key: str, lang: str, **values: object) -> str:
    """The message `key` in `lang` (Vietnamese when unknown), with `values` filled in."""
    entry = catalogue()[key]
    template = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return template.format(**values) if values else template


def language_from_hint(hint: str | None) -> Language:
    """A channel's locale hint (`en-GB`, `vi`) mapped to the languages we speak."""
    if hint and hint.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def as_language(value: str) -> Language | None:
    return "vi" if value == "vi" else "en" if value == "en" else None
