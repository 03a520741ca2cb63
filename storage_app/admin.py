from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils.html import format_html

from instantory.admin_site.views import storage_health_view
from storage_app.models import PendingDeletion
from uploads.models import UploadTracking
from uploads.services.uploads import upload_retry


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
        "target",
        "short_error",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "kind", "permanent_backend", "created_at")
    search_fields = ("original_filename", "permanent_name", "checksum", "owner__username", "last_error")
    list_select_related = ("owner", "inventory_item", "document")
    readonly_fields = ("created_at", "updated_at", "processing_started_at", "completed_at")
    raw_id_fields = ("owner", "inventory_item", "document")
    date_hierarchy = "created_at"
    actions = ["retry_uploads"]

    @admin.action(description="Retry the selected uploads")
    def retry_uploads(self, request, queryset):
        queued = sum(upload_retry(upload=upload) for upload in queryset)
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} upload(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} upload(s) were already complete.", messages.WARNING)

    @admin.display(description="For")
    def target(self, upload):
        if upload.inventory_item_id:
            url = reverse("admin:inventory_inventoryitem_change", args=[upload.inventory_item_id])
            return format_html('<a href="{}">{}</a>', url, upload.inventory_item)
        if upload.document_id:
            url = reverse("admin:documents_document_change", args=[upload.document_id])
            return format_html('<a href="{}">{}</a>', url, upload.document)
        return "—"

    @admin.display(description="Last error")
    def short_error(self, upload):
        error = upload.last_error
        return error if len(error) <= 80 else error[:79] + "…"


@admin.register(PendingDeletion)
class PendingDeletionAdmin(admin.ModelAdmin):
    """Files whose delete failed; the sweep retries them. Read-only: they are the storage layer's to-do list."""

    list_display = ("name", "attempts", "next_attempt_at", "last_error", "created_at")
    search_fields = ("name", "last_error")
    readonly_fields = ("name", "attempts", "last_error", "next_attempt_at", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _with_storage_health(get_urls):
    # The health page belongs to the admin site rather than to one model; adding it to the default
    # site's URLs keeps instantory/urls.py unchanged. It is named admin:storage_health.
    def urls():
        view = admin.site.admin_view(storage_health_view)
        return [path("storage-health/", view, name="storage_health"), *get_urls()]

    return urls


admin.site.get_urls = _with_storage_health(admin.site.get_urls)
