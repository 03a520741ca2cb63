"""The inventory as CSV, produced row by row so an export of any size runs in constant memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from inventory.models import EDITABLE_FIELDS, InventoryItem

COLUMNS = ("id", *EDITABLE_FIELDS, "has_image", "created_at", "updated_at")
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 200


def csv_safe(value: object) -> str:
    """The cell's text, quoted with a leading apostrophe when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _row(item: InventoryItem) -> list[str]:
    editable = ["; ".join(item.tags) if field == "tags" else getattr(item, field) for field in EDITABLE_FIELDS]
    cells = [
        item.pk,
        *editable,
        "yes" if item.image else "no",
        item.created_at.isoformat(),
        item.updated_at.isoformat(),
    ]
    return [csv_safe(cell) for cell in cells]


def inventory_csv_chunks(items: QuerySet[InventoryItem], *, rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[str]:
    """The header, then the rows in chunks of `rows_per_chunk`, reading the database `rows_per_chunk` at a time."""
    yield from _chunks(items.iterator(chunk_size=rows_per_chunk), rows_per_chunk)


def _chunks(items: Iterable[InventoryItem], rows_per_chunk: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    pending = 0
    for item in items:
        writer.writerow(_row(item))
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()
