from django.contrib import admin

from storage_app.models import StoredFile


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    """Where each stored file lives. State `deleting`: the deletes still owed, with their retry schedule.

    Read-only: the records are the storage library's own bookkeeping (FallbackStorage, reconcile and
    the deferred-delete retries in storage_app.deletions change them).
    """

    list_display = ("name", "backend", "state", "size", "attempts", "next_attempt_at", "last_error", "updated_at")
    list_filter = ("state", "backend")
    search_fields = ("name", "last_error")
    readonly_fields = (
        "name",
        "backend",
        "state",
        "size",
        "checksum",
        "moving_to",
        "leftover_on",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
