"""Records of the reporter conversation, shared by the service layer and the ports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.stages import Stage


class Author(StrEnum):
    REPORTER = "reporter"
    OFFICER = "officer"


@dataclass(frozen=True)
class Message:
    """One entry of the thread a reporter sees; officer names are never part of it."""

    author: Author
    text: str
    at: datetime


@dataclass(frozen=True)
class AttachmentMeta:
    """What the database knows of a file: the bytes live in the attachment store."""

    storage_key: str
    media_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


@dataclass(frozen=True)
class Credentials:
    """What a receipt check needs, read by receipt code."""

    tip_id: int
    passphrase_hash: str | None
    stage: Stage
    received_at: datetime
    #: The retention rules forgot the tip's content: nothing more is added to it.
    forgotten: bool = False
