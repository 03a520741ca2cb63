from django.contrib import admin
from django.urls import path

from instantory.admin_site.views import storage_health_view
from storage_app.models import PendingDeletion


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
