import itertools
import re

import pytest

from documents.chunking import chunk_text

TEXT = " ".join(f"Invoice {n} lists {n * 3} woven baskets shipped to Nairobi on pallet {n}." for n in range(1, 60))


def words(text: str) -> list[str]:
    return text.split()


def test_empty_and_short_texts():
    assert chunk_text("", size=200, overlap=40) == []
    assert chunk_text(" \n\t ", size=200, overlap=40) == []
    assert chunk_text("Beaded stools.", size=200, overlap=40) == ["Beaded stools."]


@pytest.mark.parametrize(("size", "overlap"), [(200, 40), (500, 100), (120, 0)])
def test_chunks_respect_the_size_cover_every_word_and_overlap(size, overlap):
    chunks = chunk_text(TEXT, size=size, overlap=overlap)
    assert len(chunks) > 1
    assert all(0 < len(chunk) <= size for chunk in chunks)
    # Every chunk is a verbatim slice of the text, in order, and together they cover all of it.
    position = 0
    covered_to = 0
    for chunk in chunks:
        start = TEXT.index(chunk, position)
        assert start <= covered_to + 1, "a gap between two chunks"
        covered_to = start + len(chunk)
        position = start + 1
    assert covered_to == len(TEXT)
    for before, after in itertools.pairwise(chunks):
        shared = set(words(before)[-3:]) & set(words(after)[:8])
        assert bool(shared) == (overlap > 0)


def test_chunks_end_on_sentence_ends_when_one_is_close():
    chunks = chunk_text(TEXT, size=300, overlap=60)
    assert all(chunk.endswith(".") for chunk in chunks)


def test_a_word_longer_than_a_chunk_is_cut():
    text = "start " + "x" * 450 + " end"
    chunks = chunk_text(text, size=200, overlap=20)
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert "".join(re.sub(r"[^x]", "", chunk) for chunk in chunks).count("x") >= 450


def test_deterministic():
    assert chunk_text(TEXT, size=250, overlap=50) == chunk_text(TEXT, size=250, overlap=50)


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (100, 100), (100, -1)])
def test_bad_sizes_are_refused(size, overlap):
    with pytest.raises(ValueError, match="chunk size"):
        chunk_text(TEXT, size=size, overlap=overlap)
