"""Thumbnails of product photos, made with Pillow when the photo is promoted."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from PIL import Image, ImageOps

THUMBNAIL_SIZE = (300, 300)


def make_thumbnail(source: Path | BinaryIO, size: tuple[int, int] = THUMBNAIL_SIZE) -> bytes:
    """A JPEG no larger than `size`, upright (EXIF orientation applied), transparency flattened on white.

    `source` is a path or a seekable binary file positioned at the photo's start. The pixel count is
    checked from the header before any decode (ValueError past IMAGE_MAX_PIXELS). The photo is decoded
    small where the format allows it (a JPEG's `draft`: the decoder itself scales by 1/2 to 1/8) and
    reduced before it is resampled, then turned upright: turning the full photo first would decode
    it at full size and copy it once more.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the budget below decides
        image = Image.open(source)
    with image:
        width, height = image.size
        if width * height > settings.IMAGE_MAX_PIXELS:
            raise ValueError(f"the photo is {width}x{height} pixels, over IMAGE_MAX_PIXELS")
        image.seek(0)  # the first frame of an animated GIF or WebP
        # The box of a square thumbnail fits a photo turned by EXIF either way; twice the size kept for quality.
        image.draft("RGB", (size[0] * 2, size[1] * 2))
        image.thumbnail(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A"))
            image = background
        elif image.mode != "RGB":
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()
