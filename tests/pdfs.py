"""Real PDFs for tests, written object by object with a correct cross-reference table, so
that what a scanner or phone app would leave in one (author, XMP, a JPEG with EXIF, a
comment with its author's name, a script) can be put in on purpose."""

from __future__ import annotations

import io

from PIL import Image


def jpeg_with_exif(size: tuple[int, int] = (64, 48), serial: str = "CAM-SERIAL-0042") -> bytes:
    exif = Image.Exif()
    exif[0xA431] = serial  # BodySerialNumber
    exif[0x013B] = "Nguyen Van A"  # Artist
    out = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def build_pdf(
    *,
    author: str | None = "Nguyen Van A",
    xmp: bool = True,
    photo: bytes | None = None,
    comment_by: str | None = None,
    open_action_js: str | None = None,
    pages: int = 1,
) -> bytes:
    """A PDF of `pages` pages; the first shows `photo` (a JPEG) if given."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the other numbers are known
    page_tree = add(b"")
    extras = b""
    if xmp:
        packet = (
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Nguyen Van A</dc:creator>'
            b"</rdf:Description></rdf:RDF></x:xmpmeta>"
        )
        meta = add(
            b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream" % (len(packet), packet)
        )
        extras += b" /Metadata %d 0 R" % meta
    if open_action_js is not None:
        js = open_action_js.encode()
        action = add(b"<< /S /JavaScript /JS (%s) >>" % js)
        extras += b" /OpenAction %d 0 R" % action
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (page_tree, extras)

    kids: list[int] = []
    for number in range(pages):
        resources = b"<< >>"
        content = b"BT /F1 12 Tf 10 10 Td (page %d) Tj ET" % number
        annots = b""
        if number == 0 and photo is not None:
            with Image.open(io.BytesIO(photo)) as img:
                width, height = img.size
            image = add(
                b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
                % (width, height, len(photo), photo)
            )
            resources = b"<< /XObject << /Im0 %d 0 R >> >>" % image
            content = b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % (width, height)
        if number == 0 and comment_by is not None:
            note = add(
                b"<< /Type /Annot /Subtype /Text /Rect [0 0 20 20] /T (%s) /Contents (seen here) >>"
                % comment_by.encode()
            )
            annots = b" /Annots [%d 0 R]" % note
        stream = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 200 200] /Resources %s /Contents %d 0 R%s >>"
                % (page_tree, resources, stream, annots)
            )
        )
    objects[page_tree - 1] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (
        len(kids),
        b" ".join(b"%d 0 R" % kid for kid in kids),
    )
    info = add(b"<< /Author (%s) /Producer (ScanApp 3.1) >>" % author.encode()) if author else None

    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = b"<< /Size %d /Root %d 0 R%s >>" % (
        len(objects) + 1,
        catalog,
        b" /Info %d 0 R" % info if info else b"",
    )
    out.write(b"trailer\n%s\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref))
    return out.getvalue()
