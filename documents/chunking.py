"""Overlapping chunks of a document's text, each small enough for the embedder to read whole.

Chunks end on a sentence end when one is near the size limit, else on a word boundary; a word
longer than a chunk is cut. Each chunk after the first starts about `overlap` characters before
the previous one ended (on a word start), so a sentence cut at a boundary is whole in one chunk.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]*$")
# A sentence end is preferred when it lies in the last part of the window.
SENTENCE_WINDOW = 0.3


def chunk_text(text: str, *, size: int, overlap: int) -> list[str]:
    return [text[start:end] for start, end in chunk_spans(text, size=size, overlap=overlap)]


def chunk_spans(text: str, *, size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the chunks in `text`: where each begins tells its page or section."""
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError("chunk size must be positive and the overlap smaller than it")
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not words:
        return []
    words = _split_long_words(words, size)
    chunks: list[tuple[int, int]] = []
    first = 0
    while first < len(words):
        start = words[first][0]
        last = first
        while last + 1 < len(words) and words[last + 1][1] - start <= size:
            last += 1
        if last < len(words) - 1:
            last = _sentence_end_before(text, words, first, last, start, size)
        chunks.append((start, words[last][1]))
        if last == len(words) - 1:
            break
        # Step back over whole words until about `overlap` characters repeat, always moving forward.
        next_first = last + 1
        boundary = words[last][1] - overlap
        while next_first - 1 > first and words[next_first - 1][0] >= boundary:
            next_first -= 1
        first = next_first
    return chunks


def _split_long_words(words: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    out = []
    for start, end in words:
        while end - start > size:
            out.append((start, start + size))
            start += size
        out.append((start, end))
    return out


def _sentence_end_before(text: str, words: list[tuple[int, int]], first: int, last: int, start: int, size: int) -> int:
    window_start = start + int(size * (1 - SENTENCE_WINDOW))
    for index in range(last, first, -1):
        if words[index][1] < window_start:
            break
        if _SENTENCE_END.search(text[words[index][0] : words[index][1]]):
            return index
    return last
