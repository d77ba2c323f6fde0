"""Passphrases a reporter writes down with the receipt code, and their argon2 hashes.

Five words from a shipped list of short, common Vietnamese words written without
diacritics (360 words, about 42 bits): easy to copy on a cheap phone or read over the
phone, and far beyond guessing under the per-receipt rate limits. Only an argon2id hash is
stored. The parameters are lighter than for staff passwords on purpose: the secret is
machine-drawn with known entropy (no dictionary of human choices to try), and a slow hash
on every submission would cap intake at a few dozen tips per second on our 2-core machines.
"""

from __future__ import annotations

import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.text import fold

WORDS_IN_PASSPHRASE = 5


@cache
def word_list() -> tuple[str, ...]:
    text = resources.files("core").joinpath("data/passphrase_words.txt").read_text(encoding="utf-8")
    words = tuple(sorted({w.strip() for w in text.split() if w.strip()}))
    if len(words) < 256:
        raise RuntimeError("the passphrase word list is too short")
    return words


def new_passphrase(words: int = WORDS_IN_PASSPHRASE) -> str:
    """A fresh passphrase: `words` words drawn independently, joined by spaces."""
    pool = word_list()
    return " ".join(secrets.choice(pool) for _ in range(words))


def normalise(text: str) -> str:
    """What we hash and compare: case, diacritics, dashes and extra spaces do not matter."""
    return " ".join(fold(text.replace("-", " ").replace(".", " ").replace(",", " ")).split())


class PassphraseHasher:
    """argon2id with configurable cost; `verify` does the same work for a missing hash."""

    def __init__(self, *, time_cost: int = 1, memory_kib: int = 2048) -> None:
        self._argon = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy = self._argon.hash("not a real passphrase")

    def hash(self, passphrase: str) -> str:
        return self._argon.hash(normalise(passphrase))

    def verify(self, stored: str | None, passphrase: str) -> bool:
        """True only when `stored` exists and matches; constant work either way."""
        try:
            self._argon.verify(stored or self._dummy, normalise(passphrase))
        except (VerificationError, InvalidHashError):
            return False
        return bool(stored)
