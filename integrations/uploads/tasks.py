from django.tasks import task

from integrations.uploads import services


@task
def upload_run_task(upload_id: int, dry_run: bool) -> None:
    """The dry run (preview) or the import of an upload, in the background."""
    services.upload_run(upload_id=upload_id, dry_run=dry_run)


@task
def upload_read_task(upload_id: int) -> None:
    """Read an uploaded file (encoding, delimiter, header, rows) in the background."""
    services.upload_read_run(upload_id=upload_id)
