from django.contrib import admin

from inventory.models import InventoryItem


@admin.register(InventoryItem)
class InventoryItemAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "category", "material", "color", "retail_price", "import_cost", "updated_at")
    list_filter = ("category", "material", "created_at")
    search_fields = ("name", "description", "category", "material", "color", "origin_source", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"
