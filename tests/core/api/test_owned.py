"""What every per-user list shares (core/api/owned.py), proven on each of them: pages and their cost."""

import pytest
from django.urls import reverse

from documents.models import Document
from inventory.models import InventoryItem
from uploads.models import UploadTracking


def _item(owner, index: int) -> InventoryItem:
    return InventoryItem(owner=owner, name=f"item {index}")


def _document(owner, index: int) -> Document:
    return Document(owner=owner, title=f"doc {index}")


def _upload(owner, index: int) -> UploadTracking:
    return UploadTracking(
        owner=owner,
        original_filename=f"n{index}.txt",
        content_type="text/plain",
        size=1,
        checksum="0" * 64,
        kind="document",
    )


OWNED_LISTS = {"inventory-item-list": _item, "document-list": _document, "upload-list": _upload}


@pytest.fixture(params=OWNED_LISTS, ids=lambda route: route.removesuffix("-list"))
def owned_list(request):
    """(list URL, row maker) of one per-user list."""
    return reverse(request.param), OWNED_LISTS[request.param]


def rows(make, owner, count: int, start: int = 0) -> None:
    model = type(make(owner, 0))
    model.objects.bulk_create([make(owner, index) for index in range(start, start + count)])


@pytest.mark.django_db
def test_pages_are_the_users_own_rows_25_by_default_and_never_more_than_100(api, user, other_user, owned_list):
    url, make = owned_list
    rows(make, user, 105)
    rows(make, other_user, 3)
    first = api.get(url).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (105, 25, None)
    assert "page=2" in first["next"]
    assert len(api.get(url, {"page_size": 100}).json()["results"]) == 100
    last = api.get(url, {"page_size": 100, "page": 2}).json()
    assert (len(last["results"]), last["next"]) == (5, None)
    # Validated as the schema says: out of bounds or not a number is a 400 naming the parameter.
    for bad in ({"page_size": 1000}, {"page_size": 0}, {"page_size": "null"}, {"page": 0}, {"page": "x"}):
        response = api.get(url, bad)
        assert response.status_code == 400, bad
        assert set(response.json()) == set(bad)
    # A page past the end is an empty page, not an error (the list may have shrunk meanwhile).
    past = api.get(url, {"page": 9})
    assert past.status_code == 200
    assert (past.json()["count"], past.json()["results"], past.json()["next"]) == (105, [], None)
    assert "page=5" in past.json()["previous"]


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_for_one_row_and_for_fifty(api, user, owned_list, django_assert_num_queries):
    url, make = owned_list
    rows(make, user, 1)
    with django_assert_num_queries(2):  # count + page: upload facts are subqueries, not a query per row
        assert len(api.get(url).json()["results"]) == 1
    rows(make, user, 60, start=1)
    with django_assert_num_queries(2):
        assert len(api.get(url, {"page_size": 50}).json()["results"]) == 50
