from django.urls import path

from inventory.api.export import InventoryItemExportApi
from inventory.api.files import InventoryItemImageApi, InventoryItemThumbnailApi
from inventory.api.items import InventoryItemDetailApi, InventoryItemListCreateApi

urlpatterns = [
    path("", InventoryItemListCreateApi.as_view(), name="inventory-item-list"),
    path("export.csv", InventoryItemExportApi.as_view(), name="inventory-export"),
    path("<int:item_id>/", InventoryItemDetailApi.as_view(), name="inventory-item-detail"),
    path("<int:item_id>/image", InventoryItemImageApi.as_view(), name="inventory-item-image"),
    path("<int:item_id>/thumbnail", InventoryItemThumbnailApi.as_view(), name="inventory-item-thumbnail"),
]
