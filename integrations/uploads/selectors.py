from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from integrations.uploads.files import csv_file_for, progress_path
from integrations.uploads.models import Upload, UploadError
from integrations.uploads.reading import FileProblem, Row


def upload_list() -> QuerySet[Upload]:
    """Upload history, newest first, with who and where."""
    return Upload.objects.select_related("channel", "created_by").order_by("-created_at", "-pk")


def upload_get(pk: int) -> Upload:
    """The upload as stored (for POSTs; pages show it through `uploads_as_shown`)."""
    return Upload.objects.select_related("channel", "created_by").get(pk=pk)


def upload_last_heard(upload: Upload) -> datetime:
    """When a running upload last showed signs of life: its own last change, or the progress
    file its worker rewrites after every batch (the import's transaction hides the rest)."""
    try:
        mtime = progress_path(upload).stat().st_mtime
    except OSError:
        return upload.updated_at
    return max(upload.updated_at, datetime.fromtimestamp(mtime, tz=UTC))


def upload_stale_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.UPLOAD_STALE_AFTER_SECONDS)


def upload_is_stale(upload: Upload, *, now: datetime | None = None) -> bool:
    """Checking, queued or importing, but silent for UPLOAD_STALE_AFTER_SECONDS."""
    cutoff = upload_stale_cutoff(now)
    return upload.is_running and upload.updated_at < cutoff and upload_last_heard(upload) < cutoff


def upload_stale_since(upload: Upload) -> datetime:
    """When a silent upload became stale: what it is failed with, on the page and for real."""
    return upload_last_heard(upload) + timedelta(seconds=settings.UPLOAD_STALE_AFTER_SECONDS)


def upload_stale_message(upload: Upload) -> str:
    """Why a dry run or import whose worker stopped failed (from the status it stopped in)."""
    minutes = max(1, round(settings.UPLOAD_STALE_AFTER_SECONDS / 60))
    silent = f"nothing was heard from it for {minutes} minute{'s' if minutes != 1 else ''}"
    if upload.status == Upload.Status.READING:
        return (
            f"Reading the file stopped without finishing: {silent}, probably because its "
            "worker stopped. Nothing was changed. Start it again."
        )
    if upload.status == Upload.Status.CHECKING:
        return (
            f"The check (dry run) stopped without finishing: {silent}, probably because its "
            "worker stopped. Nothing was changed. Start it again to see the preview."
        )
    if upload.status == Upload.Status.QUEUED:
        return (
            f"The import never started: no worker took it up within {minutes} minute"
            f"{'s' if minutes != 1 else ''}. Nothing was written to {upload.channel.name}. "
            "Start it again."
        )
    return (
        f"The import stopped without finishing: {silent}, probably because its worker "
        f"stopped. Nothing was written to {upload.channel.name}. Start it again."
    )


def uploads_as_shown[T: Iterable[Upload]](uploads: T, *, now: datetime | None = None) -> T:
    """Show the dry runs and imports whose worker stopped as the failures they are (file kept,
    Start again offered), in memory only: GET never writes. `manage.py cleanup` or the next
    Start again or upload fails them for real, with the same words and time."""
    for upload in uploads:
        if upload_is_stale(upload, now=now):
            upload.error_message = upload_stale_message(upload)
            upload.finished_at = upload_stale_since(upload)
            upload.status = Upload.Status.FAILED
    return uploads


def upload_errors(upload: Upload) -> QuerySet[UploadError]:
    return UploadError.objects.filter(upload=upload).order_by("row", "pk")


def upload_progress(upload: Upload) -> int:
    """Rows done so far by the running dry run or import."""
    try:
        return int(progress_path(upload).read_text() or 0)
    except (OSError, ValueError):
        return 0


def upload_sample(upload: Upload, *, size: int = 10) -> list[Row]:
    """The first rows of the file as read with the upload's encoding and delimiter."""
    if not upload.stored_name or upload.status != Upload.Status.NEW or not upload.headers:
        return []
    rows = []
    try:
        for row in csv_file_for(upload).rows():
            rows.append(row)
            if len(rows) >= size:
                break
    except (FileProblem, OSError):
        return rows
    return rows


def upload_invalid_rows_available(upload: Upload) -> bool:
    """The file is kept and the last dry run or import found invalid rows in it."""
    return bool(upload.stored_name and upload.invalid_count and upload.headers) and (
        upload.status in (Upload.Status.CHECKED, Upload.Status.REJECTED)
    )


def upload_invalid_rows(upload: Upload) -> Iterator[list[str]]:
    """The header, then the file's invalid rows as they are in it (cells as read)."""
    numbers = set(UploadError.objects.filter(upload=upload).values_list("row", flat=True))
    yield list(upload.headers)
    try:
        for number, cells in csv_file_for(upload).records():
            if number in numbers:
                yield cells  # with any cells beyond the header's, as the file has them
    except (FileProblem, OSError):
        return
