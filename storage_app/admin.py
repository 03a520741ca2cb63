from django.contrib import admin, messages

from storage_app.models import UploadTracking
from storage_app.services.uploads import upload_retry


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
    actions = ["retry_uploads"]

    @admin.action(description="Retry the selected uploads")
    def retry_uploads(self, request, queryset):
        queued = sum(upload_retry(upload=upload) for upload in queryset)
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} upload(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} upload(s) were already complete.", messages.WARNING)
