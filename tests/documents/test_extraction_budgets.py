"""Parse budgets count what a file produces, not what it declares: each hostile case is refused fast."""

import io
import time
import tracemalloc

import pytest

from documents.extraction import DOCX, PDF, ExtractionError, extract_text
from tests import hostile

CASES = {
    "docx-lying-sizes": (hostile.docx_zip_bomb_lying_sizes, DOCX, "damaged or incomplete"),
    "docx-honest-sizes": (hostile.docx_zip_bomb_honest_sizes, DOCX, "unpacks to more than 64 MB"),
    "docx-paragraph-bomb": (hostile.docx_paragraph_bomb, DOCX, "more than 300000 XML elements"),
    "pdf-page-tree-bomb": (hostile.pdf_page_tree_bomb, PDF, "more than 2000 pages"),
    "pdf-page-tree-loop": (hostile.pdf_page_tree_loop, PDF, "more than 2000 pages|page tree is larger"),
    "pdf-html-polyglot": (hostile.pdf_html_polyglot, PDF, "PDF is damaged"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_document_is_refused_within_its_budget(case):
    build, content_type, message = CASES[case]
    data = build()
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ExtractionError, match=message):
            extract_text(io.BytesIO(data), content_type=content_type, max_chars=2_000_000)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Python-level allocations only (the worker test measures the whole process); a generous bound
    # that the unbounded parse missed by a factor of ten or more.
    assert peak < 64 * 1024**2, f"{case}: {peak / 1024**2:.0f} MiB"
    assert elapsed < 10, f"{case}: {elapsed:.1f} s"


def test_the_budgets_are_parameters():
    with pytest.raises(ExtractionError, match="more than 1000 XML elements"):
        extract_text(io.BytesIO(hostile.docx_paragraph_bomb()), content_type=DOCX, max_elements=1000)
    with pytest.raises(ExtractionError, match="more than 3 pages"):
        extract_text(io.BytesIO(hostile.pdf_page_tree_bomb(depth=1, fan_out=4)), content_type=PDF, max_pages=3)


def test_a_pdf_within_the_page_budget_is_counted():
    # The pages exist but hold no text: the count is still reported with the error.
    with pytest.raises(ExtractionError, match="No text") as excinfo:
        extract_text(io.BytesIO(hostile.pdf_page_tree_bomb(depth=2, fan_out=3)), content_type=PDF, max_pages=9)
    assert excinfo.value.page_count == 9
