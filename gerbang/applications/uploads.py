"""Checking an applicant's uploaded document by its content, never by its name.

Applicants upload scans (ID card, family card, birth certificate, old passport
page, police report). The policy:

* Only JPEG, PNG and PDF are accepted, at most ``settings.DOCUMENT_MAX_BYTES``
  (5 MiB by default). The kind is taken from the file's first bytes (the magic
  number at offset 0); the file name and the content type the browser sent are
  ignored.
* Images are decoded in full (after checking the declared size against
  ``settings.DOCUMENT_MAX_PIXELS``, before any pixel is decoded), turned upright
  by their EXIF orientation, and re-encoded from the pixels alone. What we store
  carries no metadata: no EXIF (so no GPS position or camera), no XMP, no PNG
  text chunks, no ICC profile, no comments. Of an animated or multi-picture
  image (APNG, MPO) only the first frame is kept. An ICC profile is dropped
  without converting colours: for a document scan the small shift is harmless,
  and it keeps colour-management code away from applicant input.
* PDFs are parsed strictly with pypdf. Encrypted files (even ones that open
  without a password), files that do not parse, files without pages or with too
  many (``settings.DOCUMENT_MAX_PDF_PAGES``) are refused, and so are files with
  active content anywhere reachable from the document catalogue: JavaScript,
  additional actions (/AA), an /OpenAction other than "open at this page" (a
  destination or a go-to action), launch / remote / embedded go-to /
  submit / import / media actions, embedded files and file-attachment or
  multimedia annotations, and XFA forms. The stored file is rewritten: only the
  pages (their boxes, rotation, resources, contents and annotations) are copied
  into a new document without document information or XMP metadata.

``check_upload`` either returns a ``CheckedFile`` to store, or raises
``UploadRefused`` with a machine ``code`` and a translated ``message`` telling
the applicant what to do. No other exception escapes for any input bytes,
except MemoryError.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import zlib
from dataclasses import dataclass
from io import BytesIO
from typing import IO, Final, Literal

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_noop
from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

logger = logging.getLogger(__name__)

RefusalCode = Literal[
    "empty",
    "too_large",
    "unsupported_type",
    "image_too_large",
    "image_broken",
    "pdf_encrypted",
    "pdf_broken",
    "pdf_active_content",
    "pdf_too_many_pages",
]

JPEG_MAGIC: Final = b"\xff\xd8\xff"
PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC: Final = b"%PDF-"

DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
DEFAULT_MAX_PIXELS: Final = 50_000_000
DEFAULT_MAX_PDF_PAGES: Final = 20

_READ_CHUNK: Final = 64 * 1024
# Upper bound on PDF dictionaries and arrays visited when looking for active content.
_PDF_MAX_NODES: Final = 100_000

# Exceptions that mean "this input does not decode"; anything else is unexpected (logged, still refused).
_IMAGE_ERRORS: Final = (
    OSError,  # includes PIL.UnidentifiedImageError and "image file is truncated"
    SyntaxError,  # Pillow's "broken PNG file" and friends
    ValueError,
    TypeError,
    LookupError,
    EOFError,
    ArithmeticError,
    AttributeError,
    NotImplementedError,
    RecursionError,
    struct.error,
    zlib.error,
)
_PDF_ERRORS: Final = (
    PyPdfError,
    ValueError,  # includes UnicodeDecodeError, binascii.Error
    LookupError,  # KeyError, IndexError
    TypeError,
    AttributeError,
    RecursionError,
    NotImplementedError,
    OSError,
    AssertionError,
    EOFError,
    ArithmeticError,
    struct.error,
    zlib.error,
)

# Action types (the /S of an action dictionary) that run code, open other files or send data.
_DENIED_ACTIONS: Final = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/GoToR",
        "/GoToE",
        "/GoTo3DView",
        "/SubmitForm",
        "/ImportData",
        "/Rendition",
        "/RichMediaExecute",
        "/Movie",
        "/Sound",
    }
)
# Annotation subtypes that carry files, media or 3D scripts.
_DENIED_ANNOTATIONS: Final = frozenset({"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"})
# Keys whose mere presence means active content: scripts, triggered actions, embedded files, XFA.
_DENIED_KEYS: Final = frozenset({"/JS", "/AA", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA"})
# Page entries copied into the stored PDF; everything else (metadata, thumbnails, piece info...) is dropped.
_PAGE_KEYS_KEPT: Final = frozenset(
    {
        "/Type",
        "/MediaBox",
        "/CropBox",
        "/BleedBox",
        "/TrimBox",
        "/ArtBox",
        "/Rotate",
        "/UserUnit",
        "/Resources",
        "/Contents",
        "/Annots",
        "/Group",
    }
)

_MESSAGES: Final[dict[RefusalCode, str]] = {
    "empty": gettext_noop("This file is empty. Choose the scanned document again and upload it."),
    "too_large": gettext_noop(
        "This file is larger than %(limit)s. Scan it at a lower resolution or save it as JPEG, then upload it again."
    ),
    "unsupported_type": gettext_noop(
        "This file is not a JPEG, PNG or PDF. Scan the document again, or save the scan as JPEG, PNG or PDF, "
        "and upload that file."
    ),
    "image_too_large": gettext_noop(
        "This image has too many pixels (more than %(limit)s megapixels). Scan it at a lower resolution and "
        "upload it again."
    ),
    "image_broken": gettext_noop(
        "This image is damaged or incomplete and cannot be opened. Scan the document again and upload the new file."
    ),
    "pdf_encrypted": gettext_noop(
        "This PDF is protected with a password or encryption. Remove the password and upload it again."
    ),
    "pdf_broken": gettext_noop(
        "This PDF is damaged or cannot be read. Save or print it again as a new PDF, or upload a JPEG scan instead."
    ),
    "pdf_active_content": gettext_noop(
        "This PDF contains scripts, attachments or interactive forms, which are not allowed. Print it to a new PDF "
        "or scan the paper document, and upload that instead."
    ),
    "pdf_too_many_pages": gettext_noop(
        "This PDF has %(pages)s pages, more than the %(limit)s allowed. Upload only the pages of this document."
    ),
}

ImageKind = Literal["jpeg", "png"]


@dataclass(frozen=True)
class CheckedFile:
    """A document that passed the checks, as it should be stored."""

    content: bytes  # what we store: re-encoded image or rewritten PDF
    content_type: str  # "image/jpeg" | "image/png" | "application/pdf"
    extension: str  # "jpg" | "png" | "pdf"
    sha256: str  # hex digest of content
    size: int  # len(content)
    pages: int  # 1 for images
    width: int | None  # images only
    height: int | None


class UploadRefused(ValueError):
    """The upload is not acceptable; `message` says why and what to do, in the active language."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(message)
        self.code: RefusalCode = code
        self.message: str = message

    def __repr__(self) -> str:
        return f"UploadRefused({self.code!r}, {self.message!r})"


def max_bytes() -> int:
    return int(getattr(settings, "DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_pixels() -> int:
    return int(getattr(settings, "DOCUMENT_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def max_pdf_pages() -> int:
    return int(getattr(settings, "DOCUMENT_MAX_PDF_PAGES", DEFAULT_MAX_PDF_PAGES))


def check_upload(stream: IO[bytes] | bytes) -> CheckedFile:
    """Check an uploaded document by its content; return what to store or raise UploadRefused."""
    limit = max_bytes()
    data = _read_at_most(stream, limit + 1)
    if not data:
        raise _refused("empty")
    if len(data) > limit:
        raise _refused("too_large", limit=_format_size(limit))
    if data.startswith(JPEG_MAGIC):
        return _check_image(data, "jpeg")
    if data.startswith(PNG_MAGIC):
        return _check_image(data, "png")
    if data.startswith(PDF_MAGIC):
        return _check_pdf(data)
    raise _refused("unsupported_type")


# --- Reading -------------------------------------------------------------------


def _read_at_most(stream: IO[bytes] | bytes | bytearray | memoryview, n: int) -> bytes:
    """Up to n bytes from the start of stream, reading no more than that."""
    if isinstance(stream, (bytes, bytearray, memoryview)):
        return bytes(stream[:n])
    seekable = getattr(stream, "seekable", None)
    if callable(seekable) and seekable():
        stream.seek(0)  # a form may already have read the upload
    chunks: list[bytes] = []
    remaining = n
    while remaining > 0:
        chunk = stream.read(min(_READ_CHUNK, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# --- Images --------------------------------------------------------------------


def _check_image(data: bytes, kind: ImageKind) -> CheckedFile:
    try:
        image = _decode_image(data, kind)
        content = _encode_image(image, kind)
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refused("image_too_large", limit=_megapixels(max_pixels())) from None
    except _IMAGE_ERRORS:
        raise _refused("image_broken") from None
    except MemoryError:
        raise
    except Exception:
        logger.exception("Unexpected error while decoding an uploaded %s image", kind)
        raise _refused("image_broken") from None
    width, height = image.size
    if kind == "jpeg":
        return _checked(content, "image/jpeg", "jpg", pages=1, width=width, height=height)
    return _checked(content, "image/png", "png", pages=1, width=width, height=height)


def _decode_image(data: bytes, kind: ImageKind) -> Image.Image:
    """Decode the first frame and turn it upright; refuse images with too many pixels before decoding."""
    formats = ["JPEG"] if kind == "jpeg" else ["PNG"]
    # Pillow itself raises DecompressionBombError at open() for sizes above twice Image.MAX_IMAGE_PIXELS.
    with Image.open(BytesIO(data), formats=formats) as probe:
        width, height = probe.size
        limit = max_pixels()
        if width * height > limit:
            raise _refused("image_too_large", limit=_megapixels(limit))
        probe.verify()  # PNG: chunk checksums; cheap, no pixel decoding
    with Image.open(BytesIO(data), formats=formats) as image:
        image.seek(0)  # animated PNG or MPO: the first frame only
        image.load()
        transparency = image.info.get("transparency")
        upright = ImageOps.exif_transpose(image)
    if transparency is not None and upright.mode in ("1", "L", "P", "RGB", "I", "I;16", "I;16B"):
        upright.info = {"transparency": transparency}
    else:
        upright.info = {}
    return upright


def _encode_image(image: Image.Image, kind: ImageKind) -> bytes:
    """Re-encode pixels only: image.info holds at most the PNG transparency, so no metadata is written."""
    info = image.info
    image.info = {}
    out = BytesIO()
    if kind == "jpeg":
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
            image.info = {}
        image.save(out, "JPEG", quality=90, optimize=True)
    else:
        extra: dict[str, object] = {}
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16", "I;16B"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            image.info = {}
        elif "transparency" in info:
            extra["transparency"] = info["transparency"]
        image.save(out, "PNG", optimize=True, **extra)
    return out.getvalue()


# --- PDF -----------------------------------------------------------------------


def _check_pdf(data: bytes) -> CheckedFile:
    try:
        reader = PdfReader(BytesIO(data), strict=True)
        if reader.is_encrypted:
            raise _refused("pdf_encrypted")
        count = len(reader.pages)
        if count == 0:
            raise _refused("pdf_broken")
        if count > max_pdf_pages():
            raise _refused("pdf_too_many_pages", pages=count, limit=max_pdf_pages())
        _refuse_active_content(reader)
        content = _rewrite_pdf(reader)
        # The copy must read back as cleanly as the original did.
        if len(PdfReader(BytesIO(content), strict=True).pages) != count:
            raise _refused("pdf_broken")
    except UploadRefused:
        raise
    except _PDF_ERRORS:
        raise _refused("pdf_broken") from None
    except MemoryError:
        raise
    except Exception:
        logger.exception("Unexpected error while reading an uploaded PDF")
        raise _refused("pdf_broken") from None
    return _checked(content, "application/pdf", "pdf", pages=count, width=None, height=None)


def _refuse_active_content(reader: PdfReader) -> None:
    """Walk every dictionary and array reachable from the catalogue (bounded), refusing active content."""
    catalog = reader.root_object
    open_action = catalog.get("/OpenAction")
    if isinstance(open_action, PdfObject):
        action = open_action.get_object()
        # A destination ([page /Fit]) or a go-to action (LaTeX's hyperref writes one) only opens at a page.
        if isinstance(action, DictionaryObject) and _name(action, "/S") != "/GoTo":
            raise _refused("pdf_active_content")
    seen: set[tuple[int, int]] = set()
    stack: list[PdfObject] = [catalog]
    budget = _PDF_MAX_NODES
    while stack:
        node: PdfObject | None = stack.pop()
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            _check_dictionary(node)
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)
        else:
            continue
        budget -= 1
        if budget <= 0:
            raise _refused("pdf_broken")  # far more structure than any scanned document has


def _check_dictionary(node: DictionaryObject) -> None:
    if not _DENIED_KEYS.isdisjoint(node.keys()):
        raise _refused("pdf_active_content")
    if _name(node, "/S") in _DENIED_ACTIONS or _name(node, "/Type") == "/EmbeddedFile":
        raise _refused("pdf_active_content")
    if _name(node, "/Subtype") in _DENIED_ANNOTATIONS:
        raise _refused("pdf_active_content")


def _name(node: DictionaryObject, key: str) -> str | None:
    value = node.get(key)
    if isinstance(value, IndirectObject):
        value = value.get_object()
    return str(value) if isinstance(value, NameObject) else None


def _rewrite_pdf(reader: PdfReader) -> bytes:
    """Copy the pages alone into a new PDF without document information or XMP metadata."""
    writer = PdfWriter()
    writer.metadata = None  # PdfWriter starts with /Info << /Producer (pypdf) >>
    for page in reader.pages:
        _ = page.mediabox  # parse lazily loaded entries now, so errors surface as pdf_broken
        dropped = [key for key in page if key not in _PAGE_KEYS_KEPT]
        writer.add_page(page, excluded_keys=dropped)
    writer.xmp_metadata = None
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


# --- Helpers -------------------------------------------------------------------


def _checked(
    content: bytes, content_type: str, extension: str, *, pages: int, width: int | None, height: int | None
) -> CheckedFile:
    return CheckedFile(
        content=content,
        content_type=content_type,
        extension=extension,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        pages=pages,
        width=width,
        height=height,
    )


def _refused(code: RefusalCode, **params: object) -> UploadRefused:
    message = gettext(_MESSAGES[code])
    if params:
        message = message % params
    return UploadRefused(code, message)


def _format_size(n: int) -> str:
    """5242880 -> "5 MB", 1536 -> "1.5 KB" (decimal separator of the active language)."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{_number(n / size)} {unit}"
    return f"{n} B"


def _megapixels(pixels: int) -> str:
    return _number(pixels / 1_000_000)


def _number(value: float) -> str:
    rounded = round(value, 1)
    return number_format(rounded, decimal_pos=0 if rounded == int(rounded) else 1)
