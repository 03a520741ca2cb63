"""Checks every backend applies to a file name before it touches the network or the disk.

Hostile names are refused with SuspiciousFileOperation, so nothing is stored and no request is
sent: `..` segments, absolute names, NUL and other control characters, text that is not valid
Unicode, and names longer than the backend can hold. Runs of `/` and `.` segments are folded so
`a//b` and `a/./b` mean `a/b`, as they do on a filesystem.
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousFileOperation


def _control_characters(name: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in name)


def clean_name(
    name: object,
    *,
    max_length: int | None = None,
    max_segment_bytes: int | None = None,
    allow_empty: bool = False,
    utf16_length: bool = False,
) -> str:
    """The normalized name, or SuspiciousFileOperation/TypeError saying what is wrong with it.

    `max_length` counts characters, or UTF-16 code units with `utf16_length` (as Vercel Blob does);
    `max_segment_bytes` bounds each path segment's UTF-8 size (255 on common filesystems).
    `allow_empty` accepts "" (the root, for listdir).
    """
    if not isinstance(name, str):
        raise TypeError(f"a file name must be a str, not {type(name).__name__}")
    if "\x00" in name:
        raise SuspiciousFileOperation("File names cannot contain NUL characters.")
    if _control_characters(name):
        raise SuspiciousFileOperation("File names cannot contain control characters.")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise SuspiciousFileOperation("File names must be valid Unicode text.") from None
    if name.startswith(("/", "\\")):
        raise SuspiciousFileOperation(f"File names must be relative, not absolute: {name[:100]!r}")
    # Backslashes are ordinary characters in a stored name, but Django reads them as separators when
    # it validates names, so `..\\` is refused like `../`.
    if ".." in name.replace("\\", "/").split("/"):
        raise SuspiciousFileOperation(f"Detected path traversal attempt in {name[:100]!r}")
    segments = [segment for segment in name.split("/") if segment not in ("", ".")]
    cleaned = "/".join(segments)
    if not cleaned and not allow_empty:
        raise SuspiciousFileOperation("A file name is required.")
    length = len(cleaned.encode("utf-16-le")) // 2 if utf16_length else len(cleaned)
    if max_length is not None and length > max_length:
        raise SuspiciousFileOperation(f"File name is too long ({length} > {max_length} characters).")
    if max_segment_bytes is not None:
        for segment in segments:
            if len(segment.encode("utf-8")) > max_segment_bytes:
                raise SuspiciousFileOperation(
                    f"A part of the file name is too long ({len(segment.encode())} > {max_segment_bytes} bytes)."
                )
    return cleaned


def check_save_arguments(name: object, content: object) -> None:
    """Refuse what Django's Storage.save would otherwise turn into a surprising name or a late crash."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"a file name must be a str, not {type(name).__name__}")
    if not (hasattr(content, "read") or hasattr(content, "chunks")):
        raise TypeError(f"content must be a File or a file-like object, not {type(content).__name__}")
