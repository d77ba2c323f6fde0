"""Tip content at rest: what the repositories encrypt before a write and decrypt after a read.

A tip has one data key (`tip_keys`), wrapped by the master key and bound to the tip's
receipt code (known before the batch insert assigns ids). Its text and place are bound to
(tips, receipt code, column); its messages and notes to (table, row id, text). So a
ciphertext moved to another row or column does not decrypt: `EnvelopeError`, never the
wrong text. Nothing here is called by handlers; they see plain `Tip`s and messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core import blind_index
from core.envelope import Envelope, Place

KeySource = Callable[[], Envelope]

#: The triage proposal's keys kept in clear: codes and numbers the queue, the filters and
#: the KPI read in SQL. Everything else (reasons, explanations with the words and places
#: matched, any key added later) is sealed with the tip's data key.
TRIAGE_CLEAR = (
    "language", "category", "urgent", "commune_code", "commune_candidates", "duplicate_of", "scores",
)  # fmt: skip


@dataclass(frozen=True)
class SealedTip:
    """A new tip's stored form: its wrapped key, ciphertexts and blind-index tokens."""

    key_id: str
    wrapped_key: bytes
    text: bytes
    place: bytes | None
    tokens: list[int]
    #: The triage proposal's codes (stored in clear) and the rest of it, sealed.
    triage: dict[str, Any] | None = None
    triage_sealed: bytes | None = None


def key_place(receipt_code: str) -> Place:
    return Place("tips", receipt_code, "data_key")


def triage_place(receipt_code: str) -> Place:
    return Place("tips", receipt_code, "triage")


def split_triage(proposal: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the codes kept in clear, the rest to seal) of a triage proposal."""
    if proposal is None:
        return None, {}
    clear = {k: v for k, v in proposal.items() if k in TRIAGE_CLEAR}
    return clear, {k: v for k, v in proposal.items() if k not in TRIAGE_CLEAR}


def seal_triage(data_key: bytes, receipt_code: str, rest: Mapping[str, Any]) -> bytes | None:
    """The sealed part of a proposal as one AES-GCM blob (None when there is none)."""
    if not rest:
        return None
    return Envelope.encrypt(data_key, json.dumps(rest, ensure_ascii=False), triage_place(receipt_code))


def open_triage(
    data_key: bytes | None, receipt_code: str, clear: Mapping[str, Any] | None, sealed: bytes | None
) -> dict[str, Any] | None:
    """The whole proposal again: the clear codes with the sealed part opened over them."""
    if sealed is None or data_key is None:
        return None if clear is None else dict(clear)
    rest = json.loads(Envelope.decrypt(data_key, sealed, triage_place(receipt_code)))
    return {**(clear or {}), **rest}


def support_place(context: str) -> Place:
    """Where a support case's sealed value is bound (hotline/support_wiring.py's sealer)."""
    return Place("support_cases", context, "contact")


def support_message_context(case_id: int, message_id: int) -> str:
    return f"support_message:{case_id}:{message_id}"


def support_message_place(case_id: int, message_id: int) -> Place:
    return support_place(support_message_context(case_id, message_id))


def seal_standalone(env: Envelope, place: Place, text: str) -> bytes:
    """A value with its own data key, kept inside the blob (wrapped key length, 2 bytes;
    wrapped key; ciphertext), both bound to `place`: support contacts and messages."""
    key = env.new_data_key()
    wrapped = env.wrap(key, place)
    return len(wrapped).to_bytes(2, "big") + wrapped + env.encrypt(key, text, place)


def open_standalone(env: Envelope, place: Place, sealed: bytes) -> str:
    size = int.from_bytes(sealed[:2], "big")
    return env.decrypt(env.unwrap(sealed[2 : 2 + size], place), sealed[2 + size :], place)


def rewrap_standalone(env: Envelope, place: Place, sealed: bytes) -> bytes | None:
    """The blob with its data key wrapped under the current master key (None: it already is)."""
    size = int.from_bytes(sealed[:2], "big")
    wrapped = sealed[2 : 2 + size]
    if env.is_current(wrapped, place):
        return None
    rewrapped = env.wrap(env.unwrap(wrapped, place), place)
    return len(rewrapped).to_bytes(2, "big") + rewrapped + sealed[2 + size :]


class TipCipher:
    """The master key (read once, on first use) and the tip-content operations on it."""

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    @property
    def envelope(self) -> Envelope:
        return self._keys()

    def seal_tip(
        self, receipt_code: str, text: str, place: str | None, triage: Mapping[str, Any] | None = None
    ) -> SealedTip:
        env = self._keys()
        data_key = env.new_data_key()
        clear, rest = split_triage(triage)
        return SealedTip(
            key_id=env.key_id,
            wrapped_key=env.wrap(data_key, key_place(receipt_code)),
            text=env.encrypt(data_key, text, Place("tips", receipt_code, "text")),
            place=None
            if place is None
            else env.encrypt(data_key, place, Place("tips", receipt_code, "place")),
            tokens=blind_index.tokens(env.index_keys()[0], text, place),
            triage=clear,
            triage_sealed=seal_triage(data_key, receipt_code, rest),
        )

    def data_key(self, receipt_code: str, wrapped: bytes, key_id: str | None = None) -> bytes:
        return self._keys().unwrap(wrapped, key_place(receipt_code), key_id)

    @staticmethod
    def open_tip(
        data_key: bytes, receipt_code: str, text: bytes, place: bytes | None
    ) -> tuple[str, str | None]:
        return (
            Envelope.decrypt(data_key, text, Place("tips", receipt_code, "text")),
            None
            if place is None
            else Envelope.decrypt(data_key, place, Place("tips", receipt_code, "place")),
        )

    @staticmethod
    def seal_row(data_key: bytes, table: str, row_id: int, text: str) -> bytes:
        return Envelope.encrypt(data_key, text, Place(table, row_id, "text"))

    @staticmethod
    def open_row(data_key: bytes, table: str, row_id: int, blob: bytes) -> str:
        return Envelope.decrypt(data_key, blob, Place(table, row_id, "text"))

    def search_tokens(self, text: str) -> list[tuple[int, ...]]:
        """Per searched word, its tokens under every index key in use."""
        return blind_index.query_tokens(self._keys().index_keys(), text)
