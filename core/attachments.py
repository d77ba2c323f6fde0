"""What a reporter may attach, and how a file is made safe before it is stored.

Files are judged by their content, never their name or declared type. Images are decoded
and re-encoded from bare pixels, so EXIF (GPS position, camera serial, time), XMP, ICC
profiles and comments are all gone; oversized pixel counts are refused before decoding,
which defuses decompression bombs. PDFs are parsed and rewritten without their metadata,
comments and photo EXIF (`core.pdfs`); those with scripts or embedded files are refused.

Memory: a picture's cost is its *decoded* size (width x height x bytes per pixel, 16-bit
samples counted as two bytes), read from its header before any pixel is decoded; past
`max_decoded_bytes` it is refused. All pictures being cleaned in the process share one
budget (`decode_budget_bytes`), so a burst of small files that decode to hundreds of MB
waits its turn instead of taking the machine; after a large decode the C heap is trimmed
(glibc `malloc_trim`) so the memory goes back to the system rather than staying with us.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hashlib
import io
import logging
import warnings
import weakref
from collections.abc import Callable, Sequence
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
    """Upload limits; the numbers come from `hotline.settings` (`hotline.bootstrap.attachment_policy`)."""

    max_files: int
    max_file_bytes: int
    max_request_bytes: int
    max_pixels: int
    max_pdf_pages: int
    #: One picture's decoded size at most (bytes).
    max_decoded_bytes: int
    #: Decoded bytes of all pictures being cleaned at once, in this process.
    decode_budget_bytes: int


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
    if _is_image(data):
        return _reencode_image(data, policy)
    if _is_pdf(data):
        return _clean_pdf(data, policy)
    raise AttachmentRefused(f"this kind of file is not accepted; send {ACCEPTED}", "type")


def _is_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _is_pdf(data: bytes) -> bool:
    return data.lstrip(b"\x00\t\n\r ")[:5] == b"%PDF-"


def _too_large() -> AttachmentRefused:
    return AttachmentRefused("the picture is too large to process", "too_many_pixels")


def _bytes_per_pixel(img: Image.Image) -> int:
    """Bytes per pixel as the file stores it: 16-bit samples (`;16` raw modes, `I;16`) count
    two bytes a band, and never less than the decoded mode takes."""
    bands = len(img.getbands())
    tile = getattr(img, "tile", None)
    raw = tile[0][3] if tile and isinstance(tile[0][3], str) else img.mode
    depth = 2 if "16" in raw or img.mode.startswith("I;16") else 1
    mode_bytes = {"1": 1, "L": 1, "P": 1, "I": 4, "F": 4}.get(img.mode, bands * depth)
    return max(bands * depth, mode_bytes)


def _fitted(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, _LONG_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _measured(img: Image.Image, policy: AttachmentPolicy) -> int:
    """The decoded size of an opened (not yet decoded) picture; refuses what is too large."""
    width, height = img.size
    if width < 1 or height < 1 or width * height > policy.max_pixels:
        raise _too_large()
    decoded = width * height * _bytes_per_pixel(img)
    if decoded > policy.max_decoded_bytes:
        raise _too_large()
    return decoded


def decode_cost(data: bytes, policy: AttachmentPolicy) -> int:
    """Bytes cleaning this file may hold at its peak, from the header alone (nothing is
    decoded): the picture, plus the scaled copy, its RGBA form and the bare-pixel copy.
    Refuses (AttachmentRefused) a picture past the pixel or decoded-size limits."""
    if not _is_image(data):
        # PDFs: their photos are decoded one at a time, each within max_pixels.
        return policy.max_decoded_bytes if _is_pdf(data) else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.draft("RGB", (_LONG_SIDE, _LONG_SIDE))  # JPEG: decoded at a reduced size
                decoded = _measured(img, policy)
                fitted = _fitted(*img.size)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise AttachmentRefused("the picture is damaged or not really a picture", "damaged") from None
    return decoded + 3 * fitted[0] * fitted[1] * 4


def _reencode_image(data: bytes, policy: AttachmentPolicy) -> CleanFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.draft("RGB", (_LONG_SIDE, _LONG_SIDE))  # JPEG only: decode at reduced size
                _measured(img, policy)
                img.load()
                # Scale down in place first, so every later copy is of the small picture;
                # the orientation flip commutes with fitting into a square box.
                img.thumbnail((_LONG_SIDE, _LONG_SIDE))
                upright = ImageOps.exif_transpose(img, in_place=False) if _rotated(img) else img
                has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
                pixels = upright.convert("RGBA" if has_alpha else "RGB")
                del upright
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise AttachmentRefused("the picture is damaged or not really a picture", "damaged") from None
    # A fresh image from raw pixels carries no info, EXIF, ICC profile or text chunks.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    del pixels
    out = io.BytesIO()
    if has_alpha:
        clean.save(out, format="PNG", optimize=False)
        return CleanFile(PNG, out.getvalue())
    clean.save(out, format="JPEG", quality=85)
    return CleanFile(JPEG, out.getvalue())


def _rotated(img: Image.Image) -> bool:
    """Whether EXIF says the picture must be turned (orientation other than 1)."""
    return img.getexif().get(0x0112, 1) not in (1, None)


def _clean_pdf(data: bytes, policy: AttachmentPolicy) -> CleanFile:
    try:
        return CleanFile(PDF, clean_pdf(data, max_pages=policy.max_pdf_pages, max_pixels=policy.max_pixels))
    except PdfProblem as problem:
        raise AttachmentRefused(str(problem), f"pdf_{problem.reason}") from None


class DecodeBudget:
    """A semaphore weighted by bytes: work of cost `n` waits until `n` fits in what the
    others hold. A cost above the capacity is held as the whole capacity (alone)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def acquire(self, cost: int) -> int:
        cost = min(cost, self.capacity)
        while self.used + cost > self.capacity:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
        self.used += cost
        return cost

    def release(self, cost: int) -> None:
        self.used -= cost
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


#: One budget per event loop and capacity: every request of the process shares it.
_BUDGETS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, DecodeBudget]] = (
    weakref.WeakKeyDictionary()
)


def shared_budget(capacity: int) -> DecodeBudget:
    per_loop = _BUDGETS.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(capacity, DecodeBudget(capacity))


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)
    except OSError:
        return None
    return trim


_MALLOC_TRIM = _load_trim()
#: Decodes from this size on give their memory back at once.
TRIM_AFTER_BYTES = 32 * 1024 * 1024


def _sanitise_and_give_back(data: bytes, policy: AttachmentPolicy, cost: int) -> CleanFile:
    try:
        return sanitise(data, policy)
    finally:
        if cost >= TRIM_AFTER_BYTES and _MALLOC_TRIM is not None:
            _MALLOC_TRIM(0)  # freed pages of every malloc arena back to the system


async def clean_one(data: bytes, policy: AttachmentPolicy) -> CleanFile:
    """Clean one file off the event loop, within the process's shared decode budget. The
    budget is released when the work is really done, even if the caller went away."""
    cost = await asyncio.to_thread(decode_cost, data, policy)
    budget = shared_budget(policy.decode_budget_bytes)
    held = await budget.acquire(cost)
    work = asyncio.get_running_loop().run_in_executor(None, _sanitise_and_give_back, data, policy, cost)
    work.add_done_callback(lambda _: budget.release(held))
    return await asyncio.shield(work)


async def clean_files(files: Sequence[bytes], policy: AttachmentPolicy) -> list[CleanFile]:
    """Check counts and sizes, then re-encode each file off the event loop, within the
    shared decode budget."""
    if not files:
        return []
    check_counts([len(f) for f in files], policy)
    return [await clean_one(data, policy) for data in files]


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
