"""Uploaded files do not stay around: removed after the import, or after a day unfinished or
failed (until then a failed upload can be started again)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.uploads.models import Upload
from integrations.uploads.services import upload_path, uploads_cleanup

pytestmark = pytest.mark.django_db


def make_upload(channel, upload_dir, status, name):
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / name).write_text("name\nA\n")
    return Upload.objects.create(
        channel=channel, file_name="a.csv", stored_name=name, status=status
    )


def test_uploads_left_alone_for_a_day_are_abandoned_and_their_files_removed(email, upload_dir):
    stale = make_upload(email, upload_dir, "new", "stale.csv")
    fresh = make_upload(email, upload_dir, "checked", "fresh.csv")
    finished = make_upload(email, upload_dir, "done", "done.csv")
    Upload.objects.filter(pk=stale.pk).update(
        updated_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    assert uploads_cleanup() == 2
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "abandoned" and stale.stored_name == ""
    assert not (upload_dir / "stale.csv").exists() and not (upload_dir / "done.csv").exists()
    assert fresh.status == "checked" and upload_path(fresh).exists()
    finished.refresh_from_db()
    assert finished.stored_name == ""


@pytest.mark.parametrize("status", ["failed", "rejected", "unreadable"])
def test_a_failed_or_refused_uploads_file_is_kept_for_a_day(email, upload_dir, status):
    """Start again, Import the valid rows only, or Read again with another encoding."""
    failed = make_upload(email, upload_dir, status, "failed.csv")
    assert uploads_cleanup() == 0
    failed.refresh_from_db()
    assert failed.stored_name and upload_path(failed).exists()
    Upload.objects.filter(pk=failed.pk).update(
        updated_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    assert uploads_cleanup() == 1
    failed.refresh_from_db()
    assert failed.status == status and failed.stored_name == ""
    assert not (upload_dir / "failed.csv").exists()


def test_cleanup_command(email, upload_dir, capsys):
    make_upload(email, upload_dir, "done", "x.csv")
    call_command("uploads_cleanup")
    assert "Removed 1 uploaded file." in capsys.readouterr().out
