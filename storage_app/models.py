"""The storage library's table: where each stored file lives (StoredFile), and the deletes still owed.

StoredFile in state `deleting` is the one ledger of deferred deletes. The older table
`storage_pending_deletion` (model PendingDeletion until migration 0007) is kept with its rows but no
longer written or read: 0007 carried its rows into `deleting` records.
"""

from django.db import models
from django.db.models import Q


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

    A `deleting` record is a delete still owed: `attempts` failed purges so far, the last one's
    `last_error`, and `next_attempt_at`, when storage_app.deletions retries it (backoff
    storage_app.backoff.DELETE_RETRY; NULL: due now).
    """

    State = StoredFileState

    name = models.CharField(max_length=1024, unique=True)
    backend = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=StoredFileState.choices, default=StoredFileState.WRITING)
    size = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the content, hex")
    moving_to = models.CharField(max_length=32, blank=True)
    leftover_on = models.CharField(max_length=32, blank=True)
    # Defaults in the database too, so a process of the previous release still writes records.
    attempts = models.PositiveIntegerField(default=0, db_default=0, help_text="Failed purges of a deleting record")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a deleting record is retried")
    last_error = models.TextField(blank=True, default="", db_default="")
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
            # the deletes due for a retry (storage_app.deletions)
            models.Index(
                fields=["next_attempt_at"], name="stored_file_deleting_due_idx", condition=Q(state="deleting")
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


class ReplicaState(models.TextChoices):
    COPYING = "copying", "Copying"  # the copy may be (partly) on the backend, not yet verified
    VERIFIED = "verified", "Verified"  # read back: size and SHA-256 equal the record's
    BAD = "bad", "Bad"  # scrub found it missing or different; a repair rewrites it


class StoredFileReplica(models.Model):
    """A further copy of a stored file on another backend (STORAGE_REPLICAS counts the home copy too).

    The home copy stays in StoredFile.backend; each row here is one more backend holding the same name.
    A row is written (state `copying`) before the copy is, so a crash mid-copy leaves a record of an
    object that may exist: deletes purge it, the orphan walk leaves it alone. Reads fail over only to
    `verified` rows.
    """

    State = ReplicaState

    stored_file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="replicas")
    backend = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=ReplicaState.choices, default=ReplicaState.COPYING)
    verified_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Failed copies or repairs so far")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a failed copy is tried again")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "storage_stored_file_replica"
        ordering = ["stored_file_id", "backend"]
        constraints = [
            models.UniqueConstraint(fields=["stored_file", "backend"], name="replica_one_per_backend"),
            models.CheckConstraint(condition=~Q(backend=""), name="replica_has_backend"),
            models.CheckConstraint(condition=Q(state__in=ReplicaState.values), name="replica_state_valid"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="replica_state_due_idx")]

    def __str__(self) -> str:
        return f"replica of {self.stored_file_id} on {self.backend} ({self.state})"
