"""Vietnamese alphabetical order: a sort key over the Vietnamese alphabet.

Plain code-point order puts "Đ" after "Z" and "Ă" after every Latin letter; a reader
expects a ă â b c d đ e ê ... with the tone marks deciding last. No ICU dependency.
"""

from __future__ import annotations

import unicodedata
from functools import cache

#: Base letters in dictionary order; each letter's rank is its position here.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {letter: index for index, letter in enumerate(_ALPHABET)}
#: Tone marks in dictionary order: none, grave, hook, tilde, acute, dot below.
_TONES = {"": 0, "\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
#: Marks that make a different letter (breve, circumflex, horn), kept with the base.
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}


@cache
def _split(char: str) -> tuple[str, int]:
    """A character as (base letter with its letter marks, tone rank); remembered, as names
    draw on a few hundred characters and every page with a commune list sorts them."""
    decomposed = unicodedata.normalize("NFD", char.lower())
    base = "".join(c for c in decomposed if not unicodedata.combining(c) or c in _LETTER_MARKS)
    tone = next((_TONES[c] for c in decomposed if c in _TONES and c != ""), 0)
    return unicodedata.normalize("NFC", base), tone


def clean_name(name: str) -> str:
    """A place name with runs of spaces (and stray edges) collapsed to single spaces."""
    return " ".join(name.split())


def vietnamese_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sort key: letters by the Vietnamese alphabet first, then tone marks, so that
    "Đ" follows "D" and "Ă" follows "A"; characters outside it sort after the letters."""
    letters: list[int] = []
    tones: list[int] = []
    for char in clean_name(text):
        base, tone = _split(char)
        if base in _RANK:
            letters.append(_RANK[base])
        elif base.isdigit():
            letters.append(-10 + int(base))
        elif base == " ":
            letters.append(-20)
        else:
            letters.append(len(_ALPHABET) + ord(base[:1] or " "))
        tones.append(tone)
    return tuple(letters), tuple(tones)
