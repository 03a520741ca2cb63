"""Streams for tests that show how much of a file the code under test reads."""

import io


class CountingStream(io.BytesIO):
    """An in-memory binary stream that counts the bytes read from it (by read or readline)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.bytes_read += len(line)
        return line
