"""One normalisation for every triage step, so a lexicon term written once matches
accented, unaccented and teen-code spellings alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from core.text import fold, nfc

#: Longer inputs are cut: a tip's meaning is in its first pages, and the cost must stay bounded.
MAX_CHARS = 20_000

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_GLUED = re.compile(r"([qp])(\d{1,2})")
_GLUED_WORD = re.compile(r"(?<!\S)[qp]\d{1,2}(?!\S)")  # a word `_GLUED` matches whole
# `e`/`a` mean em/anh when a Vietnamese verb or particle follows or a preposition precedes them.
_PRONOUN_NEXT = frozenset(
    "oi co la bi dang da muon can biet thay nghe gap hoi xin nho lam di o cung thi ko khong k".split()
)
_PRONOUN_PREV = frozenset("cho voi giup nho hoi goi bao thua cua ma".split())


@dataclass(frozen=True)
class Normalised:
    """A tip's text as matching sees it."""

    text: str  # NFC, cut to MAX_CHARS
    folded: str  # lower case, no diacritics, spaces squeezed
    tokens: tuple[str, ...]  # folded words, abbreviations expanded
    words: tuple[str, ...]  # folded words as written (`Hồng` is a name, not `hong` = không)

    @property
    def joined(self) -> str:
        """Tokens joined by single spaces, padded, for ` term ` substring matching."""
        return f" {' '.join(self.tokens)} "


def data_text(name: str) -> str:
    """A data file of `core/data/triage/` (works from a wheel as well as a checkout)."""
    return resources.files("core").joinpath("data", "triage", name).read_text(encoding="utf-8")


def data_rows(name: str) -> list[list[str]]:
    """Tab-separated rows of a data file, comments and blank lines skipped."""
    rows = []
    for line in data_text(name).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append([cell.strip() for cell in line.split("\t")])
    return rows


@cache
def abbreviations() -> dict[str, tuple[str, ...]]:
    """Folded abbreviation → its expansion as tokens."""
    return {fold(row[0]): tuple(fold(row[1]).split()) for row in data_rows("abbreviations.tsv")}


def tokenize(folded: str) -> list[str]:
    """Words of folded text (punctuation and symbols dropped)."""
    return _TOKEN.findall(folded)


@cache
def _expandable() -> frozenset[str]:
    return frozenset(abbreviations()) | {"e", "a"}


def expand(tokens: list[str] | tuple[str, ...], *, vietnamese: bool = True) -> tuple[str, ...]:
    """Abbreviations expanded; `e`/`a` only in Vietnamese context, as they are English words too."""
    if not vietnamese or (
        not _expandable().intersection(tokens) and not _GLUED_WORD.search(" ".join(tokens))
    ):
        return tuple(tokens)  # most texts: nothing to expand, found in two C-level passes
    return _expand_each(tokens)


def _expand_each(tokens: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`expand` of a Vietnamese text, word by word."""
    table = abbreviations()
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok in ("e", "a"):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            prev = tokens[i - 1] if i else ""
            if nxt in _PRONOUN_NEXT or prev in _PRONOUN_PREV or i == 0:
                out.append("em" if tok == "e" else "anh")
                continue
        glued = _GLUED.fullmatch(tok)
        if glued:  # q1, p5: district and ward numbers typed without a space
            out.extend(("quan" if glued[1] == "q" else "phuong", glued[2]))
            continue
        out.extend(table.get(tok, (tok,)))
    return tuple(out)


def normalise(text: str, *, vietnamese: bool = True) -> Normalised:
    """NFC, cut, folded, tokenised and expanded."""
    cut = nfc(text[: MAX_CHARS * 2])[:MAX_CHARS]
    folded = fold(cut)
    words = tuple(tokenize(folded))
    return Normalised(text=cut, folded=folded, tokens=expand(words, vietnamese=vietnamese), words=words)
