"""Starting an upload's background work: each function changes the upload's state through a
service, then enqueues its task. It sits above tasks.py, which calls the services, so the two
never import each other."""

from integrations.uploads import services
from integrations.uploads.models import Upload
from integrations.uploads.tasks import upload_read_task, upload_run_task


def upload_start(*, user, channel, object_type: str, uploaded_file) -> Upload:
    """Store an uploaded file and queue its reading (encoding, delimiter, rows)."""
    upload = services.upload_create(
        user=user, channel=channel, object_type=object_type, uploaded_file=uploaded_file
    )
    upload_read_task.enqueue(upload.pk)
    upload.refresh_from_db()
    return upload


def upload_reread(*, upload: Upload, encoding: str, delimiter: str) -> Upload:
    """Queue reading the file again with the user's encoding and delimiter."""
    services.upload_reread_prepare(upload=upload, encoding=encoding, delimiter=delimiter)
    upload_read_task.enqueue(upload.pk)
    upload.refresh_from_db()
    return upload


def upload_import_valid(*, upload: Upload) -> Upload:
    """Queue a refused import again, this time skipping the invalid rows."""
    services.upload_import_valid_prepare(upload=upload)
    upload_run_task.enqueue(upload.pk, False)
    upload.refresh_from_db()
    return upload


def upload_check_start(*, upload: Upload) -> Upload:
    """Queue the dry run (preview)."""
    services.upload_check_prepare(upload=upload)
    upload_run_task.enqueue(upload.pk, True)
    upload.refresh_from_db()
    return upload


def upload_set_mapping(*, upload: Upload, mapping: dict) -> Upload:
    """Save the mapping (MappingProblem if it cannot be used) and start the dry run."""
    services.upload_mapping_save(upload=upload, mapping=mapping)
    return upload_check_start(upload=upload)


def upload_import_start(*, upload: Upload, skip_invalid: bool) -> Upload:
    """Queue the import (after a dry run). A second click finds it already queued."""
    services.upload_import_prepare(upload=upload, skip_invalid=skip_invalid)
    upload_run_task.enqueue(upload.pk, False)
    upload.refresh_from_db()
    return upload


def upload_retry(*, upload: Upload) -> Upload:
    """Start a failed upload again with the same file and mapping. It begins with the dry run,
    as the channel may have changed since; the user then imports as usual. Only a failed upload
    whose file was kept (its worker stopped) can be started again."""
    upload = services.upload_retry_prepare(upload=upload)
    if upload.status == Upload.Status.READING:
        upload_read_task.enqueue(upload.pk)
    else:
        upload_run_task.enqueue(upload.pk, True)
    upload.refresh_from_db()
    return upload
