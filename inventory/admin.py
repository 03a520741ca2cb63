from django import forms
from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from inventory.models import InventoryItem
from inventory.services import inventory_item_delete, inventory_item_update
from storage_app.admin_forms import TrackedFileField
from storage_app.exceptions import StorageUnavailable
from storage_app.file_responses import stored_file_response
from storage_app.models import UploadKind, UploadTracking


class InventoryItemAdminForm(forms.ModelForm):
    photo = TrackedFileField(
        kind=UploadKind.IMAGE,
        required=False,
        help_text="JPEG, PNG, WebP or GIF. Stored through the tracked upload pipeline with a thumbnail; "
        "a new photo replaces the old one.",
    )

    class Meta:
        model = InventoryItem
        fields = (
            "owner",
            "name",
            "description",
            "category",
            "material",
            "color",
            "dimensions",
            "origin_source",
            "import_cost",
            "retail_price",
            "tags",
        )


@admin.register(InventoryItem)
class InventoryItemAdmin(admin.ModelAdmin):
    form = InventoryItemAdminForm
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
    readonly_fields = ("photo_preview", "image", "thumbnail", "created_at", "updated_at")
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        latest = UploadTracking.objects.filter(inventory_item=OuterRef("pk")).order_by("-created_at", "-id")
        return super().get_queryset(request).annotate(latest_upload_status=Subquery(latest.values("status")[:1]))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/image/", wrap(self.image_view), name="inventory_inventoryitem_image"),
            path("<path:object_id>/thumbnail/", wrap(self.thumbnail_view), name="inventory_inventoryitem_thumbnail"),
            *super().get_urls(),
        ]

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    # --- the stored files, streamed to staff ------------------------------------------------

    def _file_view(self, request, object_id, field):
        item = self.get_object(request, object_id)
        if item is None or not self.has_view_permission(request, item):
            raise Http404
        try:
            return stored_file_response(getattr(item, field))
        except StorageUnavailable:
            return self._unavailable()

    def _unavailable(self):
        return HttpResponse("The storage holding this file is unavailable.", status=503, content_type="text/plain")

    def image_view(self, request, object_id):
        return self._file_view(request, object_id, "image")

    def thumbnail_view(self, request, object_id):
        return self._file_view(request, object_id, "thumbnail")

    @admin.display(description="Photo")
    def thumbnail_preview(self, item):
        if not item.thumbnail.name:
            return "—"
        url = reverse("admin:inventory_inventoryitem_thumbnail", args=[item.pk])
        return format_html(
            '<img class="inventory-thumbnail" src="{}" alt="{}" width="60" loading="lazy">', url, item.name
        )

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

    @admin.display(description="Upload", ordering="latest_upload_status")
    def upload_status(self, item):
        return getattr(item, "latest_upload_status", None) or "—"

    # --- writes go through the services ---------------------------------------------------------

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        photo = form.cleaned_data.get("photo")
        if photo:
            inventory_item_update(item=obj, image=photo)

    def delete_model(self, request, obj):
        inventory_item_delete(item=obj)

    def delete_queryset(self, request, queryset):
        for item in queryset:
            inventory_item_delete(item=item)
