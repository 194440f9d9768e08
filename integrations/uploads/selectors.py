from django.db.models import QuerySet

from integrations.uploads.models import Upload, UploadError
from integrations.uploads.reading import FileProblem, Row


def upload_list() -> QuerySet[Upload]:
    """Upload history, newest first, with who and where."""
    return Upload.objects.select_related("channel", "created_by").order_by("-created_at", "-pk")


def upload_get(pk: int) -> Upload:
    return Upload.objects.select_related("channel", "created_by").get(pk=pk)


def upload_errors(upload: Upload) -> QuerySet[UploadError]:
    return UploadError.objects.filter(upload=upload).order_by("row", "pk")


def upload_progress(upload: Upload) -> int:
    """Rows done so far by the running dry run or import."""
    from integrations.uploads.services import progress_path

    try:
        return int(progress_path(upload).read_text() or 0)
    except (OSError, ValueError):
        return 0


def upload_sample(upload: Upload, *, size: int = 10) -> list[Row]:
    """The first rows of the file as read with the upload's encoding and delimiter."""
    from integrations.uploads.services import csv_file_for

    if not upload.stored_name or upload.error_message:
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
