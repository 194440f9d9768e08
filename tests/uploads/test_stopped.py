"""A dry run or import whose worker stopped: failed after UPLOAD_STALE_AFTER_SECONDS of
silence, its file kept, and started again from the dry run (tests/faults/ kills real workers)."""

import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from integrations.uploads.models import Upload
from integrations.uploads.services import (
    progress_path,
    upload_path,
    upload_run,
    uploads_cleanup,
    uploads_fail_stale,
)
from segments.models import Segment
from tests.factories import make_segment

pytestmark = pytest.mark.django_db

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
FILE = b"Segment name,Segment ID\nVIP,V1\nRepeat buyers,R1\n"
MAPPING = {"name": {"column": "Segment name"}, "external_id": {"column": "Segment ID"}}


@pytest.fixture(autouse=True)
def timeout(settings):
    settings.UPLOAD_STALE_AFTER_SECONDS = 600
    return timedelta(seconds=600)


def running(channel, upload_dir, status="importing", *, silent=timedelta(minutes=11)):
    """An upload its worker left in `status`, last changed `silent` ago, with its file."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    name = f"{status}-{Upload.objects.count()}.csv"
    (upload_dir / name).write_bytes(FILE)
    upload = Upload.objects.create(
        channel=channel,
        file_name="segments.csv",
        stored_name=name,
        status=status,
        encoding="utf-8",
        delimiter=",",
        headers=["Segment name", "Segment ID"],
        total_rows=2,
        mapping=MAPPING,
    )
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - silent)
    upload.refresh_from_db()
    return upload


def touch(path, ago: timedelta) -> None:
    path.write_text("1")
    stamp = (timezone.now() - ago).timestamp()
    os.utime(path, (stamp, stamp))


def test_a_silent_import_fails_keeping_its_file(email, upload_dir):
    upload = running(email, upload_dir)
    touch(progress_path(upload), timedelta(minutes=11))
    assert uploads_fail_stale() == 1
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.finished_at
    assert upload.error_message == (
        "The import stopped without finishing: nothing was heard from it for 10 minutes, "
        "probably because its worker stopped. Nothing was written to Email. Start it again."
    )
    assert upload.can_start_again and upload_path(upload).exists()
    assert not progress_path(upload).exists()
    assert uploads_fail_stale() == 0


def test_progress_written_recently_is_a_sign_of_life(email, upload_dir):
    upload = running(email, upload_dir, silent=timedelta(hours=1))
    touch(progress_path(upload), timedelta(minutes=9))
    assert uploads_fail_stale() == 0
    assert Upload.objects.get(pk=upload.pk).status == "importing"
    touch(progress_path(upload), timedelta(minutes=11))
    assert uploads_fail_stale() == 1


def test_recently_changed_uploads_are_left_running(email, upload_dir):
    for status in ("checking", "queued", "importing"):
        running(email, upload_dir, status, silent=timedelta(minutes=9))
    running(email, upload_dir, "checked", silent=timedelta(hours=2))
    assert uploads_fail_stale() == 0
    assert sorted(Upload.objects.values_list("status", flat=True)) == [
        "checked",
        "checking",
        "importing",
        "queued",
    ]


def test_a_stopped_check_and_an_import_never_taken_up_say_so(email, upload_dir):
    checking = running(email, upload_dir, "checking")
    queued = running(email, upload_dir, "queued")
    assert uploads_fail_stale() == 2
    checking.refresh_from_db()
    queued.refresh_from_db()
    assert checking.error_message.startswith("The check (dry run) stopped without finishing")
    assert checking.error_message.endswith("Start it again to see the preview.")
    assert queued.error_message == (
        "The import never started: no worker took it up within 10 minutes. "
        "Nothing was written to Email. Start it again."
    )


def test_the_polling_page_turns_into_the_failure(
    marketer_client, viewer_client, email, upload_dir, htmx_headers
):
    upload = running(email, upload_dir, silent=timedelta(minutes=9))
    url = reverse("uploads:detail", args=[upload.pk])
    page = marketer_client.get(url, headers=htmx_headers).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Importing…" in page
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - timedelta(minutes=11))
    page = marketer_client.get(url, headers=htmx_headers).content.decode()
    assert page.lstrip().startswith('<div id="upload-status">')
    assert "The import stopped without finishing" in page
    assert f'action="{reverse("uploads:retry", args=[upload.pk])}"' in page
    assert "Start again</button>" in page and "Upload another file" in page
    viewer_page = viewer_client.get(url).content.decode()
    assert "The import stopped without finishing" in viewer_page
    assert "Start again</button>" not in viewer_page


def test_the_data_page_shows_a_stopped_upload_failed(viewer_client, email, upload_dir):
    upload = running(email, upload_dir)
    page = viewer_client.get(reverse("uploads:history")).content.decode()
    assert "Failed" in page and "Importing" not in page
    assert Upload.objects.get(pk=upload.pk).status == "importing"  # shown, not written
    last_heard = upload.updated_at
    call_command("cleanup")
    upload.refresh_from_db()
    assert upload.status == "failed" and upload_path(upload).exists()
    # Failed as of when it went silent past the timeout, as the page showed it.
    assert upload.finished_at == last_heard + timedelta(minutes=10)


def test_start_again_on_a_stopped_upload_fails_it_first(marketer_client, email, upload_dir):
    upload = running(email, upload_dir)
    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "Start again</button>" in page
    assert Upload.objects.get(pk=upload.pk).status == "importing"
    marketer_client.post(reverse("uploads:retry", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.status == "checked" and (upload.created_count, upload.updated_count) == (2, 0)


@override_settings(TASKS=DUMMY_TASKS)
def test_a_new_upload_fails_stopped_ones_but_leaves_the_rest_to_the_cleanup(
    marketer_client, email, upload_dir
):
    stopped = running(email, upload_dir, "checking")
    left = running(email, upload_dir, "new", silent=timedelta(days=2))
    marketer_client.post(
        reverse("uploads:upload"),
        {
            "object_type": "segments",
            "channel": email.slug,
            "file": SimpleUploadedFile("segments.csv", FILE),
        },
    )
    assert Upload.objects.get(pk=stopped.pk).status == "failed"
    assert Upload.objects.get(pk=left.pk).status == "new"  # abandoned by the daily cleanup
    uploads_cleanup()
    assert Upload.objects.get(pk=left.pk).status == "abandoned"


def test_the_upload_pages_recent_list_shows_a_stopped_upload_failed(
    marketer_client, email, upload_dir
):
    running(email, upload_dir, "checking")
    page = marketer_client.get(reverse("uploads:upload")).content.decode()
    assert "Recent uploads" in page and "Failed" in page and "Checking" not in page


def test_start_again_checks_the_same_file_then_imports(marketer_client, email, upload_dir):
    upload = running(email, upload_dir)
    uploads_fail_stale()
    make_segment(email, name="VIP (old name)", external_id="V1")  # changed meanwhile
    response = marketer_client.post(reverse("uploads:retry", args=[upload.pk]))
    assert response.url == reverse("uploads:detail", args=[upload.pk])
    upload.refresh_from_db()
    assert upload.status == "checked" and upload.error_message == ""
    assert (upload.created_count, upload.updated_count) == (1, 1)
    assert upload.finished_at is None and upload_path(upload).exists()
    page = marketer_client.get(response.url).content.decode()
    assert "Would create" in page and "Upload and Import" in page
    marketer_client.post(reverse("uploads:import", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.status == "done" and upload.stored_name == ""
    assert sorted(Segment.objects.values_list("external_id", "name")) == [
        ("R1", "Repeat buyers"),
        ("V1", "VIP"),
    ]


@override_settings(TASKS=DUMMY_TASKS)
def test_a_double_click_on_start_again_starts_one_check(marketer_client, email, upload_dir):
    from django.tasks import default_task_backend

    upload = running(email, upload_dir)
    uploads_fail_stale()
    url = reverse("uploads:retry", args=[upload.pk])
    marketer_client.post(url)
    response = marketer_client.post(url, follow=True)
    assert "This upload is being checked; wait for the preview." in response.content.decode()
    assert Upload.objects.get(pk=upload.pk).status == "checking"
    assert len(default_task_backend.results) == 1


@pytest.mark.parametrize("status", ["done", "rejected", "abandoned", "checked", "importing"])
def test_only_a_failed_upload_can_be_started_again(marketer_client, email, upload_dir, status):
    upload = running(email, upload_dir, status, silent=timedelta(0))
    marketer_client.post(reverse("uploads:retry", args=[upload.pk]))
    assert Upload.objects.get(pk=upload.pk).status == status


def test_a_failure_without_its_file_is_not_offered_again(marketer_client, email, upload_dir):
    gone = Upload.objects.create(
        channel=email, file_name="bad.csv", status="failed", error_message="Unreadable."
    )
    page = marketer_client.get(reverse("uploads:detail", args=[gone.pk])).content.decode()
    assert "Start again" not in page and "Upload a fixed file" in page
    response = marketer_client.post(reverse("uploads:retry", args=[gone.pk]), follow=True)
    assert "The file of this upload is no longer kept: upload it again." in (
        response.content.decode()
    )

    lost = running(email, upload_dir)
    uploads_fail_stale()
    upload_path(lost).unlink()
    response = marketer_client.post(reverse("uploads:retry", args=[lost.pk]), follow=True)
    assert "The file of this upload is no longer kept: upload it again." in (
        response.content.decode()
    )
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.stored_name == ""


def test_an_upload_that_failed_on_an_unreadable_file_loses_its_file(marketer_client, email):
    marketer_client.post(
        reverse("uploads:upload"),
        {
            "object_type": "segments",
            "channel": email.slug,
            "file": SimpleUploadedFile("segments.csv", FILE),
        },
    )
    upload = Upload.objects.get()
    path = upload_path(upload)
    upload.mapping = {"name": {"column": "Not there"}}
    upload.status = "checking"
    upload.save()
    upload_run(upload_id=upload.pk, dry_run=True)
    upload.refresh_from_db()
    assert upload.status == "failed" and not upload.can_start_again and not path.exists()


def test_cleanup_fails_silent_uploads_and_keeps_a_failed_ones_file_for_a_day(email, upload_dir):
    upload = running(email, upload_dir)
    assert uploads_cleanup() == 0
    upload.refresh_from_db()
    assert upload.status == "failed" and upload_path(upload).exists()
    assert uploads_cleanup(now=timezone.now() + timedelta(hours=23)) == 0
    assert uploads_cleanup(now=timezone.now() + timedelta(days=1, minutes=1)) == 1
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.stored_name == "" and not upload.can_start_again


def test_a_read_whose_worker_stopped_fails_and_starts_again_with_the_read(
    marketer_client, email, upload_dir
):
    upload = running(email, upload_dir, "reading")
    Upload.objects.filter(pk=upload.pk).update(headers=[], mapping={}, total_rows=0)
    page = marketer_client.get(reverse("uploads:read", args=[upload.pk]), follow=True)
    page = page.content.decode()
    assert "Reading the file stopped without finishing" in page and "Start again" in page
    marketer_client.post(reverse("uploads:retry", args=[upload.pk]))  # the read runs again
    upload.refresh_from_db()
    assert (upload.status, upload.total_rows, upload.headers) == (
        "new",
        2,
        ["Segment name", "Segment ID"],
    )


def test_cleanup_removes_upload_parts_left_by_a_stopped_web_process(email, upload_dir):
    upload_dir.mkdir(parents=True, exist_ok=True)
    old, fresh = upload_dir / "tmpold.upload", upload_dir / "tmpnew.upload"
    touch(old, timedelta(days=1, minutes=1))
    touch(fresh, timedelta(minutes=5))
    uploads_cleanup()
    assert not old.exists() and fresh.exists()


def test_a_database_error_that_is_not_a_lost_connection_is_not_reported_as_one(
    email, upload_dir, monkeypatch
):
    """A refused statement (here a bad search expression) is an unexpected error, so the upload
    never tells the person that the database went away and to simply start it again."""
    from django.db import OperationalError

    from integrations.uploads import services

    def refused(**kwargs):
        raise OperationalError("fts5: syntax error near '\"'")

    upload = running(email, upload_dir, status="queued", silent=timedelta(0))
    monkeypatch.setattr(services.IMPORTERS[upload.object_type], "run", refused)
    upload_run(upload_id=upload.pk, dry_run=False)
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert "unexpected error" in upload.error_message
    assert "connection was lost" not in upload.error_message
