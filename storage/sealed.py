"""Tip content at rest: what the repositories encrypt before a write and decrypt after a read.

A tip has one data key (`tip_keys`), wrapped by the master key and bound to the tip's
receipt code (known before the batch insert assigns ids). Its text and place are bound to
(tips, receipt code, column); its messages and notes to (table, row id, text). So a
ciphertext moved to another row or column does not decrypt: `EnvelopeError`, never the
wrong text. Nothing here is called by handlers; they see plain `Tip`s and messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core import blind_index
from core.envelope import Envelope, Place

KeySource = Callable[[], Envelope]


@dataclass(frozen=True)
class SealedTip:
    """A new tip's stored form: its wrapped key, ciphertexts and blind-index tokens."""

    key_id: str
    wrapped_key: bytes
    text: bytes
    place: bytes | None
    tokens: list[int]


def key_place(receipt_code: str) -> Place:
    return Place("tips", receipt_code, "data_key")


class TipCipher:
    """The master key (read once, on first use) and the tip-content operations on it."""

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    @property
    def envelope(self) -> Envelope:
        return self._keys()

    def seal_tip(self, receipt_code: str, text: str, place: str | None) -> SealedTip:
        env = self._keys()
        data_key = env.new_data_key()
        return SealedTip(
            key_id=env.key_id,
            wrapped_key=env.wrap(data_key, key_place(receipt_code)),
            text=env.encrypt(data_key, text, Place("tips", receipt_code, "text")),
            place=None
            if place is None
            else env.encrypt(data_key, place, Place("tips", receipt_code, "place")),
            tokens=blind_index.tokens(env.index_keys()[0], text, place),
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
