"""The CSV export: streamed, the user's rows only, safe to open in a spreadsheet."""

import csv
import io

import pytest
from django.urls import reverse

from inventory.export import csv_safe
from inventory.models import InventoryItem

EXPORT = reverse("inventory-export")


def read(response) -> tuple[list[bytes], list[list[str]]]:
    chunks = list(response.streaming_content)
    return chunks, list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8"))))


@pytest.mark.django_db
def test_export_streams_every_own_row_in_chunks(api, user, other_user, django_assert_max_num_queries):
    InventoryItem.objects.bulk_create(
        [InventoryItem(owner=user, name=f"item {i:03}", tags=["a", "b"], category="Fans") for i in range(450)]
    )
    InventoryItem.objects.create(owner=other_user, name="not mine")
    response = api.get(EXPORT)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="inventory-')
    with django_assert_max_num_queries(1):  # one server-side cursor, read 200 rows at a time
        chunks, rows = read(response)
    assert len(chunks) >= 3  # the rows arrive in pieces, not as one string built in memory
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "name", "description"]
    assert len(body) == 450
    assert {row[1] for row in body} == {f"item {i:03}" for i in range(450)}
    assert body[0][header.index("tags")] == "a; b"
    assert "not mine" not in {row[1] for row in body}


@pytest.mark.django_db
def test_export_applies_the_list_filters(api, user):
    InventoryItem.objects.create(owner=user, name="Fan", category="Fans")
    InventoryItem.objects.create(owner=user, name="Bowl", category="Bowls")
    _, rows = read(api.get(EXPORT, {"category": "Fans", "ordering": "name"}))
    assert [row[1] for row in rows[1:]] == ["Fan"]
    assert api.get(EXPORT, {"ordering": "password"}).status_code == 400


@pytest.mark.django_db
def test_export_of_nothing_is_just_the_header(api):
    _, rows = read(api.get(EXPORT, HTTP_ACCEPT="text/csv"))
    assert len(rows) == 1


@pytest.mark.django_db
def test_formula_cells_are_neutralised(api, user):
    InventoryItem.objects.create(
        owner=user,
        name='=HYPERLINK("http://evil.example","click")',
        description="+1+2",
        material="-3",
        color="@SUM(A1)",
        tags=["=cmd|' /C calc'!A0"],
    )
    _, rows = read(api.get(EXPORT))
    header, row = rows[0], rows[1]
    assert row[header.index("name")] == '\'=HYPERLINK("http://evil.example","click")'
    assert row[header.index("description")] == "'+1+2"
    assert row[header.index("material")] == "'-3"
    assert row[header.index("color")] == "'@SUM(A1)"
    assert row[header.index("tags")].startswith("'=")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("=1+1", "'=1+1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        (None, ""),
        ("a=b", "a=b"),
        ("Ünïcødé", "Ünïcødé"),
    ],
)
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected
