"""Every write of Data → Upload: storing a file, reading it, mapping, the dry run, the import,
starting a failed one again, and cleaning up. `segments_import` is the one import used by the
upload flow and the command."""

import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from access_audience.db import CONNECTION_ERRORS, connections_reset_broken, is_connection_lost
from channels_app.models import Channel
from history.actor import RUN_UPLOAD, Actor, acting_as, run_actor
from integrations.uploads import selectors
from integrations.uploads.files import csv_file_for, progress_path, upload_dir, upload_path
from integrations.uploads.importers import (
    IMPORTERS,
    SEGMENT,
    ChangePreview,
    ImportResult,
    MappingProblem,
)
from integrations.uploads.models import Upload, UploadError
from integrations.uploads.reading import (
    CERTAIN_ENCODINGS,
    CsvFile,
    FileProblem,
    check_encoding,
    detect,
    parse_delimiter,
)

logger = logging.getLogger(__name__)

ABANDONED_AFTER = timedelta(days=1)
ERROR_BATCH = 2000
KEPT_FOR_A_DAY = (Upload.Status.FAILED, Upload.Status.REJECTED, Upload.Status.UNREADABLE)


class UploadConflict(Exception):
    """The upload is not in a state that allows this (double click, another tab)."""


def segments_import(
    *,
    channel: Channel,
    path: Path,
    encoding: str,
    delimiter: str,
    mapping: dict,
    dry_run: bool = False,
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
    preview: ChangePreview | None = None,
) -> ImportResult:
    """Import segments from a CSV file into one channel.

    Streams the file and writes in batches. All-or-nothing unless `skip_invalid`: with any
    invalid row nothing is written (`result.rejected`). `dry_run` writes nothing and counts
    what would happen. Raises FileProblem or MappingProblem for a file or mapping that cannot
    be used at all.
    """
    csv_file = CsvFile(
        path,
        encoding=encoding,
        delimiter=delimiter,
        max_rows=settings.UPLOAD_MAX_ROWS,
        max_columns=settings.UPLOAD_MAX_COLUMNS,
    )
    return SEGMENT.run(
        channel=channel,
        csv_file=csv_file,
        mapping=mapping,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        on_progress=on_progress,
        preview=preview,
    )


def upload_create(
    *, user, channel: Channel, object_type: str, uploaded_file: UploadedFile
) -> Upload:
    """Store an uploaded file, to be read by the worker (`upload_read_run`): the request only
    moves the file the upload handler already streamed to disk."""
    uploads_fail_stale()
    stored_name = f"{uuid.uuid4().hex}.csv"
    _store(uploaded_file, upload_dir() / stored_name)
    return Upload.objects.create(
        object_type=object_type,
        channel=channel,
        created_by=user,
        file_name=Path(uploaded_file.name or "upload.csv").name[:255],
        file_size=uploaded_file.size or 0,
        stored_name=stored_name,
        status=Upload.Status.READING,
    )


def _store(uploaded_file: UploadedFile, target: Path) -> None:
    temporary = getattr(uploaded_file, "temporary_file_path", None)
    if temporary is not None:
        try:
            os.replace(temporary(), target)  # the upload handler wrote it beside the uploads
            return
        except OSError:
            pass  # another file system: copy it
    with open(target, "wb") as fh:
        for chunk in uploaded_file.chunks():
            fh.write(chunk)


def upload_reread_prepare(*, upload: Upload, encoding: str, delimiter: str) -> Upload:
    """Read the file again with the user's encoding and delimiter (they win over detection).
    FileProblem for an encoding that is not a text encoding; UploadConflict once mapped."""
    encoding = check_encoding(encoding)
    updated = Upload.objects.filter(
        pk=upload.pk, status__in=[Upload.Status.NEW, Upload.Status.UNREADABLE]
    ).update(
        status=Upload.Status.READING,
        encoding=encoding,
        delimiter=parse_delimiter(delimiter),
        error_message="",
        finished_at=None,
        updated_at=timezone.now(),
    )
    if not updated:
        upload.refresh_from_db()
        raise UploadConflict("This upload can no longer be changed.")
    upload.refresh_from_db()
    return upload


def upload_read_run(*, upload_id: int) -> None:
    """The background read of an uploaded file: the encoding and delimiter (detected unless
    the user chose them), the header, every row counted, with progress in bytes. A file that
    cannot be read is refused with the reason; one that can gets a suggested mapping."""
    upload = Upload.objects.get(pk=upload_id)
    if upload.status != Upload.Status.READING:
        return  # cancelled or already read (a task delivered twice)
    progress = progress_path(upload)
    fields: dict = {"updated_at": timezone.now()}
    try:
        if not (upload.encoding and upload.delimiter):
            detected = detect(upload_path(upload), encoding=upload.encoding or None)
            fields["encoding"] = upload.encoding = detected.encoding
            fields["delimiter"] = upload.delimiter = upload.delimiter or detected.delimiter
            if not upload.detected_encoding:
                fields["detected_encoding"] = detected.encoding
                fields["detected_delimiter"] = detected.delimiter
        scan = csv_file_for(upload).scan(on_progress=_progress_writer(progress))
    except FileProblem as exc:
        fields.update(
            status=Upload.Status.UNREADABLE,
            error_message=str(exc),
            headers=[],
            total_rows=0,
            read_report={},
            finished_at=timezone.now(),
        )
        fields.setdefault("encoding", upload.encoding or "utf-8")
        fields.setdefault("delimiter", upload.delimiter or ",")
    except CONNECTION_ERRORS as exc:
        if is_connection_lost(exc):
            logger.warning(
                "Upload %s: the database connection was lost reading it (%s)", upload.pk, exc
            )
            connections_reset_broken()
            fields = _read_failed("The database connection was lost while reading the file.")
        else:
            logger.exception("Upload %s could not be read", upload.pk)
            fields = _read_failed("Reading the file stopped on an unexpected error.")
    except Exception:
        logger.exception("Upload %s could not be read", upload.pk)
        fields = _read_failed("Reading the file stopped on an unexpected error.")
    else:
        if scan.header != upload.headers or not upload.mapping:
            fields["mapping"] = IMPORTERS[upload.object_type].suggest(scan.header)
        fields.update(
            status=Upload.Status.NEW,
            headers=scan.header,
            total_rows=scan.total,
            error_message="",
            read_report={
                "guessed": upload.encoding not in CERTAIN_ENCODINGS,
                "problem_rows": scan.problem_rows,
                "problems": scan.problems,
                "changed": scan.changed,
            },
        )
    finally:
        progress.unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk, status=Upload.Status.READING).update(**fields)


def _read_failed(reason: str) -> dict:
    return {
        "status": Upload.Status.FAILED,
        "error_message": f"{reason} Nothing was changed. Start it again.",
        "finished_at": timezone.now(),
        "updated_at": timezone.now(),
    }


def _progress_writer(progress: Path) -> Callable[[int], None]:
    def on_progress(done: int) -> None:
        tmp = progress.with_suffix(".tmp")
        tmp.write_text(str(done))
        os.replace(tmp, progress)

    return on_progress


def upload_mapping_save(*, upload: Upload, mapping: dict) -> Upload:
    """Save the mapping (MappingProblem if it cannot be used); the dry run starts next."""
    _require(upload, Upload.Status.NEW, "This upload can no longer be changed.")
    if not upload.headers:
        raise UploadConflict("Fix the file first: it could not be read.")
    IMPORTERS[upload.object_type].resolve(mapping, upload.headers)
    upload.mapping = mapping
    upload.save(update_fields=["mapping", "updated_at"])
    return upload


def upload_check_prepare(*, upload: Upload) -> Upload:
    """Mark the upload as being checked (the dry run), its counts reset, before it is queued."""
    _transition(upload, [Upload.Status.NEW, Upload.Status.CHECKED], Upload.Status.CHECKING)
    _reset_counts(upload)
    return upload


def upload_import_prepare(*, upload: Upload, skip_invalid: bool) -> Upload:
    """Mark a checked upload queued for import. A second click gets UploadConflict."""
    updated = Upload.objects.filter(pk=upload.pk, status=Upload.Status.CHECKED).update(
        status=Upload.Status.QUEUED, skip_invalid=skip_invalid, updated_at=timezone.now()
    )
    if not updated:
        upload.refresh_from_db()
        raise UploadConflict(_conflict_message(upload))
    return upload


def upload_back_to_mapping(*, upload: Upload) -> Upload:
    """Change the mapping again after a dry run."""
    _transition(upload, [Upload.Status.CHECKED], Upload.Status.NEW)
    upload.refresh_from_db()
    return upload


def upload_run(*, upload_id: int, dry_run: bool) -> None:
    """The background work: the dry run or the import of one upload, with progress, counts
    and the error report recorded on the upload."""
    upload = Upload.objects.select_related("channel").get(pk=upload_id)
    expected = Upload.Status.CHECKING if dry_run else Upload.Status.QUEUED
    if upload.status != expected:
        return  # cancelled or already run (a task delivered twice)
    if not dry_run:
        Upload.objects.filter(pk=upload.pk).update(
            status=Upload.Status.IMPORTING, updated_at=timezone.now()
        )
    progress = progress_path(upload)
    preview = ChangePreview()
    result = None
    keep_file = False
    try:
        with acting_as(_run_actor(upload)):
            result = IMPORTERS[upload.object_type].run(
                channel=upload.channel,
                csv_file=csv_file_for(upload),
                mapping=upload.mapping,
                dry_run=dry_run,
                skip_invalid=upload.skip_invalid,
                on_progress=_progress_writer(progress),
                preview=preview,
            )
    except (FileProblem, MappingProblem) as exc:
        status, message = Upload.Status.FAILED, str(exc)
    except CONNECTION_ERRORS as exc:
        status = Upload.Status.FAILED
        if is_connection_lost(exc):
            # The transaction died with the connection, so nothing was written; the file is
            # kept so the same upload can be started again.
            logger.warning(
                "Upload %s stopped: the database connection was lost (%s)", upload.pk, exc
            )
            connections_reset_broken()
            keep_file = True
            message = (
                "The database connection was lost during the "
                f"{'check' if dry_run else 'import'}. Nothing was written. Start it again."
            )
        else:
            logger.exception("Upload %s failed", upload.pk)
            message = "The import stopped on an unexpected error. Nothing was written."
    except Exception:
        logger.exception("Upload %s failed", upload.pk)
        status = Upload.Status.FAILED
        message = "The import stopped on an unexpected error. Nothing was written."
    else:
        message = ""
        if dry_run:
            status = Upload.Status.CHECKED
        elif result.rejected:
            status, keep_file = Upload.Status.REJECTED, True  # for “Import the valid rows only”
            way_on = (
                "Import the valid rows only, or download the invalid rows, fix them and upload "
                "them."
                if result.valid
                else "Download the invalid rows, fix them and upload them."
            )
            message = (
                f"Nothing was imported: {result.invalid:,} "
                f"row{'s are' if result.invalid != 1 else ' is'} invalid. {way_on}"
            )
        else:
            status = Upload.Status.DONE
    try:
        UploadError.objects.filter(upload=upload).delete()
        if result is not None:
            _store_errors(upload, result)
        fields = {"status": status, "error_message": message, "updated_at": timezone.now()}
        if result is not None:
            fields.update(
                total_rows=result.total,
                created_count=result.created,
                updated_count=result.updated,
                unchanged_count=result.unchanged,
                invalid_count=result.invalid,
            )
        if result is not None and (dry_run or result.written):
            fields["preview"] = preview.as_json(result)  # a refused import keeps the dry run's
        if status in Upload.FINISHED:
            fields["finished_at"] = timezone.now()
        Upload.objects.filter(pk=upload.pk).update(**fields)
    finally:
        if result is not None:
            result.errors.close()
        progress.unlink(missing_ok=True)
    if not keep_file and (not dry_run or status == Upload.Status.FAILED):
        upload.refresh_from_db()
        _remove_file(upload)


def _run_actor(upload: Upload) -> Actor:
    """The history records an import's changes as "Upload #12 (file.csv)", by its uploader."""
    return run_actor(
        kind=RUN_UPLOAD,
        run_id=upload.pk,
        label=f"Upload #{upload.pk} ({upload.file_name})",
        user=upload.created_by,
    )


def _store_errors(upload: Upload, result: ImportResult) -> None:
    batch = []
    for error in result.errors:
        batch.append(
            UploadError(
                upload=upload,
                row=error.row,
                column=error.column[:255],
                value=error.value[:255],
                reason=error.reason[:500],
            )
        )
        if len(batch) >= ERROR_BATCH:
            UploadError.objects.bulk_create(batch)
            batch = []
    UploadError.objects.bulk_create(batch)


def upload_retry_prepare(*, upload: Upload) -> Upload:
    """Make a failed upload whose file was kept (its worker stopped) ready to be read or
    checked again with the same file and mapping: read again if it never got past reading.
    UploadConflict when it cannot be started again."""
    if selectors.upload_is_stale(upload):
        # Shown failed by the page: made true here, then started again like any failure.
        uploads_fail_stale()
        upload.refresh_from_db()
    if upload.status == Upload.Status.FAILED and (
        not upload.stored_name or not upload_path(upload).exists()
    ):
        _remove_file(upload)
        raise UploadConflict("The file of this upload is no longer kept: upload it again.")
    again = Upload.Status.CHECKING if upload.headers and upload.mapping else Upload.Status.READING
    # One conditional UPDATE: of two clicks, one starts the check, the other gets a message.
    updated = (
        Upload.objects.filter(pk=upload.pk, status=Upload.Status.FAILED)
        .exclude(stored_name="")
        .update(
            status=again,
            finished_at=None,
            created_count=0,
            updated_count=0,
            unchanged_count=0,
            invalid_count=0,
            error_message="",
            preview={},
            updated_at=timezone.now(),
        )
    )
    if not updated:
        upload.refresh_from_db()
        raise UploadConflict(_conflict_message(upload))
    upload.refresh_from_db()
    return upload


def upload_import_valid_prepare(*, upload: Upload) -> Upload:
    """A refused import (invalid rows, all or nothing) queued again on the same file and
    mapping, skipping the invalid rows. UploadConflict for a second click or a lost file."""
    if upload.status != Upload.Status.REJECTED:
        raise UploadConflict(_conflict_message(upload))
    if not upload.stored_name or not upload_path(upload).exists():
        raise UploadConflict("The file of this upload is no longer kept: upload it again.")
    updated = Upload.objects.filter(pk=upload.pk, status=Upload.Status.REJECTED).update(
        status=Upload.Status.QUEUED,
        skip_invalid=True,
        error_message="",
        finished_at=None,
        updated_at=timezone.now(),
    )
    if not updated:
        upload.refresh_from_db()
        raise UploadConflict(_conflict_message(upload))
    upload.refresh_from_db()
    return upload


def uploads_fail_stale(*, now: datetime | None = None) -> int:
    """Fail the dry runs and imports silent for UPLOAD_STALE_AFTER_SECONDS: their worker
    stopped. The import's transaction died with it, so nothing was written; the file is kept
    so the upload can be started again. Called by `manage.py cleanup`, a new upload and Start
    again; pages only show them failed. Returns how many were failed."""
    now = now or timezone.now()
    cutoff = selectors.upload_stale_cutoff(now)
    failed = 0
    candidates = Upload.objects.filter(
        status__in=Upload.RUNNING, updated_at__lt=cutoff
    ).select_related("channel")
    for upload in candidates:
        if selectors.upload_last_heard(upload) >= cutoff:
            continue  # the worker is still writing its progress
        updated = Upload.objects.filter(
            pk=upload.pk, status=upload.status, updated_at__lt=cutoff
        ).update(
            status=Upload.Status.FAILED,
            error_message=selectors.upload_stale_message(upload),
            finished_at=selectors.upload_stale_since(upload),
            updated_at=now,
        )
        if updated:
            progress_path(upload).unlink(missing_ok=True)
            failed += 1
    if failed:
        logger.warning("Marked %d stopped upload(s) failed", failed)
    return failed


def upload_abandon(*, upload: Upload) -> Upload:
    """The user gives up on an upload that was not imported: its file is removed."""
    _transition(
        upload,
        [Upload.Status.NEW, Upload.Status.CHECKED, Upload.Status.UNREADABLE],
        Upload.Status.ABANDONED,
    )
    Upload.objects.filter(pk=upload.pk).update(finished_at=timezone.now())
    upload.refresh_from_db()
    _remove_file(upload)
    return upload


def uploads_cleanup(*, now=None) -> int:
    """Fail dry runs and imports whose worker stopped, abandon uploads left alone for a day,
    and remove the files of finished uploads (a failed one's after a day: until then it can be
    started again). Returns how many files were removed."""
    now = now or timezone.now()
    uploads_fail_stale(now=now)
    left_since = now - ABANDONED_AFTER
    stale = Upload.objects.filter(
        status__in=[Upload.Status.NEW, Upload.Status.CHECKED], updated_at__lt=left_since
    )
    stale.update(status=Upload.Status.ABANDONED, finished_at=now)
    # A failed upload can be started again, a refused import imported without its invalid
    # rows, a refused file read with another encoding: their files are kept for a day.
    finished = (
        Upload.objects.filter(status__in=Upload.FINISHED)
        .exclude(stored_name="")
        .exclude(status__in=KEPT_FOR_A_DAY, updated_at__gte=left_since)
    )
    removed = 0
    for upload in finished:
        removed += _remove_file(upload)
    # Files the upload handler was still receiving when its web process stopped.
    for part in upload_dir().glob("*.upload"):
        try:
            if part.stat().st_mtime < left_since.timestamp():
                part.unlink()
        except OSError:
            pass
    return removed


def _remove_file(upload: Upload) -> int:
    if not upload.stored_name:
        return 0
    existed = upload_path(upload).exists()
    upload_path(upload).unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk).update(stored_name="")
    upload.stored_name = ""
    return int(existed)


def _reset_counts(upload: Upload) -> None:
    Upload.objects.filter(pk=upload.pk).update(
        created_count=0,
        updated_count=0,
        unchanged_count=0,
        invalid_count=0,
        error_message="",
        preview={},
    )


def _require(upload: Upload, status: str, message: str) -> None:
    if upload.status != status:
        raise UploadConflict(message)


def _transition(upload: Upload, sources: list[str], target: str) -> None:
    with transaction.atomic():
        updated = Upload.objects.filter(pk=upload.pk, status__in=sources).update(
            status=target, updated_at=timezone.now()
        )
    if not updated:
        upload.refresh_from_db()
        raise UploadConflict(_conflict_message(upload))


def _conflict_message(upload: Upload) -> str:
    if upload.status in (Upload.Status.QUEUED, Upload.Status.IMPORTING):
        return "This upload is already being imported."
    if upload.status == Upload.Status.CHECKING:
        return "This upload is being checked; wait for the preview."
    if upload.status == Upload.Status.READING:
        return "This file is being read; wait a moment."
    if upload.is_finished:
        return f"This upload is finished ({upload.get_status_display().lower()})."
    return "This upload changed in the meantime; the page shows where it is now."
