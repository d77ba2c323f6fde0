"""PDFs made safe to keep: parsed, checked for active content, and rewritten without
anything that could name the reporter.

A PDF carries identity in places a reader never sees: the document information dictionary
(author, creator tool, producer, dates), XMP metadata streams on the document, its pages
and its images, comments (annotations record their author's name) and the EXIF block of
every embedded JPEG (camera serial, GPS position). The file is therefore not stored as
sent: its pages are copied into a new document with pypdf, those places are emptied, and
each photo in it is re-encoded from bare pixels with Pillow, as uploaded photos are.

Active content (JavaScript, launch actions, embedded files, forms that submit) is looked
for in the parsed structure, so compressed object streams cannot hide it; such files are
refused rather than silently altered, so the reporter knows what was not accepted.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

log = logging.getLogger(__name__)
# pypdf warns about every irregularity of a scanner's output; keep the log for real problems.
logging.getLogger("pypdf").setLevel(logging.ERROR)

#: Actions that run code, open other files or send data somewhere.
_ACTIVE_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/Rendition"}
)
#: Annotations that carry files or media players.
_ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"})
#: Page keys that describe the document's history or tools rather than what it shows.
_PAGE_EXTRAS = ("/Metadata", "/PieceInfo", "/AA", "/Annots", "/Thumb", "/B")


class PdfProblem(Exception):
    """Why a PDF cannot be kept: `reason` is `damaged`, `active` or `too_big`."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def clean_pdf(data: bytes, *, max_pages: int, max_pixels: int) -> bytes:
    """The PDF rewritten without metadata, comments and photo EXIF, or PdfProblem."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfProblem("encrypted PDFs cannot be checked; send it without a password", "damaged")
        pages = list(reader.pages)
        if not pages:
            raise PdfProblem("the PDF has no pages", "damaged")
        if len(pages) > max_pages:
            raise PdfProblem(f"a PDF may have at most {max_pages} pages", "too_big")
        if _has_active_content(reader):
            raise PdfProblem("PDFs with scripts, actions or embedded files are not accepted", "active")
        writer = PdfWriter()
        for page in pages:
            for key in _PAGE_EXTRAS:  # before copying, so none of it is carried over
                page.pop(NameObject(key), None)
            writer.add_page(page)
        for page in writer.pages:
            _reencode_photos(page, max_pixels)
        _drop_document_metadata(writer)
        # The replaced photos' original streams (with their EXIF) are orphans now: drop them.
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except PdfProblem:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, IndexError, OSError,
            RecursionError, AssertionError, ZeroDivisionError) as exc:  # fmt: skip
        # pypdf reports a broken file through many exception types; all mean "cannot read".
        log.info("PDF refused as damaged: %s", type(exc).__name__)
        raise PdfProblem("the PDF is damaged or incomplete", "damaged") from None
    return out.getvalue()


def _has_active_content(reader: PdfReader) -> bool:
    root = _resolve(reader.trailer.get("/Root"))
    if not isinstance(root, DictionaryObject):
        raise PdfProblem("the PDF is damaged or incomplete", "damaged")
    if "/OpenAction" in root or "/AA" in root:
        return True
    names = _resolve(root.get("/Names"))
    if isinstance(names, DictionaryObject) and ("/JavaScript" in names or "/EmbeddedFiles" in names):
        return True
    form = _resolve(root.get("/AcroForm"))
    if isinstance(form, DictionaryObject) and "/XFA" in form:
        return True
    for page in reader.pages:
        if "/AA" in page:
            return True
        for annotation in _dicts(page.get("/Annots")):
            if annotation.get("/Subtype") in _ACTIVE_ANNOTATIONS or "/AA" in annotation:
                return True
            action = _resolve(annotation.get("/A"))
            if isinstance(action, DictionaryObject) and action.get("/S") in _ACTIVE_ACTIONS:
                return True
    return False


def _reencode_photos(page: Any, max_pixels: int) -> None:
    """Each embedded picture becomes fresh pixels: a scanned JPEG keeps no EXIF or GPS."""
    for image in page.images:
        picture = image.image
        if picture is None:
            continue
        if picture.width * picture.height > max_pixels:
            raise PdfProblem("a picture in the PDF is too large to process", "too_big")
        mode = "L" if picture.mode in ("1", "L", "LA") else "RGB"
        fresh = Image.frombytes(mode, picture.size, picture.convert(mode).tobytes())
        image.replace(fresh, quality=85)


def _drop_document_metadata(writer: PdfWriter) -> None:
    """No information dictionary (author, producer, dates) and no XMP stream."""
    writer._info = None  # pypdf's documented way (`metadata = None`) keeps an empty /Info
    writer._root_object.pop(NameObject("/Metadata"), None)
    writer._root_object.pop(NameObject("/PieceInfo"), None)


def _resolve(value: Any) -> Any:
    return value.get_object() if value is not None and hasattr(value, "get_object") else value


def _dicts(value: Any) -> Iterator[DictionaryObject]:
    items = _resolve(value)
    if isinstance(items, ArrayObject):
        for item in items:
            resolved = _resolve(item)
            if isinstance(resolved, DictionaryObject):
                yield resolved
