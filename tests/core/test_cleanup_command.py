"""`manage.py cleanup`: the housekeeping pages and form posts no longer do as they go."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from access_audience.models import FormSubmission
from access_audience.submissions import FIELD, submission_claim, submissions_prune
from integrations.klaviyo.models import SyncRun, SyncRunChannel
from integrations.uploads.models import Upload

pytestmark = pytest.mark.django_db


def token(age: timedelta) -> FormSubmission:
    made = FormSubmission.objects.create(token=uuid.uuid4())
    FormSubmission.objects.filter(pk=made.pk).update(created_at=timezone.now() - age)
    return made


def test_a_claim_no_longer_prunes_old_tokens(marketer):
    old = token(timedelta(days=2))
    request = RequestFactory().post("/", {FIELD: uuid.uuid4().hex})
    request.user = marketer
    submission_claim(request)
    assert FormSubmission.objects.filter(pk=old.pk).exists()
    assert FormSubmission.objects.count() == 2


def test_pruning_forgets_tokens_older_than_a_day():
    old, fresh = token(timedelta(days=1, minutes=1)), token(timedelta(hours=23))
    assert submissions_prune() == 1
    assert list(FormSubmission.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not FormSubmission.objects.filter(pk=old.pk).exists()


def test_cleanup_fails_stopped_work_and_forgets_old_tokens(email, settings, tmp_path, capsys):
    settings.UPLOAD_DIR = tmp_path
    settings.SYNC_STALE_AFTER_SECONDS = settings.UPLOAD_STALE_AFTER_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    run = SyncRun.objects.create(status="running", heartbeat_at=long_ago)
    SyncRunChannel.objects.create(run=run, channel=email)
    (tmp_path / "a.csv").write_text("name\nA\n")
    upload = Upload.objects.create(
        channel=email, file_name="a.csv", stored_name="a.csv", status="importing"
    )
    Upload.objects.filter(pk=upload.pk).update(updated_at=long_ago)
    done = Upload.objects.create(channel=email, file_name="b.csv", stored_name="b.csv")
    (tmp_path / "b.csv").write_text("name\nB\n")
    Upload.objects.filter(pk=done.pk).update(status="done")
    token(timedelta(days=3))

    call_command("cleanup")

    assert capsys.readouterr().out == (
        "Failed 1 stopped Klaviyo sync; removed 1 uploaded file; forgot 1 form token.\n"
    )
    run.refresh_from_db()
    assert run.status == "failed" and not run.results.get().in_progress
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.can_start_again
    assert not (tmp_path / "b.csv").exists() and not FormSubmission.objects.exists()
