"""Text folding shared by search and matching: what people type without diacritics."""

from __future__ import annotations

import unicodedata

# `Ð` (U+00D0, eth) is what some keyboards and OCR produce for `Đ`.
_EXTRA = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def fold(text: str) -> str:
    """Lower case, Vietnamese diacritics removed (`Đồng Hới` → `dong hoi`), spaces squeezed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def nfc(text: str) -> str:
    """Unicode NFC: the same Vietnamese letter typed on different keyboards compares equal."""
    return unicodedata.normalize("NFC", text)
