"""Passphrases a reporter writes down with the receipt code, and their argon2 hashes.

Five words from a shipped list of short, common Vietnamese words written without
diacritics (360 words, about 42 bits): easy to copy on a cheap phone or read over the
phone, and far beyond guessing under the per-receipt rate limits. Only an argon2id hash is
stored, of the passphrase keyed with a *pepper*: an HMAC key derived from the deployment's
secret key, which lives outside the database. A stolen database (a leaked backup, an
injection) then gives an attacker nothing to guess against offline; someone with the key as
well already holds the server. That is why the argon2 cost can be light (t=1, 1 MiB, under
a millisecond): the secret is machine-drawn with known entropy (no dictionary of human
choices to try), and a slow hash on every submission would cap intake on our 2-core
machines. Hashes stored without a pepper (before it existed) keep verifying.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.text import fold

WORDS_IN_PASSPHRASE = 5
#: Marks a hash of the peppered passphrase (version 1: HMAC-SHA256, hex), ahead of argon2's own
#: `$argon2id$...` string; a hash without it is of the plain passphrase.
PEPPERED = "p1"


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
    # One uniform draw of the whole phrase (one read of the random source), written in base
    # len(pool): each digit is one word, independent and uniform like separate draws.
    draw = secrets.randbelow(len(pool) ** words)
    chosen = []
    for _ in range(words):
        draw, index = divmod(draw, len(pool))
        chosen.append(pool[index])
    return " ".join(chosen)


def normalise(text: str) -> str:
    """What we hash and compare: case, diacritics, dashes and extra spaces do not matter."""
    return " ".join(fold(text.replace("-", " ").replace(".", " ").replace(",", " ")).split())


def pepper_from(secret_key: bytes) -> bytes:
    """The pepper: a key of its own derived from the secret key (which also keys chat hashes),
    so neither use can be turned against the other."""
    return hmac.new(secret_key, b"hotline passphrase pepper v1", hashlib.sha256).digest()


class PassphraseHasher:
    """argon2id with configurable cost, over the peppered passphrase when a pepper is given;
    `verify` does the same work for a missing hash."""

    def __init__(self, *, time_cost: int, memory_kib: int, pepper: bytes | None = None) -> None:
        self._argon = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._pepper = pepper
        self._dummy = self.hash("not a real passphrase")

    def hash(self, passphrase: str) -> str:
        if self._pepper is None:
            return self._argon.hash(normalise(passphrase))
        return PEPPERED + self._argon.hash(self._peppered(passphrase))

    def verify(self, stored: str | None, passphrase: str) -> bool:
        """True only when `stored` exists and matches; constant work either way."""
        target = stored or self._dummy
        if target.startswith(PEPPERED + "$"):
            secret = self._peppered(passphrase) if self._pepper is not None else ""
            target = target[len(PEPPERED) :]
        else:
            secret = normalise(passphrase)
        try:
            self._argon.verify(target, secret)
        except (VerificationError, InvalidHashError):
            return False
        return bool(stored)

    def _peppered(self, passphrase: str) -> str:
        assert self._pepper is not None
        return hmac.new(self._pepper, normalise(passphrase).encode(), hashlib.sha256).hexdigest()
