"""Thumbnails of product photos, made with Pillow when the photo is promoted."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

THUMBNAIL_SIZE = (300, 300)


def make_thumbnail(source: Path | BinaryIO, size: tuple[int, int] = THUMBNAIL_SIZE) -> bytes:
    """A JPEG no larger than `size`, upright (EXIF orientation applied), transparency flattened on white.

    `source` is a path or a seekable binary file positioned at the photo's start.
    """
    with Image.open(source) as image:
        image.seek(0)  # the first frame of an animated GIF or WebP
        image = ImageOps.exif_transpose(image)
        image.thumbnail(size, Image.Resampling.LANCZOS)
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A"))
            image = background
        elif image.mode != "RGB":
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()
