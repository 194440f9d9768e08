from django.conf import settings
from django.db import models

from channels_app.models import Channel


class Upload(models.Model):
    """One CSV file uploaded through Data → Upload, from choosing it to the import's summary."""

    class ObjectType(models.TextChoices):
        SEGMENTS = "segments", "Segments"

    class Status(models.TextChoices):
        READING = "reading", "Reading"  # the worker reads the file (encoding, delimiter, rows)
        UNREADABLE = "unreadable", "File refused"  # it cannot be read; another encoding may
        NEW = "new", "Mapping"  # read: the mapping step
        CHECKING = "checking", "Checking"
        CHECKED = "checked", "Checked"
        QUEUED = "queued", "Queued"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        REJECTED = "rejected", "Not imported"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned"

    FINISHED = (
        Status.DONE,
        Status.REJECTED,
        Status.FAILED,
        Status.ABANDONED,
        Status.UNREADABLE,
    )
    RUNNING = (Status.READING, Status.CHECKING, Status.QUEUED, Status.IMPORTING)
    # Before the mapping is saved: the read and map steps.
    READ_STEPS = (Status.READING, Status.UNREADABLE, Status.NEW)

    object_type = models.CharField(max_length=20, choices=ObjectType, default=ObjectType.SEGMENTS)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="uploads")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="uploads",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    # Relative to settings.UPLOAD_DIR; blank once the file has been removed.
    stored_name = models.CharField(max_length=100, blank=True, default="")
    detected_encoding = models.CharField(max_length=40, blank=True, default="")
    detected_delimiter = models.CharField(max_length=1, blank=True, default="")
    encoding = models.CharField(max_length=40, blank=True, default="")
    delimiter = models.CharField(max_length=1, blank=True, default="")
    headers = models.JSONField(default=list, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    # {field: {"column": name} | {"static": value}}
    mapping = models.JSONField(default=dict, blank=True)
    skip_invalid = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status, default=Status.NEW)
    # Counts of the last run: the dry run while checking/checked, the import afterwards.
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    # What reading the file found: rows that cannot be read as they are, and for an encoding
    # that was guessed, rows whose text depends on it. See services.upload_read_run.
    read_report = models.JSONField(default=dict, blank=True)
    # What the last dry run or import changes: the first rows with their old → new values,
    # counts per kind of change, and new segments whose name the channel already has.
    preview = models.JSONField(default=dict, blank=True)
    # A problem with the file as a whole (unreadable, too many rows) or why nothing was written.
    error_message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "updated_at"], name="upload_status_updated")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def can_start_again(self) -> bool:
        """Failed, but its file was kept (its worker stopped): it can be started again."""
        return self.status == self.Status.FAILED and bool(self.stored_name)

    @property
    def valid_count(self) -> int:
        return self.created_count + self.updated_count + self.unchanged_count

    @property
    def work_done(self) -> bool:
        """Its counts are what was written (else they say what would be)."""
        return self.status == self.Status.DONE

    @property
    def step(self) -> str:
        """Which of the five steps the upload is at: read, map, preview or import."""
        if self.status in (self.Status.READING, self.Status.UNREADABLE):
            return "read"
        if self.status == self.Status.NEW:
            return "map" if self.mapping else "read"
        if self.status in (self.Status.CHECKING, self.Status.CHECKED):
            return "preview"
        return "import"


class UploadError(models.Model):
    """One reason a row of an upload is invalid (a row can have several)."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=255, blank=True, default="")
    value = models.CharField(max_length=255, blank=True, default="")
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["upload", "row", "pk"]
        indexes = [models.Index(fields=["upload", "row"], name="uploaderror_upload_row")]

    def __str__(self) -> str:
        return f"Row {self.row}: {self.reason}"
