"""The storage library's tables: where each stored file lives (StoredFile) and the deletes still owed."""

from django.db import models
from django.db.models import Q


class PendingDeletion(models.Model):
    """A stored file that must go but could not be deleted yet (its backend was down); the sweep retries it."""

    name = models.CharField(max_length=1024, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "storage_pending_deletion"
        ordering = ["next_attempt_at", "id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="pending_deletion_due_idx")]

    def __str__(self) -> str:
        return self.name


class StoredFileState(models.TextChoices):
    WRITING = "writing", "Writing"
    STORED = "stored", "Stored"
    DELETING = "deleting", "Deleting"


class StoredFile(models.Model):
    """Where one stored file lives: the location record of FallbackStorage (Active Storage's `service_name`).

    `backend` is the alias holding the readable copy. A name is reserved here (state `writing`) before
    its object is written, so a write a crash interrupted is found again; `deleting` marks a file that
    is gone for readers while an object of it still waits on a backend that was down. `moving_to` is
    the target of a copy in progress and `leftover_on` a superseded copy still to remove (both set
    only by reconcile/migrate, so a crash at any step leaves a record of every object that may exist).
    """

    State = StoredFileState

    name = models.CharField(max_length=1024, unique=True)
    backend = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=StoredFileState.choices, default=StoredFileState.WRITING)
    size = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the content, hex")
    moving_to = models.CharField(max_length=32, blank=True)
    leftover_on = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "storage_stored_file"
        ordering = ["name"]
        indexes = [
            # listdir() walks folders by name prefix (LIKE 'prefix%' needs the pattern operator class)
            models.Index(fields=["name"], name="stored_file_name_prefix_idx", opclasses=["varchar_pattern_ops"]),
            # reconcile: files away from the primary, and unfinished work, oldest first
            models.Index(fields=["backend", "state"], name="stored_file_backend_state_idx"),
            models.Index(fields=["state", "updated_at"], name="stored_file_state_updated_idx"),
            models.Index(
                fields=["updated_at"],
                name="stored_file_unfinished_idx",
                condition=~Q(moving_to="") | ~Q(leftover_on=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=StoredFileState.values), name="stored_file_state_valid"),
            models.CheckConstraint(condition=~Q(backend=""), name="stored_file_has_backend"),
            models.CheckConstraint(
                condition=Q(size__isnull=True) | Q(size__gte=0), name="stored_file_size_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(state="stored") | (Q(size__isnull=False) & ~Q(checksum="")),
                name="stored_file_stored_is_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.backend} ({self.state})"
