"""What the upload pages say: the read in the background, refused files and imports with
their true state, the way on from a refused import, and what a dry run would change."""

import pytest
from django.test import override_settings
from django.urls import reverse

from integrations.uploads import services
from integrations.uploads.models import Upload
from segments.models import Segment
from tests.factories import make_segment
from tests.uploads.conftest import snapshot
from tests.uploads.test_views import DUMMY_TASKS, choose, mapping_post

pytestmark = pytest.mark.django_db

MIXED = b"name,id,active\nOne,1,yes\nTwo,2,maybe\nThree,3,no\nFour,4,never\nFive,5,yes,extra\n"


def checked(client, content: bytes, **sources):
    choose(client, "mixed.csv", content=content)
    upload = Upload.objects.get()
    client.post(
        reverse("uploads:map", args=[upload.pk]),
        mapping_post(
            **(
                sources
                or {
                    "name_source": "column:name",
                    "external_id_source": "column:id",
                    "is_active_source": "column:active",
                }
            )
        ),
    )
    upload.refresh_from_db()
    return upload


def test_the_request_only_stores_the_file_and_the_worker_reads_it(
    marketer_client, viewer_client, email, htmx_headers
):
    with override_settings(TASKS=DUMMY_TASKS):
        response = choose(marketer_client, "x.csv", content=b"Segment name\nVIP\nNew\n")
    upload = Upload.objects.get()
    assert (upload.status, upload.headers, upload.total_rows) == ("reading", [], 0)
    assert services.upload_path(upload).exists()
    services.progress_path(upload).write_text("10")
    page = marketer_client.get(response.url, headers=htmx_headers).content.decode()
    assert page.lstrip().startswith('<div id="upload-read" hx-get=')
    assert 'hx-trigger="every 1s"' in page and "Reading the file" in page
    assert '<progress id="read-progress" max="21" value="10">' in page
    # A viewer's detail page, the history: "Reading", not "Mapping".
    history = marketer_client.get(reverse("uploads:history")).content.decode()
    assert ">Reading</span>" in history
    page = viewer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "Reading the file" in page and "Importing" not in page

    services.upload_read_run(upload_id=upload.pk)  # what the worker does
    page = marketer_client.get(response.url, headers=htmx_headers).content.decode()
    assert 'hx-trigger="every 1s"' not in page and "Data rows</dt><dd>2" in page
    assert not services.progress_path(upload).exists()


def test_a_refused_file_is_refused_not_mapping_forever(marketer_client, viewer_client, email):
    choose(marketer_client, "x.csv", content=b"name,name\n1,2\n")
    upload = Upload.objects.get()
    assert upload.status == "unreadable" and upload.finished_at
    history = viewer_client.get(reverse("uploads:history")).content.decode()
    assert ">File refused</span>" in history and ">Mapping</span>" not in history
    # Reading it again (another delimiter) is still possible from the read step.
    page = marketer_client.get(reverse("uploads:read", args=[upload.pk])).content.decode()
    assert "appears twice" in page and "Read again" in page


def test_the_read_form_offers_utf16_without_a_byte_order_mark(marketer_client, email):
    choose(
        marketer_client, "x.csv", content="Segment name;Segment ID\nÉté;e1\n".encode("utf-16-le")
    )
    upload = Upload.objects.get()
    assert upload.encoding == "utf-16-le"
    page = marketer_client.get(reverse("uploads:read", args=[upload.pk])).content.decode()
    assert '<option value="utf-16-le" selected>' in page and "Été" in page
    marketer_client.post(
        reverse("uploads:read", args=[upload.pk]), {"encoding": "utf-16-be", "delimiter": ";"}
    )
    upload.refresh_from_db()
    assert upload.encoding == "utf-16-be"  # the user's choice wins, even a wrong one


def test_a_guessed_encoding_is_said_with_the_rows_it_changes(marketer_client, email):
    choose(marketer_client, "x.csv", content="name,id\nPlain,1\nCafé crème,2\n".encode("cp1252"))
    upload = Upload.objects.get()
    page = marketer_client.get(reverse("uploads:read", args=[upload.pk])).content.decode()
    assert "Check the accents: the encoding was guessed" in page
    assert "read as <strong>Windows-1252 (Western Europe)</strong>" in page
    assert "Café crème,2" in page and "Caf� cr�me,2" in page
    assert 'name="encoding"' in page
    # The dry run's preview says so too, with the way back to choose another one.
    marketer_client.post(
        reverse("uploads:map", args=[upload.pk]), mapping_post(name_source="column:name")
    )
    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "The file was read as Windows-1252 (Western Europe), a guess" in page
    response = marketer_client.post(reverse("uploads:remap", args=[upload.pk]), {"to": "read"})
    assert response.url == reverse("uploads:read", args=[upload.pk])


def test_rows_that_cannot_be_read_are_listed_on_the_read_step_in_plain_words(
    marketer_client, email
):
    choose(marketer_client, "x.csv", content=b"name,id\nGood,1\nBad\x00name,2\n")
    page = marketer_client.get(
        reverse("uploads:read", args=[Upload.objects.get().pk])
    ).content.decode()
    assert "The file has characters that are not text at line 3." in page
    assert "NUL" not in page and " block" not in page
    # The mapping step's sample marks the row too.
    upload = Upload.objects.get()
    page = marketer_client.get(reverse("uploads:map", args=[upload.pk])).content.decode()
    assert '<span class="error">The file has characters that are not text at line 3.</span>' in page


def test_a_refused_import_reads_would_and_imports_the_valid_rows_only(
    marketer_client, viewer_client, email
):
    upload = checked(marketer_client, MIXED)
    before = snapshot()
    marketer_client.post(reverse("uploads:import", args=[upload.pk]))  # all or nothing
    upload.refresh_from_db()
    assert upload.status == "rejected" and snapshot() == before
    assert services.upload_path(upload).exists()  # kept for the way on

    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "Would create</dt>" in page and "Created</dt>" not in page
    assert "Import the valid rows only</button>" in page
    assert "Download the invalid rows</a>" in page
    history = viewer_client.get(reverse("uploads:history")).content.decode()
    assert "would create 2" in history
    # A viewer sees the state but not the buttons.
    page = viewer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "Import the valid rows only</button>" not in page

    report = marketer_client.get(reverse("uploads:invalid_rows", args=[upload.pk]))
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines == ["name,id,active", "Two,2,maybe", "Four,4,never", "Five,5,yes,extra"]

    response = marketer_client.post(reverse("uploads:import_valid", args=[upload.pk]))
    assert response.url == reverse("uploads:detail", args=[upload.pk])
    upload.refresh_from_db()
    assert upload.status == "done" and upload.skip_invalid
    assert sorted(Segment.objects.values_list("name", flat=True)) == ["One", "Three"]
    page = marketer_client.get(response.url).content.decode()
    assert "Created</dt>" in page and "Would create" not in page
    assert "What changed" in page and "2 new segments; 0 names" in page
    # A second click: a sentence, nothing imported twice.
    response = marketer_client.post(reverse("uploads:import_valid", args=[upload.pk]), follow=True)
    assert "This upload is finished (imported)." in response.content.decode()
    assert Segment.objects.count() == 2


def test_the_dry_run_shows_what_would_change_and_counts_it(marketer_client, email):
    make_segment(email, name="Old name", external_id="1", link="https://example.com/a")
    make_segment(email, name="Keeps", external_id="2", is_active=True)
    make_segment(email, name="Same", external_id="3")
    content = (
        b"name,id,link,active\n"
        b"New name,1,https://example.com/b,yes\nKeeps,2,,no\nSame,3,,yes\nBrand new,4,,yes\n"
    )
    upload = checked(
        marketer_client,
        content,
        name_source="column:name",
        external_id_source="column:id",
        link_source="column:link",
        is_active_source="column:active",
    )
    assert (upload.created_count, upload.updated_count, upload.unchanged_count) == (1, 2, 1)
    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "What would change" in page
    assert "1 new segment; 1 name, 1 link and 1 status would change." in page
    assert 'Name: <span class="upload-change-old">Old name</span> → New name' in page
    assert (
        'Link: <span class="upload-change-old">https://example.com/a</span> → https://example.com/b'
        in page
    )
    assert 'Status: <span class="upload-change-old">Active</span> → Inactive' in page
    assert "New segment, ID 4, active" in page


def test_a_new_segment_named_like_another_is_a_warning_not_a_refusal(marketer_client, email):
    make_segment(email, name="VIP", external_id="a")
    content = b"name,id\nvip,b\nFresh,c\nFresh,d\n"
    upload = checked(
        marketer_client, content, name_source="column:name", external_id_source="column:id"
    )
    assert upload.status == "checked" and upload.invalid_count == 0
    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "2 new segments would share a name" in page
    assert "Line 2: “vip”, like the existing segment “VIP” (ID a)" in page
    assert "Line 4: “Fresh”, like row 3 of this file" in page
    marketer_client.post(reverse("uploads:import", args=[upload.pk]))
    assert Segment.objects.filter(channel=email).count() == 4


def test_the_active_status_help_shows_only_when_it_is_not_imported(marketer_client, email):
    choose(marketer_client, "x.csv", content=b"name,active\nOne,yes\n")
    upload = Upload.objects.get()
    url = reverse("uploads:map", args=[upload.pk])
    page = marketer_client.get(url).content.decode()  # suggested: active is mapped
    assert "Active status is not imported" not in page
    page = marketer_client.get(url, mapping_post(name_source="column:name")).content.decode()
    assert "Active status is not imported: new segments are active" in page


def test_the_mapping_page_stays_small_at_the_column_cap(marketer_client, email, settings):
    settings.UPLOAD_MAX_COLUMNS = 200
    names = [f"{i:03d}" + "x" * 97 for i in range(200)]  # the longest names allowed
    content = (",".join(names) + "\n" + ",".join("v" * 200 for _ in names) + "\n").encode()
    choose(marketer_client, "wide.csv", content=content)
    upload = Upload.objects.get()
    assert len(upload.headers) == 200
    page = marketer_client.get(reverse("uploads:map", args=[upload.pk])).content.decode()
    assert len(page.encode()) < 200_000
    too_wide = (",".join(f"c{i}" for i in range(201)) + "\n1\n").encode()
    choose(marketer_client, "too-wide.csv", content=too_wide)
    page = marketer_client.get(
        reverse("uploads:read", args=[Upload.objects.latest("pk").pk])
    ).content.decode()
    assert "The file has 201 columns; an upload can take at most 200." in page


def test_a_refused_import_without_valid_rows_offers_no_empty_import(marketer_client, email):
    upload = checked(marketer_client, b"name,id,active\nOne,1,maybe\n")
    marketer_client.post(reverse("uploads:import", args=[upload.pk]))
    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "Nothing was imported: 1 row is invalid. Download the invalid rows, fix" in page
    assert "Import the valid rows only" not in page
    assert "Download the invalid rows</a>" in page and "Upload a fixed file" in page
