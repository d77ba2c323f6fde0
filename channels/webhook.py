"""What every chat webhook does before an adapter looks at the body: the secret header
compared in constant time, and a JSON parse bounded in depth and number size, so that a
hostile body gets a 400 and never reaches the recursion or big-integer limits (a 500)."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

#: Chat updates nest five or six levels; 64 leaves room for any future field.
MAX_DEPTH = 64
#: Ids and timestamps are at most 20 digits; a longer number is not a chat update.
MAX_INT_DIGITS = 40
_OPENERS = re.compile(rb"[\[{]")
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class BadBody(ValueError):
    """The body is not a JSON object an adapter can read (answer 400)."""


def secret_ok(expected: str, given: str | None) -> bool:
    """True only for the configured secret; an unset secret refuses everything."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects, brackets inside strings not counted."""
    depth = deepest = 0
    for token in _TOKENS.finditer(raw):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise BadBody("a number in the body is too long")
    return int(digits)


def parse_object(raw: bytes, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The body as a JSON object, or `BadBody`."""
    # Fast path: fewer brackets than the limit cannot nest deeper than it.
    if len(_OPENERS.findall(raw)) > max_depth and _depth(raw) > max_depth:
        raise BadBody("the body nests too deeply")
    try:
        payload = json.loads(raw, parse_int=_bounded_int)
    except BadBody:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadBody("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise BadBody("an update is a JSON object")
    return payload
