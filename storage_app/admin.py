from django.contrib import admin

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
