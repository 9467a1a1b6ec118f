"""Uploaded documents are checked by content and stored without metadata or active content.

No database: these tests exercise gerbang.applications.uploads on bytes alone.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageCms
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from gerbang.applications import uploads
from gerbang.applications.uploads import CheckedFile, UploadRefused, check_upload

from . import samples

RED = (220, 0, 0)
WHITE = (255, 255, 255)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def refused(data: bytes) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        check_upload(data)
    return caught.value


def decoded(checked: CheckedFile) -> Image.Image:
    image = Image.open(BytesIO(checked.content))
    image.load()
    return image


def close_to(pixel: Any, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


# --- Accepted files --------------------------------------------------------------


def test_jpeg_is_accepted_and_re_encoded() -> None:
    original = samples.jpeg_bytes()
    checked = check_upload(original)
    assert (checked.content_type, checked.extension, checked.pages) == ("image/jpeg", "jpg", 1)
    assert (checked.width, checked.height) == (600, 400)
    assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()
    assert checked.size == len(checked.content)
    assert checked.content != original  # re-encoded, not stored as uploaded
    image = decoded(checked)
    assert (image.format, image.size, image.mode) == ("JPEG", (600, 400), "RGB")
    assert close_to(image.getpixel((30, 30)), RED)


def test_png_is_accepted_and_re_encoded() -> None:
    checked = check_upload(samples.png_bytes(640, 480))
    assert (checked.content_type, checked.extension, checked.pages) == ("image/png", "png", 1)
    assert (checked.width, checked.height) == (640, 480)
    assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()
    assert checked.size == len(checked.content)
    image = decoded(checked)
    assert (image.format, image.size) == ("PNG", (640, 480))
    assert image.convert("RGB").getpixel((30, 30)) == RED  # lossless


def test_pdf_is_accepted_and_rewritten_page_by_page() -> None:
    checked = check_upload(samples.pdf_bytes(3))
    assert (checked.content_type, checked.extension, checked.pages) == ("application/pdf", "pdf", 3)
    assert (checked.width, checked.height) == (None, None)
    assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()
    assert checked.size == len(checked.content)
    assert checked.content.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(checked.content), strict=True)
    assert [page.extract_text() for page in reader.pages] == ["Halaman 1", "Halaman 2", "Halaman 3"]
    assert [float(page.mediabox.width) for page in reader.pages] == [595, 595, 595]


def test_same_upload_gives_the_same_stored_bytes() -> None:
    for data in (samples.jpeg_bytes(exif_gps=True), samples.png_bytes(), samples.pdf_bytes(2)):
        assert check_upload(data).sha256 == check_upload(data).sha256


def test_the_name_and_content_type_of_an_uploaded_file_are_ignored() -> None:
    upload = SimpleUploadedFile("ktp.pdf", samples.jpeg_bytes(), content_type="application/pdf")
    checked = check_upload(upload)
    assert (checked.content_type, checked.extension) == ("image/jpeg", "jpg")

    disguised = SimpleUploadedFile("ktp.jpg", b"<!DOCTYPE html><script>alert(1)</script>", content_type="image/jpeg")
    with pytest.raises(UploadRefused) as caught:
        check_upload(disguised)
    assert caught.value.code == "unsupported_type"


def test_an_upload_already_read_by_a_form_is_read_from_the_start() -> None:
    upload = SimpleUploadedFile("scan.png", samples.png_bytes(), content_type="image/png")
    upload.read()
    assert check_upload(upload).content_type == "image/png"


class CountingStream(BytesIO):
    """Records how many bytes were read, and hands them out in small pieces as sockets do."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0 or size > 1000:
            size = 1000
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_short_reads_are_joined_and_no_more_than_limit_plus_one_byte_is_read(settings: Any) -> None:
    data = samples.pdf_bytes(2)
    assert check_upload(CountingStream(data)).pages == 2

    settings.DOCUMENT_MAX_BYTES = 4096
    stream = CountingStream(uploads.JPEG_MAGIC + bytes(10 * 1024 * 1024))
    with pytest.raises(UploadRefused) as caught:
        check_upload(stream)
    assert caught.value.code == "too_large"
    assert stream.bytes_read == 4097


# --- Image metadata and orientation ------------------------------------------------


def test_exif_with_gps_position_is_removed() -> None:
    original = samples.jpeg_bytes(exif_gps=True)
    # The sample really carries them, so the assertions below can fail.
    assert samples.GPS_MARKER.encode() in original and samples.CAMERA_MAKE.encode() in original
    assert Image.open(BytesIO(original)).getexif().get_ifd(0x8825)

    checked = check_upload(original)
    image = decoded(checked)
    assert len(image.getexif()) == 0
    assert image.getexif().get_ifd(0x8825) == {}
    assert "exif" not in image.info
    assert b"Exif\x00\x00" not in checked.content
    assert samples.GPS_MARKER.encode() not in checked.content
    assert samples.CAMERA_MAKE.encode() not in checked.content


def test_png_text_chunk_is_removed() -> None:
    original = samples.png_bytes(text_chunk="Alamat: Jl. Merdeka 1, Jakarta")
    assert b"tEXt" in original and b"Jl. Merdeka" in original

    checked = check_upload(original)
    image = decoded(checked)
    assert getattr(image, "text", None) == {}
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"):
        assert chunk not in checked.content
    assert b"Jl. Merdeka" not in checked.content


def test_icc_profile_comment_and_xmp_are_dropped() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.open(BytesIO(samples.jpeg_bytes()))
    out = BytesIO()
    image.save(out, "JPEG", icc_profile=profile, comment=b"GERBANG-COMMENT", xmp=b"<x:xmpmeta>GERBANG-XMP</x:xmpmeta>")
    original = out.getvalue()
    assert b"ICC_PROFILE" in original and b"GERBANG-COMMENT" in original and b"GERBANG-XMP" in original

    checked = check_upload(original)
    assert b"ICC_PROFILE" not in checked.content
    assert b"GERBANG-COMMENT" not in checked.content
    assert b"GERBANG-XMP" not in checked.content
    assert "icc_profile" not in decoded(checked).info

    out = BytesIO()
    Image.open(BytesIO(samples.png_bytes())).save(out, "PNG", icc_profile=profile)
    assert b"iCCP" in out.getvalue()
    assert b"iCCP" not in check_upload(out.getvalue()).content


@pytest.mark.parametrize(
    ("orientation", "size", "red_corner"),
    [
        (None, (600, 400), "top_left"),
        (3, (600, 400), "bottom_right"),  # rotated 180 degrees
        (6, (400, 600), "top_right"),  # rotate 90 degrees clockwise to display
        (8, (400, 600), "bottom_left"),  # rotate 90 degrees anticlockwise to display
    ],
)
def test_exif_orientation_is_applied_to_the_pixels(
    orientation: int | None, size: tuple[int, int], red_corner: str
) -> None:
    checked = check_upload(samples.jpeg_bytes(orientation=orientation))
    image = decoded(checked).convert("RGB")
    assert image.size == size == (checked.width, checked.height)
    w, h = size
    corners = {
        "top_left": (30, 30),
        "top_right": (w - 31, 30),
        "bottom_left": (30, h - 31),
        "bottom_right": (w - 31, h - 31),
    }
    for name, xy in corners.items():
        assert close_to(image.getpixel(xy), RED if name == red_corner else WHITE), name
    assert len(decoded(checked).getexif()) == 0  # no orientation tag left to rotate it twice


def test_cmyk_jpeg_is_stored_as_rgb() -> None:
    out = BytesIO()
    Image.open(BytesIO(samples.jpeg_bytes())).convert("CMYK").save(out, "JPEG")
    checked = check_upload(out.getvalue())
    assert decoded(checked).mode == "RGB"


def test_png_transparency_and_palette_survive() -> None:
    rgba = Image.new("RGBA", (50, 40), (0, 0, 255, 0))
    rgba.paste((10, 200, 10, 255), (0, 0, 10, 10))
    out = BytesIO()
    rgba.save(out, "PNG")
    image = decoded(check_upload(out.getvalue()))
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (10, 200, 10, 255)
    assert image.getpixel((40, 30)) == (0, 0, 255, 0)

    palette = Image.open(BytesIO(samples.png_bytes(mode="P")))
    out = BytesIO()
    palette.save(out, "PNG", transparency=0)
    image = decoded(check_upload(out.getvalue()))
    assert image.mode == "P"
    assert image.info.get("transparency") == 0


def test_only_the_first_frame_of_an_animated_png_is_kept() -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in (RED, (0, 0, 200), (0, 200, 0))]
    out = BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    original = out.getvalue()
    assert getattr(Image.open(BytesIO(original)), "n_frames", 1) == 3

    image = decoded(check_upload(original))
    assert getattr(image, "n_frames", 1) == 1
    assert image.convert("RGB").getpixel((5, 5)) == RED
    assert b"acTL" not in check_upload(original).content


# --- Refused files -----------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", bytearray()], ids=["bytes", "bytearray"])
def test_empty_file_is_refused(data: bytes) -> None:
    error = refused(data)
    assert error.code == "empty"
    assert "empty" in error.message
    with pytest.raises(UploadRefused) as caught:
        check_upload(BytesIO(b""))
    assert caught.value.code == "empty"


def test_file_over_the_limit_is_refused(settings: Any) -> None:
    data = samples.jpeg_bytes()
    settings.DOCUMENT_MAX_BYTES = len(data)
    assert check_upload(data).content_type == "image/jpeg"  # exactly at the limit

    settings.DOCUMENT_MAX_BYTES = len(data) - 1
    error = refused(data)
    assert error.code == "too_large"

    settings.DOCUMENT_MAX_BYTES = 2048
    assert "larger than 2 KB" in refused(data).message


def test_the_default_limit_is_five_megabytes(settings: Any) -> None:
    del settings.DOCUMENT_MAX_BYTES
    error = refused(uploads.JPEG_MAGIC + bytes(5 * 1024 * 1024))
    assert error.code == "too_large"
    assert "This file is larger than 5 MB." in error.message
    assert "JPEG" in error.message


def test_upload_refused_is_a_value_error_carrying_code_and_message() -> None:
    error = refused(b"GIF89a")
    assert isinstance(error, ValueError)
    assert error.code == "unsupported_type"
    assert str(error) == error.message
    assert "JPEG, PNG or PDF" in error.message


@pytest.mark.parametrize(
    "data",
    [
        samples.gif_bytes(),
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"Nama: Budi\nNIK: 3171234567890001\n",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200),  # a Windows .exe renamed .jpg
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(100),  # zip / docx
        b"BM" + bytes(100),  # BMP
        b"II*\x00" + bytes(100),  # TIFF
        b"\xff\xd8",  # two bytes of a JPEG signature
        b"\x89PNG\r\n\x1a",  # seven of the eight PNG signature bytes
        b"\n%PDF-1.4\n" + samples.pdf_bytes()[9:],  # the PDF header must be at offset 0
        b"%PDF" + samples.pdf_bytes()[5:],
    ],
    ids=["gif", "html", "svg", "text", "exe", "zip", "bmp", "tiff", "jpeg-2", "png-7", "pdf-offset", "pdf-nodash"],
)
def test_other_kinds_are_refused_as_unsupported(data: bytes) -> None:
    assert refused(data).code == "unsupported_type"


def test_huge_pixel_png_is_refused_before_decoding() -> None:
    bomb = samples.huge_png_bytes()  # 20000 x 20000: Pillow's own bomb check fires at open()
    just_over = samples.huge_png_bytes(8_000, 7_000)  # 56 Mpx: below Pillow's check, above ours
    assert len(bomb) < 100_000 and len(just_over) < 100_000
    for data in (bomb, just_over):
        started = time.perf_counter()
        error = refused(data)
        assert error.code == "image_too_large"
        assert "50 megapixels" in error.message
        assert time.perf_counter() - started < 1.0  # decoding 56-400 Mpx would take far longer


def test_pixel_limit_comes_from_settings(settings: Any) -> None:
    settings.DOCUMENT_MAX_PIXELS = 600 * 400
    assert check_upload(samples.jpeg_bytes(600, 400)).width == 600
    settings.DOCUMENT_MAX_PIXELS = 600 * 400 - 1
    assert refused(samples.jpeg_bytes(600, 400)).code == "image_too_large"
    assert refused(samples.png_bytes(600, 400)).code == "image_too_large"


@pytest.mark.parametrize("kind", ["jpeg", "png"])
@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.9, 0.98])
def test_truncated_images_are_refused_as_broken(kind: str, fraction: float) -> None:
    whole = samples.jpeg_bytes() if kind == "jpeg" else samples.png_bytes()
    assert check_upload(whole)  # the whole file is fine
    assert refused(samples.truncated(whole, int(len(whole) * fraction))).code == "image_broken"


def test_image_with_a_bad_checksum_is_refused_as_broken() -> None:
    data = bytearray(samples.png_bytes())
    idat = data.index(b"IDAT")
    data[idat + 40] ^= 0xFF  # inside the compressed pixels, so the chunk CRC no longer matches
    assert refused(bytes(data)).code == "image_broken"


def test_image_magic_with_garbage_is_refused_as_broken() -> None:
    assert refused(uploads.JPEG_MAGIC + b"\x00" * 500).code == "image_broken"
    assert refused(uploads.PNG_MAGIC + b"\x00" * 500).code == "image_broken"


# --- PDF -------------------------------------------------------------------------


def as_dict(obj: Any) -> DictionaryObject:
    resolved = obj.get_object()
    assert isinstance(resolved, DictionaryObject)
    return resolved


def pdf_with(change: Callable[[PdfWriter], None], pages: int = 1) -> bytes:
    """A sample PDF altered by `change` before it is written."""
    writer = PdfWriter(clone_from=PdfReader(BytesIO(samples.pdf_bytes(pages))))
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def javascript_action(writer: PdfWriter) -> Any:
    return writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Action"),
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hai')"),
            }
        )
    )


def annotation(writer: PdfWriter, subtype: str, **entries: Any) -> None:
    annot = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject(subtype),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (36, 36, 200, 60)]),
        }
    )
    annot.update({NameObject(f"/{key}"): value for key, value in entries.items()})
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annot)])


def action(kind: str, **entries: Any) -> DictionaryObject:
    result = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind)})
    result.update({NameObject(f"/{key}"): value for key, value in entries.items()})
    return result


def open_action_script(w: PdfWriter) -> None:
    w.root_object[NameObject("/OpenAction")] = javascript_action(w)


def open_action_uri(w: PdfWriter) -> None:
    w.root_object[NameObject("/OpenAction")] = action("/URI", URI=TextStringObject("https://example.com/"))


def document_additional_action(w: PdfWriter) -> None:
    w.root_object[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): javascript_action(w)})


def page_additional_action(w: PdfWriter) -> None:
    w.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): javascript_action(w)})


def link_launch(w: PdfWriter) -> None:
    annotation(w, "/Link", A=action("/Launch", F=TextStringObject("cmd.exe")))


def link_script(w: PdfWriter) -> None:
    annotation(w, "/Link", A=javascript_action(w))


def link_chained_script(w: PdfWriter) -> None:
    # Harmless first action, script in /Next.
    annotation(w, "/Link", A=action("/URI", URI=TextStringObject("https://x.test/"), Next=javascript_action(w)))


def link_remote_file(w: PdfWriter) -> None:
    annotation(w, "/Link", A=action("/GoToR", F=TextStringObject("\\\\server\\share\\x.pdf")))


def widget_submit(w: PdfWriter) -> None:
    annotation(w, "/Widget", A=action("/SubmitForm", F=TextStringObject("https://evil.test/")))


def file_attachment_annotation(w: PdfWriter) -> None:
    stream = w._add_object(DictionaryObject({NameObject("/Type"): NameObject("/EmbeddedFile")}))
    spec = DictionaryObject({NameObject("/F"): TextStringObject("x.exe"), NameObject("/EF"): stream})
    annotation(w, "/FileAttachment", FS=spec)


def xfa_form(w: PdfWriter) -> None:
    w.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): TextStringObject("<xdp:xdp/>")}
    )


def script_deep_in_resources(w: PdfWriter) -> None:
    # Not a place a viewer looks, but it would be copied along with the page.
    resources = as_dict(w.pages[0]["/Resources"])
    resources[NameObject("/Extra")] = ArrayObject([DictionaryObject({NameObject("/Next"): javascript_action(w)})])


ACTIVE = [
    open_action_script,
    open_action_uri,
    document_additional_action,
    page_additional_action,
    link_launch,
    link_script,
    link_chained_script,
    link_remote_file,
    widget_submit,
    file_attachment_annotation,
    xfa_form,
    script_deep_in_resources,
]


def test_pdf_with_document_javascript_is_refused() -> None:
    error = refused(samples.pdf_bytes(javascript="app.launchURL('https://evil.test/')"))
    assert error.code == "pdf_active_content"
    assert "scripts" in error.message


def test_pdf_with_embedded_file_is_refused() -> None:
    assert refused(samples.pdf_bytes(embedded_file=True)).code == "pdf_active_content"


@pytest.mark.parametrize("change", ACTIVE, ids=[change.__name__ for change in ACTIVE])
def test_pdf_with_active_content_is_refused(change: Callable[[PdfWriter], None]) -> None:
    assert refused(pdf_with(change)).code == "pdf_active_content"


def test_navigation_and_web_links_are_allowed_and_kept() -> None:
    def change(w: PdfWriter) -> None:
        w.root_object[NameObject("/OpenAction")] = ArrayObject([w.pages[1].indirect_reference, NameObject("/Fit")])
        annotation(w, "/Link", A=action("/URI", URI=TextStringObject("https://imigrasi.go.id/")))

    checked = check_upload(pdf_with(change, pages=2))
    annots = PdfReader(BytesIO(checked.content)).pages[0]["/Annots"].get_object()
    assert isinstance(annots, ArrayObject) and len(annots) == 1
    link = as_dict(as_dict(annots[0])["/A"])
    assert link["/URI"] == "https://imigrasi.go.id/"

    def go_to(w: PdfWriter) -> None:  # what LaTeX's hyperref writes
        w.root_object[NameObject("/OpenAction")] = action(
            "/GoTo", D=ArrayObject([w.pages[0].indirect_reference, NameObject("/Fit")])
        )

    assert check_upload(pdf_with(go_to)).pages == 1


@pytest.mark.parametrize("password", ["", "rahasia"], ids=["empty-user-password", "password"])
def test_encrypted_pdf_is_refused(password: str) -> None:
    data = samples.pdf_bytes(encrypt_password=password)
    assert PdfReader(BytesIO(data)).is_encrypted
    error = refused(data)
    assert error.code == "pdf_encrypted"
    assert "Remove the password" in error.message


def test_pdf_metadata_is_not_stored() -> None:
    def add_xmp(w: PdfWriter) -> None:
        w.xmp_metadata = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GERBANG-XMP</x:xmpmeta>'
        page = w.pages[0]
        page[NameObject("/PieceInfo")] = DictionaryObject({NameObject("/Scanner"): TextStringObject("GERBANGPIECE")})
        page[NameObject("/Thumb")] = NameObject("/GERBANGTHUMB")

    original = pdf_with(add_xmp)
    original_with_title = samples.pdf_bytes(metadata_title="KTP Budi Santoso")
    assert b"KTP Budi Santoso" in original_with_title and samples.PDF_AUTHOR.encode() in original_with_title
    assert b"GERBANG-XMP" in original and b"GERBANGPIECE" in original

    stored = check_upload(original_with_title).content
    reader = PdfReader(BytesIO(stored))
    assert reader.metadata is None
    assert "/Info" not in reader.trailer
    assert b"KTP Budi Santoso" not in stored
    assert samples.PDF_AUTHOR.encode() not in stored
    assert b"pypdf" not in stored  # not even the writer's /Producer

    stored = check_upload(original).content
    reader = PdfReader(BytesIO(stored))
    assert reader.xmp_metadata is None
    assert "/Metadata" not in reader.root_object
    assert set(reader.pages[0].keys()) <= {"/Type", "/Parent", "/MediaBox", "/Resources", "/Contents"}
    for marker in (b"GERBANG-XMP", b"GERBANGPIECE", b"GERBANGTHUMB"):
        assert marker not in stored


def test_rotation_and_crop_box_are_kept() -> None:
    def change(w: PdfWriter) -> None:
        w.pages[0].rotate(90)
        w.pages[0][NameObject("/CropBox")] = ArrayObject([FloatObject(v) for v in (10, 10, 500, 800)])

    page = PdfReader(BytesIO(check_upload(pdf_with(change)).content)).pages[0]
    assert page.rotation == 90
    assert [float(v) for v in page.cropbox] == [10, 10, 500, 800]


def broken_pdfs() -> list[tuple[str, bytes]]:
    whole = samples.pdf_bytes(2)
    header_and_garbage = b"%PDF-1.7\n" + random.Random(7).randbytes(2000)
    xref = whole.index(b"xref")
    shifted = whole[:200] + b"% shifting every later object\n" + whole[200:]
    cases = [
        ("header-only", b"%PDF-1.7\n"),
        ("header-and-garbage", header_and_garbage),
        ("header-and-eof", b"%PDF-1.4\n%%EOF\n"),
        ("bad-xref", whole[:xref] + b"xref\n0 zz\ngarbage\n" + whole[whole.index(b"trailer") :]),
        ("offsets-shifted", shifted),
        # (pypdf recovers a trailer without /Root, even when strict, by searching for the /Catalog.)
        ("root-missing", whole.replace(b"/Root 3 0 R", b"/Root 99 0 R")),
        ("page-not-a-page", whole.replace(b"/Type /Page\n", b"/Type /Paeg\n")),
        ("no-media-box", whole.replace(b"/MediaBox", b"/MediaBax")),
    ]
    cases += [(f"truncated-{n}", samples.truncated(whole, n)) for n in (5, 9, 64, len(whole) // 2, len(whole) - 8)]
    return cases


@pytest.mark.parametrize(("name", "data"), broken_pdfs(), ids=[name for name, _ in broken_pdfs()])
def test_broken_pdf_is_refused(name: str, data: bytes) -> None:
    error = refused(data)
    assert error.code == "pdf_broken", name
    assert "damaged" in error.message


def test_pdf_without_pages_is_refused() -> None:
    writer = PdfWriter()
    out = BytesIO()
    writer.write(out)
    assert len(PdfReader(BytesIO(out.getvalue())).pages) == 0
    assert refused(out.getvalue()).code == "pdf_broken"


def test_pdf_page_limit(settings: Any) -> None:
    error = refused(samples.pdf_bytes(21))
    assert error.code == "pdf_too_many_pages"
    assert "21 pages" in error.message and "20 allowed" in error.message
    assert check_upload(samples.pdf_bytes(20)).pages == 20

    settings.DOCUMENT_MAX_PDF_PAGES = 3
    assert check_upload(samples.pdf_bytes(3)).pages == 3
    assert refused(samples.pdf_bytes(4)).code == "pdf_too_many_pages"


def test_pdf_walk_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    data = samples.pdf_bytes(3)
    assert check_upload(data).pages == 3
    monkeypatch.setattr(uploads, "_PDF_MAX_NODES", 5)
    assert refused(data).code == "pdf_broken"


def test_pdf_reference_cycles_do_not_hang() -> None:
    def change(w: PdfWriter) -> None:
        a = w._add_object(DictionaryObject())
        b = w._add_object(DictionaryObject({NameObject("/Back"): a}))
        as_dict(a)[NameObject("/Forth")] = b
        as_dict(a)[NameObject("/Self")] = a
        as_dict(w.pages[0]["/Resources"])[NameObject("/Loop")] = a

    started = time.perf_counter()
    assert check_upload(pdf_with(change)).pages == 1
    assert time.perf_counter() - started < 2.0


# --- Fuzzing -----------------------------------------------------------------------


def fuzz_inputs(rng: random.Random, count: int) -> Iterator[bytes]:
    valid = [
        samples.jpeg_bytes(120, 90, exif_gps=True, orientation=6),
        samples.png_bytes(120, 90, text_chunk="x"),
        samples.png_bytes(60, 40, mode="P"),
        samples.pdf_bytes(2, metadata_title="t"),
        pdf_with(link_launch),
    ]
    magics = [b"", uploads.JPEG_MAGIC, uploads.PNG_MAGIC, b"%PDF-1.7\n"]
    for i in range(count):
        kind = i % 4
        if kind == 0:  # a magic number followed by random bytes
            yield rng.choice(magics) + rng.randbytes(rng.randrange(0, 3000))
        elif kind == 1:  # a valid file cut short
            data = rng.choice(valid)
            yield data[: rng.randrange(1, len(data))]
        elif kind == 2:  # a valid file with a few bytes changed
            mutated = bytearray(rng.choice(valid))
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            yield bytes(mutated)
        else:  # a valid file with a stretch replaced by random bytes
            data = rng.choice(valid)
            start = rng.randrange(len(data))
            yield data[:start] + rng.randbytes(rng.randrange(0, 64)) + data[start + rng.randrange(0, 64) :]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about some corrupt EXIF and MPO headers
def test_fuzzed_input_only_ever_raises_upload_refused(caplog: pytest.LogCaptureFixture) -> None:
    codes: dict[str, int] = {}
    for data in fuzz_inputs(random.Random(20260704), 400):
        try:
            checked = check_upload(data)
        except UploadRefused as error:
            assert error.code in uploads._MESSAGES
            codes[error.code] = codes.get(error.code, 0) + 1
        else:
            assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()
            assert checked.content[:3] in (uploads.JPEG_MAGIC, uploads.PNG_MAGIC[:3], b"%PD")
            codes["accepted"] = codes.get("accepted", 0) + 1
    # Only anticipated exception types: the catch-all in uploads.py logs anything else.
    unexpected = [r for r in caplog.records if r.name == uploads.logger.name]
    assert unexpected == [], [r.getMessage() for r in unexpected]
    # The inputs reached every decoder.
    assert {"image_broken", "pdf_broken", "unsupported_type", "accepted"} <= set(codes)
