"""The knowledge base as data: `core/data/knowledge.json`, one entry per topic, each with
phrasings of the question and one answer in every language."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES: tuple[str, ...] = ("vi", "en")


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    questions: dict[str, tuple[str, ...]]
    answers: dict[str, str]

    def answer(self, lang: str) -> str:
        return self.answers.get(lang) or self.answers["vi"]

    def question(self, lang: str) -> str:
        """The entry's first phrasing: a title for it."""
        return (self.questions.get(lang) or self.questions["vi"])[0]


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        ids = [e.id for e in self.entries]
        if len(ids) != len(set(ids)):
            raise ValueError("knowledge base: entry ids must be unique")

    def get(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KnowledgeBase:
        entries = []
        for raw in data["entries"]:
            missing = [lang for lang in LANGUAGES if not raw.get(lang, {}).get("answer")]
            if missing or not all(raw[lang].get("questions") for lang in LANGUAGES):
                raise ValueError(f"knowledge base: entry {raw.get('id')} lacks {missing or 'questions'}")
            entries.append(
                Entry(
                    id=str(raw["id"]),
                    topic=str(raw.get("topic", "")),
                    questions={lang: tuple(raw[lang]["questions"]) for lang in LANGUAGES},
                    answers={lang: str(raw[lang]["answer"]) for lang in LANGUAGES},
                )
            )
        return cls(tuple(entries))


@cache
def load_knowledge() -> KnowledgeBase:
    """The shipped knowledge base, read and checked once per process."""
    raw = resources.files("core").joinpath("data/knowledge.json").read_text(encoding="utf-8")
    return KnowledgeBase.from_dict(json.loads(raw))
