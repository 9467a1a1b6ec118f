"""Sample document files for tests: plain functions returning bytes.

Every builder is deterministic (same arguments, same bytes), so tests may compare
hashes. Images carry a frame, a red corner block and a line of text, so they look
like scans when opened in a browser; the red block marks the stored top-left
corner, which lets tests see how an image was rotated.
"""

from __future__ import annotations

import functools
import struct
import zlib
from io import BytesIO

from PIL import ExifTags, Image, ImageDraw, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

# Distinctive values written into metadata, so tests can look for them in raw output bytes.
GPS_MARKER = "WGS-84-GERBANG-GPS"
CAMERA_MAKE = "GerbangCam-Test"
PNG_TEXT_KEY = "Comment"
PDF_AUTHOR = "Pemohon Contoh"

CORNER = 60  # side of the red block at the stored top-left corner
_FIXED_PDF_ID = b"gerbang-sample-0"  # 16 bytes: the file identifier of encrypted samples


def _scan_like(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A white page with a frame, a red top-left block and a line of text."""
    im = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, width - 1, height - 1), outline="black", width=max(1, min(width, height) // 100))
    draw.rectangle((0, 0, min(CORNER, width) - 1, min(CORNER, height) - 1), fill=(220, 0, 0))
    if width > 200 and height > 120:
        draw.rectangle((width // 10, height // 3, width * 9 // 10, height // 3 + 8), fill=(40, 40, 120))
        draw.text((width // 10, height // 2), "REPUBLIK INDONESIA - KARTU TANDA PENDUDUK", fill="black")
    return im if mode == "RGB" else im.convert(mode)


def jpeg_bytes(width: int = 600, height: int = 400, *, exif_gps: bool = False, orientation: int | None = None) -> bytes:
    """A JPEG scan; with `exif_gps` it carries a camera make and a GPS position, with `orientation` an EXIF
    Orientation tag (6 means "rotate 90 degrees clockwise to display")."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if exif_gps:
        exif[ExifTags.Base.Make] = CAMERA_MAKE
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "S"
        gps[ExifTags.GPS.GPSLatitude] = (6.0, 10.0, 30.5)
        gps[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps[ExifTags.GPS.GPSLongitude] = (106.0, 49.0, 12.25)
        gps[ExifTags.GPS.GPSMapDatum] = GPS_MARKER
    out = BytesIO()
    _scan_like(width, height).save(out, "JPEG", quality=85, exif=exif.tobytes() if len(exif) else b"")
    return out.getvalue()


def png_bytes(width: int = 600, height: int = 400, *, text_chunk: str | None = None, mode: str = "RGB") -> bytes:
    """A PNG scan; `text_chunk` goes into a tEXt chunk named "Comment"."""
    info = PngImagePlugin.PngInfo()
    if text_chunk is not None:
        info.add_text(PNG_TEXT_KEY, text_chunk)
    out = BytesIO()
    _scan_like(width, height, mode).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def huge_png_bytes(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid, all-black 1-bit PNG of width x height pixels that compresses to a few tens of KB:
    a decompression bomb in miniature. Written chunk by chunk, never held decoded in memory."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte "None", then the packed bits
    compressor = zlib.compressobj(9)
    rows_per_block = 256
    block = row * rows_per_block
    parts: list[bytes] = []
    full, rest = divmod(height, rows_per_block)
    for _ in range(full):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(row * rest))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def gif_bytes() -> bytes:
    """A small GIF: a real image, but not a kind we accept."""
    out = BytesIO()
    _scan_like(120, 80).convert("P").save(out, "GIF")
    return out.getvalue()


def truncated(data: bytes, n: int) -> bytes:
    """The first n bytes of data (n < 0 counts from the end)."""
    return data[:n]


def _page_content(number: int) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    text = f"Halaman {number}".encode("ascii")
    stream.set_data(
        b"0.9 0.1 0.1 rg 36 760 60 60 re f\n"
        b"0 0 0 RG 4 w 30 30 535 782 re S\n"
        b"BT /F1 18 Tf 120 780 Td (" + text + b") Tj ET\n"
    )
    return stream


def pdf_bytes(
    pages: int = 1,
    *,
    encrypt_password: str | None = None,
    javascript: str | None = None,
    metadata_title: str | None = None,
    embedded_file: bool = False,
) -> bytes:
    """An A4 PDF of `pages` pages, each with a red block, a frame and "Halaman N".

    `encrypt_password` encrypts it (RC4-128; "" means "opens without a password, but encrypted"),
    `javascript` adds a document-level script (the /Names /JavaScript tree), `metadata_title`
    sets /Title and /Author in the document information, `embedded_file` attaches a text file.
    """
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for number in range(1, pages + 1):
        page = writer.add_blank_page(width=595, height=842)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        page[NameObject("/Contents")] = writer._add_object(_page_content(number))
    if metadata_title is not None:
        writer.add_metadata({"/Title": metadata_title, "/Author": PDF_AUTHOR})
    if javascript is not None:
        # pypdf 7 removed add_js(); add_open_action() names the script with a random UUID, so build the
        # name tree by hand to stay deterministic.
        action = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Action"),
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject(javascript),
            }
        )
        names = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("sample"), writer._add_object(action)])}
        )
        writer.root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): names})
    if embedded_file:
        writer.add_attachment("catatan.txt", b"lampiran tersembunyi\n")
    if encrypt_password is not None:
        # pypdf draws the file identifier (from which the RC4 key is derived) at random; fix it.
        writer._ID = ArrayObject([ByteStringObject(_FIXED_PDF_ID), ByteStringObject(_FIXED_PDF_ID)])
        writer.encrypt(encrypt_password, "pemilik-dokumen", algorithm="RC4-128")
        writer._ID = ArrayObject([ByteStringObject(_FIXED_PDF_ID), ByteStringObject(_FIXED_PDF_ID)])
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
