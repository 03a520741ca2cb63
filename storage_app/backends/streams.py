"""What the backends' streamed downloads share."""

from __future__ import annotations

import io


def seek_target(offset: int, whence: int, *, position: int, size: int) -> int:
    """The absolute position `seek(offset, whence)` asks for, from `position` in a stream of `size` bytes."""
    if whence == io.SEEK_SET:
        target = offset
    elif whence == io.SEEK_CUR:
        target = position + offset
    elif whence == io.SEEK_END:
        target = size + offset
    else:
        raise ValueError(f"invalid whence ({whence})")
    if target < 0:
        raise ValueError(f"negative seek position {target}")
    return target
