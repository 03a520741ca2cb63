from django.conf import settings
from django.db import models
from django.db.models import Q


class UploadKind(models.TextChoices):
    IMAGE = "image", "Image"
    DOCUMENT = "document", "Document"
    # A file stored through storage_manager: any type, owned by a user, attached to no item or document.
    FILE = "file", "File"


class UploadStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETE = "complete", "Complete"
    ERROR = "error", "Error"


class UploadTracking(models.Model):
    """One file's way from temporary local storage to its permanent home (seed table `upload_tracking`)."""

    Kind = UploadKind
    Status = UploadStatus

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    original_filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the content, hex")
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    status = models.CharField(max_length=16, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    temp_path = models.CharField(max_length=1024, blank=True, help_text="Location in the temporary area")
    permanent_name = models.CharField(max_length=1024, blank=True)
    permanent_backend = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    inventory_item = models.ForeignKey(
        "inventory.InventoryItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads"
    )
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads"
    )
    processing_started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "upload_tracking"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="upload_owner_created_idx"),
            # The sweep looks for stale 'processing' and retriable 'pending' rows.
            models.Index(fields=["status", "updated_at"], name="upload_status_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=UploadStatus.values), name="upload_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=UploadKind.values), name="upload_kind_valid"),
            models.CheckConstraint(condition=Q(size__gte=0), name="upload_size_non_negative"),
            models.CheckConstraint(
                condition=~Q(status="complete") | (~Q(permanent_name="") & ~Q(permanent_backend="")),
                name="upload_complete_has_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.status})"


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
