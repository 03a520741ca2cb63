"""Upload tracking in the admin: every file's way to permanent storage, and the Retry action."""

from django.contrib import admin, messages
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from uploads import kinds
from uploads.models import UploadTracking
from uploads.services.uploads import upload_retry
from uploads.views import upload_page_context


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
    # The kinds' owning rows (admin modules load after every app registered its kind).
    list_select_related = ("owner", *kinds.by_target_field())
    readonly_fields = ("created_at", "updated_at", "processing_started_at", "completed_at")
    raw_id_fields = ("owner", *kinds.by_target_field())
    date_hierarchy = "created_at"
    actions = ["retry_uploads"]

    def get_urls(self):
        # The upload page (direct uploads, many files) for staff, under the admin's login.
        upload_files = path("upload-files/", self.admin_site.admin_view(self.upload_files), name="uploads_upload_files")
        return [upload_files, *super().get_urls()]

    def upload_files(self, request):
        return render(
            request, "uploads/upload.html", {**self.admin_site.each_context(request), **upload_page_context(request)}
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "upload_files_url": reverse("admin:uploads_upload_files")}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Retry the selected uploads")
    def retry_uploads(self, request, queryset):
        queued = sum(upload_retry(upload=upload) for upload in queryset)
        skipped = queryset.count() - queued
        self.message_user(request, f"{queued} upload(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} upload(s) were already complete.", messages.WARNING)

    @admin.display(description="For")
    def target(self, upload):
        spec = kinds.get(upload.kind)
        target_id = spec.target_of(upload)
        if target_id is None:
            return "—"
        opts = spec.target_model._meta
        row = getattr(upload, spec.target_field)
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[target_id])
        except NoReverseMatch:  # the target model has no admin
            return str(row)
        return format_html('<a href="{}">{}</a>', url, row)

    @admin.display(description="Last error")
    def short_error(self, upload):
        error = upload.last_error
        return error if len(error) <= 80 else error[:79] + "…"
