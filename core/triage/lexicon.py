"""Weighted phrase lexicons loaded once from `core/data/triage/`, matched on normalised tokens.

A term is written once, naturally; it matches accented and unaccented text alike, but in a
text typed with diacritics an accented term must match with its diacritics too, so that
`gấp` (urgent) does not fire on `gặp` (meet).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from operator import itemgetter

from core.text import fold, nfc

from .normalise import Normalised, data_rows, expand, tokenize

# Scripts written without spaces between words (CJK, Thai...) or rarely tokenised alike:
# terms in them are matched as substrings. Vietnamese letters (U+1E00-U+1EFF) are not here.
_CJK = re.compile(r"[\u0370-\u1dff\u2e80-\uffff]")
#: A word's first three letters: prefix terms are indexed by them.
_HEAD = itemgetter(slice(0, 3))


@dataclass(frozen=True)
class Term:
    label: str  # category or urgency cue kind
    weight: float
    text: str  # as written in the data file
    tokens: tuple[str, ...]  # folded, expanded; last one a prefix if `prefix`
    prefix: bool
    accented: re.Pattern[str] | None  # the lower-case NFC form, as a whole word, if it has diacritics


@dataclass(frozen=True)
class Hit:
    term: Term

    @property
    def label(self) -> str:
        return self.term.label


class Lexicon:
    """Terms indexed by their first token; CJK terms matched as substrings."""

    def __init__(self, rows: list[tuple[str, float, str]]) -> None:
        self._by_first: dict[str, list[Term]] = defaultdict(list)
        self._prefixes: list[Term] = []
        self._cjk: list[Term] = []
        self._prefix_index: dict[str, list[Term]] = defaultdict(list)
        for label, weight, raw in rows:
            prefix = raw.endswith("*")
            text = nfc(raw.rstrip("*"))
            folded = fold(text)
            accented = (
                re.compile(rf"(?<!\w){re.escape(text.lower())}(?!\w)")
                if folded != " ".join(text.lower().split())
                else None
            )
            if _CJK.search(text) or (text.isascii() and text.isupper()):  # KTV inside Chinese text
                self._cjk.append(Term(label, weight, text, (folded,), False, None))
                continue
            tokens = expand(tokenize(folded))
            if not tokens:
                continue
            term = Term(label, weight, text, tokens, prefix, accented)
            if prefix and len(tokens) == 1:
                self._prefixes.append(term)
                self._prefix_index[tokens[0][:3]].append(term)
            else:
                self._by_first[tokens[0]].append(term)
        # Looked up against a text's words in one C-level pass: most words start no term.
        self._firsts = frozenset(self._by_first)
        self._heads = frozenset(self._prefix_index)

    def vocabulary(self) -> list[tuple[str, ...]]:
        """Token tuples of every word term (for telling venue names from ordinary words)."""
        return [t.tokens for terms in self._by_first.values() for t in terms]

    @classmethod
    def from_file(cls, name: str, *, weighted: bool = True) -> Lexicon:
        rows = []
        for row in data_rows(name):
            if weighted:
                rows.append((row[0], float(row[1]), row[2]))
            else:
                rows.append((row[0], 1.0, row[1]))
        return cls(rows)

    def match(self, norm: Normalised, *, accented_text: bool) -> list[Hit]:
        """Each term found in the text, once."""
        tokens = norm.tokens
        lowered = norm.text.lower() if accented_text else ""
        seen: set[int] = set()
        hits: list[Hit] = []

        def keep(term: Term) -> None:
            if id(term) in seen:
                return
            if term.accented is not None:
                if accented_text and not term.accented.search(lowered):
                    return
                # one accented letter or two, folded, is too many words at once (`ạ` → `a`)
                if not accented_text and len(term.tokens) == 1 and len(term.tokens[0]) <= 2:
                    return
            seen.add(id(term))
            hits.append(Hit(term))

        present = self._firsts.intersection(tokens)
        for i in [i for i, tok in enumerate(tokens) if tok in present] if present else ():
            for term in self._by_first[tokens[i]]:
                k = len(term.tokens)
                window = tokens[i : i + k]
                if len(window) < k:
                    continue
                if term.prefix:
                    if window[:-1] == term.tokens[:-1] and window[-1].startswith(term.tokens[-1]):
                        keep(term)
                elif window == term.tokens:
                    keep(term)
        heads = self._heads.intersection(map(_HEAD, tokens)) if self._prefixes else ()
        if heads:
            for tok in tokens:
                if tok[:3] in heads:
                    for term in self._prefix_index[tok[:3]]:
                        if tok.startswith(term.tokens[0]):
                            keep(term)
        if self._cjk and _CJK.search(norm.folded):
            for term in self._cjk:
                if term.tokens[0] in norm.folded:
                    keep(term)
        return hits
