"""Upload tracking in the admin: every file's way to permanent storage, and the Retry action.

Read-only: the pipeline owns these rows (status, checksum, backend, temporary path); staff look,
filter and retry, never add, edit or delete. The list keeps to columns that fit 1280 px.
"""

from django.contrib import admin, messages
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
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
        "short_filename",
        "owner",
        "kind",
        "status_badge",
        "human_size",
        "backend",
        "attempts",
        "target",
        "short_error",
        "created",
    )
    list_display_links = ("id", "short_filename")
    list_filter = ("status", "kind", "permanent_backend", "created_at")
    search_fields = ("original_filename", "permanent_name", "checksum", "owner__username", "last_error")
    # The kinds' owning rows (admin modules load after every app registered its kind).
    list_select_related = ("owner", *kinds.by_target_field())
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # every field is the pipeline's; the Retry action is the one way to act

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="File", ordering="original_filename")
    def short_filename(self, upload):
        name = upload.original_filename
        return name if len(name) <= 32 else name[:31] + "…"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, upload):
        return format_html('<span class="upload-status upload-status-{}">{}</span>', upload.status, upload.status)

    @admin.display(description="Size", ordering="size")
    def human_size(self, upload):
        return filesizeformat(upload.size)

    @admin.display(description="Backend", ordering="permanent_backend")
    def backend(self, upload):
        return upload.permanent_backend or "—"

    @admin.display(description="Created", ordering="created_at")
    def created(self, upload):
        return upload.created_at.strftime("%Y-%m-%d %H:%M")

    @admin.action(description="Retry the selected uploads", permissions=["view"])
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
        return error if len(error) <= 40 else error[:39] + "…"
