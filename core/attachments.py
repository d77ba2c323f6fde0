"""What a reporter may attach, and how a file is made safe before it is stored.

Files are judged by their content, never their name or declared type. Images are decoded
and re-encoded from bare pixels, so EXIF (GPS position, camera serial, time), XMP, ICC
profiles and comments are all gone; oversized pixel counts are refused before decoding,
which defuses decompression bombs. PDFs are parsed and rewritten without their metadata,
comments and photo EXIF (`core.pdfs`); those with scripts or embedded files are refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import InvalidInput
from core.messages import AttachmentMeta
from core.pdfs import PdfProblem, clean_pdf

if TYPE_CHECKING:
    from core.ports import AttachmentStore

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"
ACCEPTED = "JPEG, PNG, WebP or GIF photos, or PDF documents"

# Magic numbers of what we accept; anything else is refused before any parser sees it.
# Pillow logs every EXIF tag it parses at DEBUG (camera serials, GPS): never let them through.
logging.getLogger("PIL").setLevel(logging.INFO)

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_LONG_SIDE = 4096  # larger photos are scaled down: smaller files, same evidence


class AttachmentRefused(InvalidInput):
    """A file we will not store; the message tells the reporter what would be accepted.

    `reason` is a stable key the pages translate (`too_many`, `too_big`, `total_too_big`,
    `empty`, `type`, `damaged`, `too_many_pixels`, `pdf_damaged`, `pdf_active`, `pdf_too_big`).
    """

    code = "attachment_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AttachmentPolicy:
    max_files: int = 5
    max_file_bytes: int = 10 * 1024 * 1024
    max_request_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_pdf_pages: int = 100


@dataclass(frozen=True)
class CleanFile:
    """A file ready to store: re-encoded image or rewritten PDF, and its digest."""

    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_counts(sizes: list[int], policy: AttachmentPolicy) -> None:
    """Refuse too many files or too many bytes, before any decoding work."""
    if len(sizes) > policy.max_files:
        raise AttachmentRefused(f"at most {policy.max_files} files can be attached", "too_many")
    if any(size > policy.max_file_bytes for size in sizes):
        raise AttachmentRefused(
            f"each file must be at most {policy.max_file_bytes // (1024 * 1024)} MB", "too_big"
        )
    if sum(sizes) > policy.max_request_bytes:
        raise AttachmentRefused(
            f"files together must be at most {policy.max_request_bytes // (1024 * 1024)} MB", "total_too_big"
        )
    if any(size == 0 for size in sizes):
        raise AttachmentRefused("an attached file is empty", "empty")


def sanitise(data: bytes, policy: AttachmentPolicy) -> CleanFile:
    """The stored form of an uploaded file, or AttachmentRefused saying why not."""
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return _reencode_image(data, policy)
    if data.lstrip(b"\x00\t\n\r ")[:5] == b"%PDF-":
        return _clean_pdf(data, policy)
    raise AttachmentRefused(f"this kind of file is not accepted; send {ACCEPTED}", "type")


def _reencode_image(data: bytes, policy: AttachmentPolicy) -> CleanFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > policy.max_pixels or width < 1 or height < 1:
                    raise AttachmentRefused("the picture is too large to process", "too_many_pixels")
                img.draft("RGB", (_LONG_SIDE, _LONG_SIDE))  # JPEG only: decode at reduced size
                img.load()
                upright = ImageOps.exif_transpose(img)
                has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
                pixels = upright.convert("RGBA" if has_alpha else "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentRefused("the picture is too large to process", "too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise AttachmentRefused("the picture is damaged or not really a picture", "damaged") from None
    # A fresh image from raw pixels carries no info, EXIF, ICC profile or text chunks.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    clean.thumbnail((_LONG_SIDE, _LONG_SIDE))
    out = io.BytesIO()
    if has_alpha:
        clean.save(out, format="PNG", optimize=False)
        return CleanFile(PNG, out.getvalue())
    clean.save(out, format="JPEG", quality=85)
    return CleanFile(JPEG, out.getvalue())


def _clean_pdf(data: bytes, policy: AttachmentPolicy) -> CleanFile:
    try:
        return CleanFile(PDF, clean_pdf(data, max_pages=policy.max_pdf_pages, max_pixels=policy.max_pixels))
    except PdfProblem as problem:
        raise AttachmentRefused(str(problem), f"pdf_{problem.reason}") from None


async def clean_files(files: Sequence[bytes], policy: AttachmentPolicy) -> list[CleanFile]:
    """Check counts and sizes, then re-encode each file off the event loop."""
    if not files:
        return []
    check_counts([len(f) for f in files], policy)
    return [await asyncio.to_thread(sanitise, data, policy) for data in files]


async def store_files(store: AttachmentStore, files: Sequence[CleanFile]) -> list[str]:
    """Write the files under fresh random keys; on failure remove what was written."""
    keys: list[str] = []
    try:
        for file in files:
            keys.append(await store.put(file.data))
    except BaseException:
        await discard_files(store, keys)
        raise
    return keys


async def discard_files(store: AttachmentStore, keys: Sequence[str]) -> None:
    """Best effort: files of a transaction that did not commit must not linger."""
    for key in keys:
        await store.delete(key)


def attachment_meta(key: str, file: CleanFile, now: datetime) -> AttachmentMeta:
    return AttachmentMeta(key, file.media_type, len(file.data), file.sha256, now)
