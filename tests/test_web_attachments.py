"""Attachments: metadata stripped, bombs refused, content checked, files named by random id."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from PIL.ExifTags import GPS, IFD, Base
from pypdf import PdfReader

from core.attachments import AttachmentRefused, check_counts, sanitise
from hotline.bootstrap import Services
from storage.files import DirectoryStore
from tests.builders import attachments
from tests.pdfs import build_pdf, jpeg_with_exif
from tests.test_web_api import jpeg, multipart, stored_files

SERIAL = "SN-PRIVACY-4242"


def gps_exif() -> Image.Exif:
    """EXIF as a phone writes it: GPS position (10°46'30.12"N 106°42'01.5"E), camera serial."""
    exif = Image.Exif()
    exif[Base.Make] = "PhoneMaker"
    exif[Base.Model] = "Model X"
    exif[Base.BodySerialNumber] = SERIAL
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = (10.0, 46.0, 30.12)
    gps[GPS.GPSLongitudeRef] = "E"
    gps[GPS.GPSLongitude] = (106.0, 42.0, 1.5)
    return exif


def test_gps_exif_is_gone_after_reencoding() -> None:
    original = jpeg((320, 240), gps_exif())
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif().get_ifd(IFD.GPSInfo)  # the test image really carries GPS
    clean = sanitise(original, attachments())
    assert clean.media_type == "image/jpeg"
    with Image.open(io.BytesIO(clean.data)) as img:
        assert dict(img.getexif()) == {}
        assert not img.getexif().get_ifd(IFD.GPSInfo)
        assert "exif" not in img.info and "icc_profile" not in img.info
    assert b"Exif" not in clean.data and SERIAL.encode() not in clean.data and b"PhoneMaker" not in clean.data


def test_png_text_chunks_and_orientation() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 12 Le Loi street")
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info)
    clean = sanitise(out.getvalue(), attachments())
    assert clean.media_type == "image/png" and b"Le Loi" not in clean.data

    exif = Image.Exif()
    exif[Base.Orientation] = 6  # rotated: the pixels are turned upright before EXIF goes
    rotated = sanitise(jpeg((40, 20), exif), attachments())
    with Image.open(io.BytesIO(rotated.data)) as img:
        assert img.size == (20, 40)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xd8\xff\xe0garbage" * 5, "damaged"),
        (b"GIF89a" + b"\x00" * 10, "damaged"),
        (b"MZ\x90\x00", "type"),
        (b"<svg onload=alert(1)>", "type"),
        (build_pdf(open_action_js="app.alert(1)"), "pdf_active"),
        (b"%PDF-1.7\n1 0 obj<<>>endobj\n", "pdf_damaged"),
        (b"%PDF-1.7\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF", "pdf_damaged"),
        (build_pdf()[:400], "pdf_damaged"),
    ],
)
def test_files_are_judged_by_content(data: bytes, reason: str) -> None:
    with pytest.raises(AttachmentRefused) as caught:
        sanitise(data, attachments())
    assert caught.value.reason == reason


def test_pdf_is_rewritten_without_what_could_name_the_reporter() -> None:
    photo = jpeg_with_exif(serial="CAM-SERIAL-0042")
    sent = build_pdf(author="Nguyen Van A", xmp=True, photo=photo, comment_by="Tran Thi B", pages=3)
    assert all(marker in sent for marker in (b"Nguyen Van A", b"CAM-SERIAL-0042", b"Tran Thi B", b"ScanApp"))

    clean = sanitise(sent, attachments())

    assert clean.media_type == "application/pdf"
    for marker in (b"Nguyen Van A", b"CAM-SERIAL-0042", b"Tran Thi B", b"ScanApp", b"/Metadata", b"/Annots"):
        assert marker not in clean.data, marker
    kept = PdfReader(io.BytesIO(clean.data))
    assert kept.metadata is None
    assert len(kept.pages) == 3
    (picture,) = kept.pages[0].images
    assert picture.image is not None and picture.image.size == (64, 48)  # the evidence is still there


def test_pdf_page_limit() -> None:
    with pytest.raises(AttachmentRefused) as caught:
        sanitise(build_pdf(pages=4), attachments(max_pdf_pages=3))
    assert caught.value.reason == "pdf_too_big"
    assert len(PdfReader(io.BytesIO(sanitise(build_pdf(pages=3), attachments(max_pdf_pages=3)).data)).pages) == 3


def test_pixel_limit_refuses_before_decoding() -> None:
    big = jpeg((300, 300))
    with pytest.raises(AttachmentRefused) as caught:
        sanitise(big, attachments(max_pixels=50_000))
    assert caught.value.reason == "too_many_pixels"


def test_count_and_size_limits() -> None:
    policy = attachments(max_files=2, max_file_bytes=10, max_request_bytes=15)
    for sizes, reason in (
        ([1, 1, 1], "too_many"),
        ([11], "too_big"),
        ([8, 8], "total_too_big"),
        ([0], "empty"),
    ):
        with pytest.raises(AttachmentRefused) as caught:
            check_counts(sizes, policy)
        assert caught.value.reason == reason
    check_counts([5, 10], policy)


async def test_directory_store_names_files_by_random_id(tmp_path: Any) -> None:
    from core.envelope import Envelope, EnvelopeError

    envelope = Envelope(bytes(32))
    store = DirectoryStore(tmp_path, lambda: envelope)
    key = await store.put(b"data")
    other = await store.put(b"more data")
    on_disk = (tmp_path / key[:2] / key).read_bytes()
    assert len(key) == 32 and b"data" not in on_disk  # encrypted before it reaches the disk
    assert await store.get(key) == b"data"
    # A file copied over another attachment's name does not open as that attachment.
    (tmp_path / other[:2] / other).write_bytes(on_disk)
    with pytest.raises(EnvelopeError):
        await store.get(other)
    from core.errors import NotFound

    for bad in ("../../etc/passwd", "a" * 31, key.upper()):
        with pytest.raises(NotFound):
            await store.get(bad)
    await store.delete(key)
    await store.delete(key)  # idempotent
    assert not (tmp_path / key[:2] / key).exists()


async def test_uploaded_photo_is_stored_without_gps(client: Any, services: Services) -> None:
    resp = await client.post("/api/v1/tips", data=multipart({"text": "ảnh"}, [jpeg((320, 240), gps_exif())]))
    assert resp.status == 201
    from tests.builders import opened_files

    [_] = stored_files(services)
    [data] = opened_files(services.settings)
    assert SERIAL.encode() not in data
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif().get_ifd(IFD.GPSInfo)


async def test_failed_commit_leaves_no_file(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    async def broken(self: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr("storage.repositories.SqlUnitOfWork.commit", broken)
    resp = await client.post("/api/v1/tips", data=multipart({"text": "ảnh"}, [jpeg()]))
    assert resp.status == 503
    body = await resp.json()
    assert body["error"]["code"] == "not_saved" and "receipt_code" not in body
    assert stored_files(services) == []
