"""A proposal's reasons in the officer's words (Vietnamese first, English second).

The engine records each reason as a code with arguments (`Proposal.explanations`); the words
live in `core/data/triage/explanations.tsv`, so pages, the bot and exports show the same
sentences, and no internal code or score reaches an officer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from .normalise import data_rows

LANGUAGES = ("vi", "en")


@cache
def _words() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {"vi": {}, "en": {}}
    for row in data_rows("explanations.tsv"):
        key, vi, en = row[0], row[1], row[2]
        table["vi"][key] = vi
        table["en"][key] = en
    return table


def word(key: str, lang: str = "vi") -> str:
    """One entry of the table (`category.minor`, `language.vi`...), or the key if unknown."""
    return _words()["en" if lang == "en" else "vi"].get(key, key)


def _line(code: str, args: Mapping[str, object], lang: str) -> str | None:
    w = _words()["en" if lang == "en" else "vi"]
    if code == "category":
        return w["category"].format(
            category=word(f"category.{args.get('category')}", lang),
            rule=word(f"rule.{args.get('rule')}", lang),
        )
    if code == "terms":
        terms = args.get("terms")
        if not isinstance(terms, Sequence) or isinstance(terms, str) or not terms:
            return None
        return w["terms"].format(terms=", ".join(f"“{t}”" for t in terms))
    if code == "age":
        return w["age"].format(age=args.get("age"))
    if code == "urgent":
        because = args.get("because")
        kinds = list(because) if isinstance(because, Sequence) and not isinstance(because, str) else []
        return w["urgent"].format(because="; ".join(word(f"because.{k}", lang) for k in kinds))
    if code == "language":
        key = "language_carried" if args.get("carried") else "language"
        return w[key].format(language=word(f"language.{args.get('language')}", lang))
    if code == "place":
        return w["place"].format(name=args.get("name") or args.get("commune_code"))
    if code == "place_candidates":
        return w["place_candidates"].format(count=args.get("count"))
    if code == "duplicate":
        return w["duplicate"].format(key=args.get("key"), how=word(f"how.{args.get('how')}", lang))
    return None


def render(proposal: Mapping[str, object] | None, lang: str = "vi") -> list[str]:
    """The reasons of a stored proposal (`Proposal.to_dict()`) as sentences in `lang`.

    Proposals stored before explanations existed give an empty list (pages then show none)."""
    if not proposal:
        return []
    items = proposal.get("explanations")
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("code"), str):
            try:
                line = _line(str(item["code"]), item, lang)
            except (KeyError, IndexError, ValueError):
                line = None
            if line:
                out.append(line)
    return out
