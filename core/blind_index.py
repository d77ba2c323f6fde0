"""A blind index of tip words: the staff search without the words in the database.

Each folded word (lower case, no diacritics: `core.text.fold`) of a tip's text and place is
stored only as a keyed hash (HMAC-SHA256 under a key derived from the master key, cut to a
signed 64-bit integer), once per tip. A search hashes its words the same way and asks for
tips holding every one of them: whole words only (docs/security.md says why not prefixes).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from core.text import fold

#: A word: a run of letters and digits (after folding); punctuation and `_` separate words.
_WORD = re.compile(r"[^\W_]+")
#: Longer "words" (a pasted link, a base64 blob) are cut: nobody types 64 letters to search.
MAX_WORD = 64
#: Words indexed per tip at most; a 10,000-character tip has ~2,000 words, ~600 distinct.
MAX_WORDS = 1000


def words(*texts: str | None) -> list[str]:
    """The distinct folded words of the texts, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for word in _WORD.findall(fold(text)):
            seen.setdefault(word[:MAX_WORD], None)
            if len(seen) >= MAX_WORDS:
                return list(seen)
    return list(seen)


#: HMAC state after the key and the domain prefix, per key: a word costs one copy and one
#: update instead of re-keying (half the time of a tip's tokens).
_KEYED: dict[bytes, hmac.HMAC] = {}


def _keyed(key: bytes) -> hmac.HMAC:
    state = _KEYED.get(key)
    if state is None:
        state = hmac.new(key, b"w\x1f", hashlib.sha256)
        if len(_KEYED) < 16:  # the current and previous index keys; never grows past a few
            _KEYED[key] = state
    return state


def token(key: bytes, word: str) -> int:
    """The word's keyed hash, HMAC-SHA256(key, "w" 0x1f word) cut to a signed 64-bit
    integer (fits a BIGINT column)."""
    state = _keyed(key).copy()
    state.update(word.encode())
    return int.from_bytes(state.digest()[:8], "big", signed=True)


def tokens(key: bytes, *texts: str | None) -> list[int]:
    """What a tip stores: one token per distinct word of its text and place."""
    return list(dict.fromkeys(token(key, word) for word in words(*texts)))


def query_tokens(keys: Sequence[bytes], text: str) -> list[tuple[int, ...]]:
    """A search's words, each as its tokens under every index key in use (one key, or two
    during a rotation): a tip matches if, for every word, it holds one of its tokens."""
    return [tuple(dict.fromkeys(token(key, word) for key in keys)) for word in words(text)]


