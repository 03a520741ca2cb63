from django.contrib import admin

from storage_app.models import UploadTracking


@admin.register(UploadTracking)
class UploadTrackingAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "original_filename",
        "owner",
        "kind",
        "status",
        "size",
        "permanent_backend",
        "attempts",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "kind", "permanent_backend", "created_at")
    search_fields = ("original_filename", "permanent_name", "checksum", "owner__username", "last_error")
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "updated_at", "processing_started_at", "completed_at")
    raw_id_fields = ("owner", "inventory_item", "document")
    date_hierarchy = "created_at"
