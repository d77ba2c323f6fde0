"""Text folding shared by search and matching: what people type without diacritics."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# `Ð` (U+00D0, eth) is what some keyboards and OCR produce for `Đ`. None of these four
# decomposes, so mapping them after NFD is the same as before it.
_EXTRA = (("đ", "d"), ("Đ", "D"), ("ð", "d"), ("Ð", "D"))


def _combining_marks() -> re.Pattern[str]:
    """Every combining mark of the Basic Multilingual Plane (Vietnamese tones and vowel
    marks are all there) as one character class: a C-level regex removes them several times
    faster than `str.translate`, which looks each character up in a dict."""
    marks = [cp for cp in range(0x10000) if unicodedata.combining(chr(cp))]
    ranges: list[list[int]] = []
    for cp in marks:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]+")


_MARKS = _combining_marks()


#: Texts up to this long (words, names, short phrases) are folded once and remembered.
CACHED_LENGTH = 64


def fold(text: str) -> str:
    """Lower case, Vietnamese diacritics removed (`Đồng Hới` → `dong hoi`), spaces squeezed.

    Short texts are cached: triage folds the same words over and over (lexicon, places,
    names). Whole tips are not: 16,384 of them at 10,000 characters would hold ~650 MB."""
    return _fold_short(text) if len(text) <= CACHED_LENGTH else _fold(text)


def _fold(text: str) -> str:
    if text.isascii():  # unaccented Vietnamese, as typed on many phones: nothing to strip
        return " ".join(text.lower().split())
    stripped = _MARKS.sub("", unicodedata.normalize("NFD", text))
    for letter, plain in _EXTRA:
        if letter in stripped:
            stripped = stripped.replace(letter, plain)
    if max(stripped, default="") > "\uffff":  # rare: a mark outside the BMP (a table would cost 0.1 s)
        stripped = "".join(ch for ch in stripped if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


_fold_short = lru_cache(maxsize=16_384)(_fold)


def nfc(text: str) -> str:
    """Unicode NFC: the same Vietnamese letter typed on different keyboards compares equal."""
    return unicodedata.normalize("NFC", text)
