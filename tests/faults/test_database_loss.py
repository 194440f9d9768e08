"""The database connection lost under a request or a background task, as a restart or a
failover does it (on PostgreSQL: the server process of the connection is terminated). The user
gets a clear answer, nothing is half-written, and the next request, or a new start, works."""

import uuid
from contextlib import contextmanager

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from audiences.models import Audience
from integrations.klaviyo import services as klaviyo_services
from integrations.klaviyo.models import SyncRun, SyncRunChannel
from integrations.uploads import background as upload_background
from integrations.uploads import services as upload_services
from integrations.uploads.models import Upload
from segments.models import Segment
from tests.factories import ensure_default_channels, make_marketer, make_segment
from tests.klaviyo_fake import FakeKlaviyo

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "pk_fake_0123456789abcdef0123456789ab"


@pytest.fixture(autouse=True)
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("terminating a server process needs PostgreSQL: DATABASE_URL=postgres://…")


@pytest.fixture
def email(db):
    return ensure_default_channels()["email"]


@pytest.fixture
def marketer_client(email):
    # A real user's view of a failure: the error page, not the exception.
    client = Client(raise_request_exception=False)
    client.force_login(make_marketer())
    return client


def terminate_server_process(conn) -> None:
    """What a database restart does to an open connection, done from a second connection."""
    pid = conn.connection.info.backend_pid
    other = connections.create_connection(conn.alias)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


@contextmanager
def connection_lost_before(fragment: str, occurrence: int = 1):
    """Terminate the connection just before the `occurrence`-th statement containing
    `fragment` runs; yields a list that holds the statement once it happened."""
    seen, fired = [0], []

    def wrapper(execute, sql, params, many, context):
        if not fired and fragment in sql:
            seen[0] += 1
            if seen[0] == occurrence:
                fired.append(sql)
                terminate_server_process(context["connection"])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield fired
    assert fired, f"no statement containing {fragment!r} ran {occurrence} time(s)"


def audience_post(segment, token: str) -> dict:
    return {
        "name": "VIP customers",
        "estimated_volume": "",
        "segments-include": [str(segment.pk)],
        "segments-exclude": [],
        "submission": token,
    }


def test_a_save_that_loses_the_database_gets_a_clear_page_and_saves_nothing(marketer_client, email):
    vip = make_segment(email, name="VIP", external_id="vip")
    url = reverse("audiences:create", args=[email.slug])
    data = audience_post(vip, uuid.uuid4().hex)
    with connection_lost_before('INSERT INTO "audiences_audience"'):
        response = marketer_client.post(url, data)
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "The database is not answering right now" in body
    assert "Nothing you entered was saved" in body
    assert "Traceback" not in body and "OperationalError" not in body
    # Rolled back whole: no audience, and the form's one-time token was not used up.
    assert not Audience.objects.exists()

    response = marketer_client.post(url, data)  # the user sends the same form again
    assert response.status_code == 302
    assert Audience.objects.get().name == "VIP customers"


def test_a_page_that_loses_the_database_answers_503_and_the_next_one_works(
    marketer_client, email, htmx_headers
):
    make_segment(email, name="VIP", external_id="vip")
    url = reverse("segments:list", args=[email.slug])
    with connection_lost_before('FROM "segments_segment"'):
        response = marketer_client.get(url, {"q": "vip"}, headers=htmx_headers)
    assert response.status_code == 503  # htmx shows its own message for a 503
    assert "Traceback" not in response.content.decode()

    response = marketer_client.get(url, {"q": "vip"})
    assert response.status_code == 200
    assert "VIP" in response.content.decode()


def test_an_import_that_loses_the_database_fails_cleanly_and_can_run_again(
    marketer_client, email, settings, tmp_path
):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    make_segment(email, name="Already here", external_id="seg-0")
    rows = "\n".join(f"Segment {n},seg-{n}" for n in range(1, 5001))
    marketer_client.post(
        reverse("uploads:upload"),
        {
            "object_type": "segments",
            "channel": email.slug,
            "file": SimpleUploadedFile("big.csv", f"Name,Segment ID\n{rows}\n".encode()),
        },
    )
    upload = Upload.objects.get()
    upload_background.upload_set_mapping(
        upload=upload,
        mapping={"name": {"column": "Name"}, "external_id": {"column": "Segment ID"}},
    )  # the dry run (tests run tasks at once)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.CHECKED and upload.created_count == 5000

    # The second batch's Segment ID lookup: the first batch is already written by then.
    with connection_lost_before("FROM unnest(", occurrence=2):
        upload_background.upload_import_start(upload=upload, skip_invalid=False)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.error_message == (
        "The database connection was lost during the import. Nothing was written. Start it again."
    )
    assert Segment.objects.filter(channel=email).count() == 1  # nothing half-written
    assert upload_services.upload_path(upload).exists()  # kept for another start
    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "The database connection was lost during the import." in page

    assert "Start again" in page

    # Started again on the same file and mapping (the check, then the import): exactly the
    # file's rows.
    response = marketer_client.post(reverse("uploads:retry", args=[upload.pk]))
    assert response.status_code == 302
    upload.refresh_from_db()
    assert upload.status == Upload.Status.CHECKED and upload.created_count == 5000
    upload_background.upload_import_start(upload=upload, skip_invalid=False)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.created_count == 5000
    assert Segment.objects.filter(channel=email).count() == 5001


def test_a_sync_that_loses_the_database_fails_cleanly_and_can_run_again(email, settings):
    make_segment(email, name="Kept by hand", external_id="")
    with FakeKlaviyo(api_key=KEY, segments=2500, lists=100) as fake:
        settings.KLAVIYO_API_URL = fake.url
        settings.KLAVIYO_API_KEY = KEY
        run = klaviyo_services.sync_run_create(channels=[email])
        # The read of segments to mark "not in Klaviyo": every new segment is written by then,
        # inside the channel's transaction (PostgreSQL writes them with COPY).
        with connection_lost_before('"segments_segment"."klaviyo_missing_since" IS NULL'):
            run = klaviyo_services.sync_run_execute(run_id=run.pk)
        assert run.status == SyncRun.Status.FAILED
        assert "The database connection was lost during the sync" in run.error
        assert Segment.objects.filter(channel=email).count() == 1  # the channel rolled back
        assert not SyncRunChannel.objects.filter(in_progress=True).exists()  # channel freed

        again = klaviyo_services.sync_run_create(channels=[email])
        again = klaviyo_services.sync_run_execute(run_id=again.pk)
    assert again.status == SyncRun.Status.SUCCEEDED, again.error
    assert Segment.objects.filter(channel=email).count() == 1 + 2500 + 100
