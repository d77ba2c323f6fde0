"""Replies cut to a channel's length limit, at a line or sentence boundary when one is
near, so a long status with an officer's reply arrives as readable pieces."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


def split_message(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters; cut at the last line break, else the last
    sentence end, else the last space in the second half of the window, else hard."""
    if limit < 2:
        raise ValueError("the limit must be at least 2")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            ends = [m.end() for m in _SENTENCE_END.finditer(window)]
            cut = ends[-1] if ends and ends[-1] >= limit // 2 else window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces
