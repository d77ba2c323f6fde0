"""Receipt codes a reporter can read over the phone.

Ten characters from Crockford's base-32 alphabet (no I, L, O or U), nine random and one
Luhn mod-32 check character, shown as `XXXXX-XXXXX`. 45 random bits make guessing hopeless
under the rate limits, and the check character catches a mistyped character or a swap of
two neighbours before the database is asked.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
assert 256 % len(ALPHABET) == 0, "new_receipt_code needs the alphabet's size to divide 256"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
# What people type for the letters the alphabet leaves out.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
RANDOM_LENGTH = 9
LENGTH = RANDOM_LENGTH + 1


def _check_char(body: str) -> str:
    """Luhn mod N over the alphabet."""
    n = len(ALPHABET)
    total, factor = 0, 2
    for ch in reversed(body):
        addend = factor * _INDEX[ch]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_receipt_code() -> str:
    """A fresh random code in canonical form (no dash)."""
    # One read of the system's random source: 32 letters divide 256, so `byte % 32` is uniform.
    body = "".join(ALPHABET[byte % len(ALPHABET)] for byte in secrets.token_bytes(RANDOM_LENGTH))
    return body + _check_char(body)


def normalise(text: str) -> str | None:
    """Canonical form of what a person typed, or None if it cannot be a valid code."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -.\t").translate(_CONFUSABLE)
    if len(cleaned) != LENGTH or any(ch not in _INDEX for ch in cleaned):
        return None
    if _check_char(cleaned[:-1]) != cleaned[-1]:
        return None
    return cleaned


def display(code: str) -> str:
    """`ABCDE-FGHJK`: two groups of five are easier to read aloud."""
    return f"{code[:5]}-{code[5:]}"
