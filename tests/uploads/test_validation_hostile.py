"""Images are decoded in full once at upload, their pixels counted from the header before any decode."""

import time

import pytest

from tests import hostile
from tests.uploads.files import image_bytes
from uploads.thumbnails import make_thumbnail
from uploads.validation import UploadRejected, sniff_type

REFUSED = {
    "png-decompression-bomb": (hostile.png_decompression_bomb, "image_too_large"),
    "truncated-jpeg": (hostile.truncated_jpeg, "corrupt_image"),
    "jpeg-markers-then-html": (hostile.jpeg_markers_then_html, "corrupt_image"),
    "png-with-html": (hostile.png_with_html, "corrupt_image"),
    "gif-javascript-polyglot": (hostile.gif_javascript_polyglot, "corrupt_image"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_hostile_image_is_refused_with_its_reason(tmp_path, case):
    build, code = REFUSED[case]
    path = tmp_path / "upload"
    path.write_bytes(build())
    started = time.monotonic()
    with pytest.raises(UploadRejected) as excinfo:
        sniff_type(path, kind="image", filename="photo")
    assert excinfo.value.code == code, excinfo.value.messages
    assert time.monotonic() - started < 2  # refused from the header, not after a decode


def test_an_image_past_pillows_own_guard_is_too_large_too(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(hostile.png_of_zeros(20000, 10000, color_type=0))  # 200 Mpx: Pillow refuses to open it
    with pytest.raises(UploadRejected) as excinfo:
        sniff_type(path, kind="image", filename="photo.png")
    assert excinfo.value.code == "image_too_large"


def test_the_pixel_budget_is_a_setting(tmp_path, settings):
    settings.IMAGE_MAX_PIXELS = 100 * 100
    path = tmp_path / "upload"
    path.write_bytes(hostile.png_of_zeros(101, 100))
    with pytest.raises(UploadRejected, match="101x100 pixels; the largest accepted is 10000") as excinfo:
        sniff_type(path, kind="image", filename="photo.png")
    assert excinfo.value.code == "image_too_large"
    path.write_bytes(hostile.png_of_zeros(100, 100))
    assert sniff_type(path, kind="image", filename="photo.png").content_type == "image/png"


def test_a_gif_of_thousands_of_frames_is_read_by_its_first(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(hostile.gif_with_thousands_of_frames())
    started = time.monotonic()
    assert sniff_type(path, kind="image", filename="anim.gif").content_type == "image/gif"
    assert make_thumbnail(path)[:2] == b"\xff\xd8"
    assert time.monotonic() - started < 2


def test_the_thumbnail_refuses_an_image_over_the_budget(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(hostile.png_decompression_bomb())
    with pytest.raises(ValueError, match="over IMAGE_MAX_PIXELS"):
        make_thumbnail(path)


def test_a_big_jpeg_is_decoded_small_for_its_thumbnail(tmp_path):
    from PIL import Image

    path = tmp_path / "big.jpg"
    path.write_bytes(hostile.jpeg(4000, 3000))
    with Image.open(path) as image:
        image.draft("RGB", (600, 600))
        assert image.size == (1000, 750)  # the decoder scales by 1/4: what make_thumbnail asks for
    with Image.open(__import__("io").BytesIO(make_thumbnail(path))) as thumb:
        assert thumb.size == (300, 225)


def test_an_ordinary_photo_still_passes(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(image_bytes("JPEG"))
    assert sniff_type(path, kind="image", filename="a.jpg").content_type == "image/jpeg"
