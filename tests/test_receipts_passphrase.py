"""Receipt codes and passphrases: readable, checkable, and only a hash is kept."""

from __future__ import annotations

import math

from core import receipts
from core.passphrases import (
    PEPPERED,
    WORDS_IN_PASSPHRASE,
    PassphraseHasher,
    new_passphrase,
    normalise,
    pepper_from,
    word_list,
)


def test_word_list_is_plain_and_large_enough() -> None:
    words = word_list()
    assert len(words) == len(set(words)) >= 256
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)
    assert WORDS_IN_PASSPHRASE * math.log2(len(words)) > 40  # bits


def test_passphrases_are_fresh_and_verify_loosely() -> None:
    hasher = PassphraseHasher(time_cost=1, memory_kib=1024)
    first, second = new_passphrase(), new_passphrase()
    assert first != second and len(first.split()) == WORDS_IN_PASSPHRASE
    stored = hasher.hash(first)
    assert stored.startswith("$argon2id$") and first not in stored
    assert hasher.verify(stored, first.upper().replace(" ", "-"))
    assert not hasher.verify(stored, second)
    assert not hasher.verify(None, first)  # no hash: dummy work, never a match
    assert not hasher.verify("not a hash", first)
    assert normalise("  Hoa  LÁ-cây ") == "hoa la cay"


def test_receipt_codes_catch_typos() -> None:
    code = receipts.new_receipt_code()
    assert receipts.normalise(receipts.display(code).lower()) == code
    typo = code[:3] + ("0" if code[3] != "0" else "1") + code[4:]
    assert receipts.normalise(typo) is None
    swapped = code[1] + code[0] + code[2:]
    assert code[0] == code[1] or receipts.normalise(swapped) is None
    assert receipts.normalise("short") is None


def test_peppered_hashes_need_the_key_and_old_hashes_still_verify() -> None:
    pepper = pepper_from(b"k" * 32)
    hasher = PassphraseHasher(time_cost=1, memory_kib=1024, pepper=pepper)
    phrase = new_passphrase()
    stored = hasher.hash(phrase)
    assert stored.startswith(PEPPERED + "$argon2id$") and phrase not in stored
    assert hasher.verify(stored, phrase.upper())
    assert not hasher.verify(stored, new_passphrase())
    # A stolen database is no use without the key: the stored hash is not of the passphrase.
    assert not PassphraseHasher(time_cost=1, memory_kib=1024).verify(stored, phrase)
    assert not PassphraseHasher(time_cost=1, memory_kib=1024, pepper=pepper_from(b"x" * 32)).verify(stored, phrase)
    # Hashes written before the pepper existed keep working after it is configured.
    legacy = PassphraseHasher(time_cost=1, memory_kib=1024).hash(phrase)
    assert hasher.verify(legacy, phrase) and not hasher.verify(legacy, new_passphrase())
    assert not hasher.verify(None, phrase)


def test_one_draw_per_code_and_phrase_still_reaches_every_symbol() -> None:
    """Codes and phrases are drawn in one read of the random source; every letter of the
    alphabet and nearly every word must still turn up, in every position."""
    codes = [receipts.new_receipt_code() for _ in range(3000)]
    for position in range(receipts.RANDOM_LENGTH):
        assert {code[position] for code in codes} == set(receipts.ALPHABET)
    phrases = [new_passphrase().split() for _ in range(3000)]
    for position in range(WORDS_IN_PASSPHRASE):
        seen = {words[position] for words in phrases}
        assert len(seen) > 0.95 * len(word_list())  # 3,000 draws of 360 words miss almost none
