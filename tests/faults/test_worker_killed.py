"""A worker killed in the middle of writing: nothing half-written, the page shows the failure
once the worker has been silent too long, and starting again ends with exactly the right rows.

The worker is a real `db_worker` process paused inside its write transaction (after the first
batch) and killed with SIGKILL, on SQLite (a file) and on PostgreSQL alike.
"""

import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.klaviyo import services as klaviyo_services
from integrations.klaviyo.models import SyncRun, SyncRunChannel
from integrations.uploads.importers import BATCH_SIZE
from integrations.uploads.models import Upload
from integrations.uploads.services import progress_path, upload_path
from segments.models import Segment
from tests.factories import ensure_default_channels, make_marketer, make_segment
from tests.klaviyo_fake import DEFAULT_KEY, FakeKlaviyo, object_id

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}
ROWS = 2 * BATCH_SIZE + 500  # three batches: the worker is stopped after the first


@pytest.fixture
def email():
    return ensure_default_channels()["email"]


@pytest.fixture
def client():
    client = Client()
    client.force_login(make_marketer())
    return client


def _csv(rows: int) -> bytes:
    lines = ["Segment name,Segment ID,Link"]
    lines += [f"Segment {i},ID{i:05d},https://example.com/s/{i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _go_back(upload: Upload, seconds: float) -> None:
    """Make the upload look silent for `seconds`: its last change and its progress file."""
    past = timezone.now() - timedelta(seconds=seconds)
    Upload.objects.filter(pk=upload.pk).update(updated_at=past)
    progress = progress_path(upload)
    if progress.exists():
        stamp = past.timestamp()
        os.utime(progress, (stamp, stamp))


def test_an_import_whose_worker_is_killed_writes_nothing_and_can_be_started_again(
    client, email, workers, tmp_path, settings
):
    response = client.post(
        reverse("uploads:upload"),
        {
            "object_type": "segments",
            "channel": email.slug,
            "file": SimpleUploadedFile("segments.csv", _csv(ROWS)),
        },
    )
    upload = Upload.objects.get()
    assert response.url == reverse("uploads:read", args=[upload.pk])
    assert upload.status == "reading"  # the request only stored the file: a worker reads it
    workers.run_batch()
    upload.refresh_from_db()
    assert (upload.status, upload.total_rows) == ("new", ROWS), upload.error_message
    mapping = {f"{key}_source": "" for key in ("name", "external_id", "link", "is_active")}
    mapping |= {f"{key}_static": "" for key in ("name", "external_id", "link", "is_active")}
    mapping |= {
        "name_source": "column:Segment name",
        "external_id_source": "column:Segment ID",
        "link_source": "column:Link",
    }
    client.post(reverse("uploads:map", args=[upload.pk]), mapping)
    upload.refresh_from_db()
    assert upload.status == "checking"

    marker = tmp_path / "paused"
    worker = workers.start_pausing(marker)
    workers.wait_for(
        "the dry run to finish",
        lambda: Upload.objects.get(pk=upload.pk).status != "checking",
        worker,
    )
    upload.refresh_from_db()
    assert upload.status == "checked", upload.error_message
    client.post(reverse("uploads:import", args=[upload.pk]))
    workers.wait_for("the worker to stop inside the import", marker.exists, worker)

    # Paused inside the import's transaction with the first batch written: nobody sees it.
    upload.refresh_from_db()
    assert upload.status == "importing"
    assert not Segment.objects.exists()
    detail = reverse("uploads:detail", args=[upload.pk])
    page = client.get(detail, headers=HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in page and f"{BATCH_SIZE:,} of {ROWS:,} rows" in page

    workers.kill(worker)

    # The transaction died with the process; until the timeout the upload still looks busy.
    assert not Segment.objects.exists()
    page = client.get(detail, headers=HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Importing…" in page
    assert Upload.objects.get(pk=upload.pk).status == "importing"

    _go_back(upload, settings.UPLOAD_STALE_AFTER_SECONDS + 1)
    page = client.get(detail, headers=HTMX).content.decode()
    assert 'hx-trigger="every 1s"' not in page
    assert "The import stopped without finishing" in page
    assert "Nothing was written to Email. Start it again." in page
    assert "Start again</button>" in page
    # The page only shows it; the periodic cleanup (or Start again) makes it true.
    assert Upload.objects.get(pk=upload.pk).status == "importing"
    call_command("cleanup")
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.finished_at
    stored = upload_path(upload)
    assert upload.stored_name and stored.exists(), "the file is kept for a new start"
    assert not progress_path(upload).exists()
    assert not Segment.objects.exists()

    # Meanwhile someone adds one of the file's segments by hand: the new dry run sees it.
    make_segment(email, name="Typed by hand", external_id="ID00007")
    client.post(reverse("uploads:retry", args=[upload.pk]))
    assert Upload.objects.get(pk=upload.pk).status == "checking"
    workers.run_batch()
    upload.refresh_from_db()
    assert upload.status == "checked", upload.error_message
    assert (upload.created_count, upload.updated_count, upload.invalid_count) == (ROWS - 1, 1, 0)

    client.post(reverse("uploads:import", args=[upload.pk]))
    workers.run_batch()
    upload.refresh_from_db()
    assert upload.status == "done", upload.error_message
    assert (upload.created_count, upload.updated_count) == (ROWS - 1, 1)
    ids = list(Segment.objects.filter(channel=email).values_list("external_id", flat=True))
    assert sorted(ids) == [f"ID{i:05d}" for i in range(ROWS)]
    assert Segment.objects.get(external_id="ID00007").name == "Segment 7"
    assert upload.stored_name == "" and not stored.exists()
    page = client.get(detail).content.decode()
    assert f"Import finished: {ROWS - 1:,} created, 1 updated, 0 unchanged." in page


@pytest.fixture
def fake_klaviyo(settings):
    """A fake Klaviyo with a couple of thousand segments: three write batches of the sync."""
    with FakeKlaviyo(segments=2000, lists=20, api_key=DEFAULT_KEY) as fake:
        settings.KLAVIYO_API_URL = fake.url
        settings.KLAVIYO_API_KEY = ""
        yield fake


def test_a_sync_whose_worker_is_killed_writes_nothing_and_can_be_run_again(
    client, email, fake_klaviyo, workers, tmp_path, settings
):
    klaviyo_services.klaviyo_key_save(api_key=DEFAULT_KEY, user=None)
    start = reverse("klaviyo:sync-start", args=[email.slug])
    client.post(start, headers=HTMX)
    run = SyncRun.objects.get()

    marker = tmp_path / "paused"
    worker = workers.start_pausing(marker)
    workers.wait_for("the worker to stop inside the sync's transaction", marker.exists, worker)

    # Paused inside channel_apply with the first batch created: nobody sees it.
    assert SyncRun.objects.get(pk=run.pk).status == "running"
    assert not Segment.objects.exists()
    panel = reverse("klaviyo:sync-panel", args=[email.slug]) + f"?run={run.pk}"
    assert 'hx-trigger="every 1s"' in client.get(panel, headers=HTMX).content.decode()

    workers.kill(worker)

    assert not Segment.objects.exists()
    html = client.get(panel, headers=HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in html and "Syncing from Klaviyo" in html
    assert SyncRunChannel.objects.get(run=run).in_progress  # the channel is still taken

    # Silent past the timeout: the polling panel turns into the failure by itself.
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS + 1)
    )
    response = client.get(panel, headers=HTMX)
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' not in html
    assert "Sync failed" in html and "stopped reporting progress" in html
    assert '"segments-changed"' in response.headers["HX-Trigger"]
    # The panel only shows it; the periodic cleanup (or the next start) makes it true.
    assert SyncRun.objects.get(pk=run.pk).status == "running"
    call_command("cleanup")
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at
    assert not SyncRunChannel.objects.get(run=run).in_progress
    page = client.get(reverse("klaviyo:run-detail", args=[run.pk])).content.decode()
    assert "Failed" in page and "stopped reporting progress" in page
    assert not Segment.objects.exists()

    # Start again from the Segments tab: a new run, which a normal worker completes.
    html = client.post(start, headers=HTMX).content.decode()
    assert "already running" not in html
    again = SyncRun.objects.exclude(pk=run.pk).get()
    workers.run_batch()
    again.refresh_from_db()
    assert again.status == "succeeded", again.error
    expected = sorted(
        [object_id("segment", i) for i in range(2000)] + [object_id("list", i) for i in range(20)]
    )
    ids = list(Segment.objects.filter(channel=email).values_list("external_id", flat=True))
    assert sorted(ids) == expected
    assert SyncRunChannel.objects.get(run=again).created == len(expected)
