from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from inventory.models import EDITABLE_FIELDS, InventoryItem
from inventory.services import inventory_item_delete, inventory_item_update
from uploads.admin.forms import TrackedFileField
from uploads.admin.tracked_files import TrackedFilesAdminMixin
from uploads.models import UploadKind


class InventoryItemAdminForm(forms.ModelForm):
    photo = TrackedFileField(
        kind=UploadKind.IMAGE,
        required=False,
        help_text="JPEG, PNG, WebP or GIF. Stored through the tracked upload pipeline with a thumbnail; "
        "a new photo replaces the old one.",
    )

    class Meta:
        model = InventoryItem
        fields = ("owner", *EDITABLE_FIELDS)


@admin.register(InventoryItem)
class InventoryItemAdmin(TrackedFilesAdminMixin, admin.ModelAdmin):
    form = InventoryItemAdminForm
    file_routes = {"image": "image", "thumbnail": "thumbnail"}
    upload_via = "inventory_item"
    file_form_field = "photo"
    list_display = (
        "thumbnail_preview",
        "name",
        "owner",
        "category",
        "retail_price",
        "upload_status",
        "updated_at",
    )
    list_display_links = ("thumbnail_preview", "name")
    list_filter = ("category", "material", "created_at")
    search_fields = ("name", "description", "category", "material", "color", "origin_source", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    autocomplete_fields = ("owner",)  # defaults to the signed-in staff member (TrackedFilesAdminMixin)
    date_hierarchy = "created_at"

    @admin.display(description="Photo")
    def thumbnail_preview(self, item):
        if not item.thumbnail.name:
            return "—"
        url = reverse("admin:inventory_inventoryitem_thumbnail", args=[item.pk])
        return format_html(
            '<img class="inventory-thumbnail" src="{}" alt="{}" width="60" loading="lazy">', url, item.name
        )

    def file_preview(self, item):
        return self.photo_preview(item) if item.image.name else ""

    @admin.display(description="Photo")
    def photo_preview(self, item):
        if not item.pk or not item.image.name:
            return "—"
        image_url = reverse("admin:inventory_inventoryitem_image", args=[item.pk])
        if not item.thumbnail.name:
            return format_html('<a href="{}">Open the photo</a>', image_url)
        thumbnail_url = reverse("admin:inventory_inventoryitem_thumbnail", args=[item.pk])
        return format_html(
            '<a href="{}"><img class="inventory-thumbnail" src="{}" alt="{}" width="150"></a>',
            image_url,
            thumbnail_url,
            item.name,
        )

    def attach_file(self, item: InventoryItem, file) -> None:
        inventory_item_update(item=item, image=file)

    def delete_row(self, item: InventoryItem) -> None:
        inventory_item_delete(item=item)
