from decimal import Decimal

import pytest
from django.db import IntegrityError
from model_bakery import baker

from inventory.models import InventoryItem


@pytest.mark.django_db
def test_item_round_trips_with_tags_and_prices(user):
    item = baker.make(
        InventoryItem,
        owner=user,
        name="Teak stool",
        tags=["wood", "handmade"],
        import_cost=Decimal("12.50"),
        retail_price=Decimal("49.00"),
    )
    fetched = InventoryItem.objects.get(pk=item.pk)
    assert fetched.tags == ["wood", "handmade"]
    assert fetched.retail_price == Decimal("49.00")
    assert InventoryItem._meta.db_table == "user_inventory"
    assert InventoryItem.objects.filter(tags__contains=["wood"]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [{"name": ""}, {"import_cost": Decimal("-1")}, {"retail_price": Decimal("-0.01")}],
)
def test_constraints_refuse_bad_rows(user, fields):
    values = {"owner": user, "name": "Bowl", **fields}
    with pytest.raises(IntegrityError):
        InventoryItem.objects.create(**values)


@pytest.mark.django_db
def test_deleting_the_owner_deletes_items(user):
    baker.make(InventoryItem, owner=user, _quantity=3, name="x")
    user.delete()
    assert InventoryItem.objects.count() == 0
