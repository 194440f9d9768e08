"""The five steps through the views: full pages, htmx partials, permissions, races."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from integrations.uploads.models import Upload, UploadError
from integrations.uploads.services import progress_path, upload_path
from segments.models import Segment
from tests.factories import make_segment
from tests.uploads.conftest import FILES, snapshot

pytestmark = pytest.mark.django_db

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def choose(client, name: str, channel="email", content: bytes | None = None):
    data = content if content is not None else (FILES / name).read_bytes()
    return client.post(
        reverse("uploads:upload"),
        {"object_type": "segments", "channel": channel, "file": SimpleUploadedFile(name, data)},
    )


def mapping_post(**sources):
    data = {f"{key}_source": "" for key in ("name", "external_id", "link", "is_active")}
    data.update({f"{key}_static": "" for key in ("name", "external_id", "link", "is_active")})
    data.update(sources)
    return data


def test_choose_page_preselects_the_channel(marketer_client, channels):
    response = marketer_client.get(reverse("uploads:upload"), {"channel": "sms"})
    assert response.status_code == 200
    assert '<option value="sms" selected>' in response.content.decode()
    assert "Up to 50.0\xa0MB and 1,000,000 rows" in response.content.decode()


def test_viewer_sees_history_but_cannot_upload(viewer_client, marketer, email):
    upload = Upload.objects.create(channel=email, created_by=marketer, file_name="x.csv")
    assert viewer_client.get(reverse("uploads:history")).status_code == 200
    assert viewer_client.get(reverse("uploads:detail", args=[upload.pk])).status_code == 200
    assert viewer_client.get(reverse("uploads:upload")).status_code == 403
    assert choose(viewer_client, "bom_utf8.csv").status_code == 403
    for name in ("import", "remap", "abandon", "retry"):
        assert viewer_client.post(reverse(f"uploads:{name}", args=[upload.pk])).status_code == 403
    assert viewer_client.get(reverse("uploads:map", args=[upload.pk])).status_code == 403
    body = viewer_client.get(reverse("uploads:history")).content.decode()
    assert "x.csv" in body and "Upload a CSV file" not in body


def test_the_five_steps(marketer_client, marketer, email):
    make_segment(email, name="VIP customers", external_id="vip", link="https://example.com/vip")
    response = choose(marketer_client, "bom_utf8.csv")
    upload = Upload.objects.get()
    assert response.url == reverse("uploads:read", args=[upload.pk])
    assert upload_path(upload).exists()

    page = marketer_client.get(response.url).content.decode()
    assert "UTF-8 with BOM" in page and "Comma (,)" in page
    assert "Été 2024 ☀" in page and "Data rows</dt><dd>2" in page

    page = marketer_client.get(reverse("uploads:map", args=[upload.pk])).content.decode()
    assert '<option value="column:Segment Name" selected>' in page
    assert "The first rows as they would be imported" in page

    response = marketer_client.post(
        reverse("uploads:map", args=[upload.pk]),
        mapping_post(
            name_source="column:Segment Name",
            external_id_source="column:Segment ID",
            link_source="column:Link",
            is_active_source="column:Active",
        ),
    )
    assert response.url == reverse("uploads:detail", args=[upload.pk])
    upload.refresh_from_db()
    assert upload.status == "checked"
    assert (upload.created_count, upload.updated_count, upload.unchanged_count) == (1, 0, 1)
    assert Segment.objects.count() == 1  # the dry run wrote nothing

    page = marketer_client.get(response.url).content.decode()
    assert "Would create" in page and "Upload and Import" in page

    response = marketer_client.post(reverse("uploads:import", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.status == "done" and upload.created_count == 1
    assert upload.finished_at and upload.stored_name == ""
    assert Segment.objects.filter(channel=email).count() == 2
    page = marketer_client.get(response.url).content.decode()
    assert "Import finished: 1 created, 0 updated, 1 unchanged." in page

    # A second click on Upload and Import: a clear message, nothing imported twice.
    response = marketer_client.post(reverse("uploads:import", args=[upload.pk]), follow=True)
    assert "This upload is finished (imported)." in response.content.decode()
    assert Segment.objects.filter(channel=email).count() == 2


def test_an_invalid_file_is_explained_on_the_read_step(marketer_client, email):
    before = snapshot()
    response = choose(marketer_client, "duplicate_headers.csv", channel="email")
    page = marketer_client.get(response.url).content.decode()
    assert "The column name “name” appears twice (columns 1 and 3)" in page
    assert "Next: map the columns" not in page
    upload = Upload.objects.get()
    # The mapping step sends the user back to the problem.
    assert marketer_client.get(reverse("uploads:map", args=[upload.pk])).url == reverse(
        "uploads:read", args=[upload.pk]
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nul_bytes.csv", "The file has characters that are not text at line 3."),
        ("binary.png", "does not look like a text file"),
        ("header_only.csv", "a header row but no data rows"),
        ("blank_header.csv", "Column 2 of the header row has no name"),
        ("blank_lines_only.csv", "The file is empty."),
    ],
)
def test_rejected_files_give_a_message_not_a_500(marketer_client, email, name, message):
    before = snapshot()
    response = choose(marketer_client, name)
    assert response.status_code == 302
    page = marketer_client.get(response.url).content.decode()
    assert message in page
    assert snapshot() == before


def test_an_empty_or_too_big_file_is_refused_on_the_choose_step(
    marketer_client, email, settings, upload_dir
):
    response = choose(marketer_client, "empty.csv")
    assert response.status_code == 200
    assert "The file is empty." in response.content.decode()
    settings.UPLOAD_MAX_BYTES = 10
    response = choose(marketer_client, "bom_utf8.csv")
    # Refused by the upload handler while the file arrives, not after it was all received.
    assert "The file is larger than 10\xa0bytes" in response.content.decode()
    assert list(upload_dir.iterdir()) == []
    assert not Upload.objects.exists()


def test_encoding_and_delimiter_can_be_overridden_with_an_htmx_partial(
    marketer_client, email, htmx_headers
):
    choose(marketer_client, "cp1252_semicolons.csv")
    upload = Upload.objects.get()
    response = marketer_client.post(
        reverse("uploads:read", args=[upload.pk]),
        {"encoding": "utf-8", "delimiter": ","},
        headers=htmx_headers,
    )
    page = response.content.decode()
    assert "<html" not in page
    assert "The file has characters that are not valid UTF-8 at line 2 (shown as �)." in page
    upload.refresh_from_db()
    assert (upload.encoding, upload.detected_encoding) == ("utf-8", "cp1252")
    response = marketer_client.post(
        reverse("uploads:read", args=[upload.pk]),
        {"encoding": "cp1252", "delimiter": ";"},
        headers=htmx_headers,
    )
    assert "Café crème" in response.content.decode()


def test_map_step_refreshes_the_sample_as_an_htmx_partial(marketer_client, email, htmx_headers):
    choose(marketer_client, "bad_booleans.csv")
    upload = Upload.objects.get()
    response = marketer_client.get(
        reverse("uploads:map", args=[upload.pk]),
        mapping_post(name_source="column:name", is_active_source="column:active"),
        headers=htmx_headers,
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="section" id="mapped-sample">')
    assert "“maybe” is not an active status." in page
    assert page.count("<tr>") == 6


def test_mapping_form_errors(marketer_client, email):
    choose(marketer_client, "bom_utf8.csv")
    upload = Upload.objects.get()
    url = reverse("uploads:map", args=[upload.pk])
    response = marketer_client.post(url, mapping_post())
    assert "Choose the column with the segment name." in response.content.decode()
    response = marketer_client.post(
        url,
        mapping_post(
            name_source="column:Segment Name", link_source="static", link_static="javascript:x"
        ),
    )
    assert response.status_code == 200
    assert "Only http:// and https:// links are allowed." in response.content.decode()
    upload.refresh_from_db()
    assert upload.status == "new"


def test_invalid_rows_all_or_nothing_then_skip_invalid(marketer_client, email):
    choose(marketer_client, "bad_booleans.csv")
    upload = Upload.objects.get()
    marketer_client.post(
        reverse("uploads:map", args=[upload.pk]),
        mapping_post(
            name_source="column:name",
            external_id_source="column:id",
            is_active_source="column:active",
        ),
    )
    page = marketer_client.get(reverse("uploads:detail", args=[upload.pk])).content.decode()
    assert "3 rows are invalid" in page
    assert "“maybe” is not an active status" in page
    report = marketer_client.get(reverse("uploads:error_report", args=[upload.pk]))
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Column,Value,Reason" and len(lines) == 4
    assert lines[1].startswith("3,active,maybe,")

    before = snapshot()
    marketer_client.post(reverse("uploads:import", args=[upload.pk]))  # no skip_invalid
    upload.refresh_from_db()
    assert upload.status == "rejected" and "Nothing was imported: 3 rows are invalid" in (
        upload.error_message
    )
    assert snapshot() == before
    assert UploadError.objects.filter(upload=upload).count() == 3


def test_skip_invalid_imports_exactly_the_valid_rows(marketer_client, email):
    choose(marketer_client, "bad_booleans.csv")
    upload = Upload.objects.get()
    marketer_client.post(
        reverse("uploads:map", args=[upload.pk]),
        mapping_post(
            name_source="column:name",
            external_id_source="column:id",
            is_active_source="column:active",
        ),
    )
    marketer_client.post(reverse("uploads:import", args=[upload.pk]), {"skip_invalid": "on"})
    upload.refresh_from_db()
    assert upload.status == "done" and upload.skip_invalid
    assert sorted(Segment.objects.values_list("external_id", flat=True)) == ["1", "4"]


def test_progress_while_queued_and_running(marketer_client, email, htmx_headers):
    choose(marketer_client, "bom_utf8.csv")
    upload = Upload.objects.get()
    with override_settings(TASKS=DUMMY_TASKS):
        marketer_client.post(
            reverse("uploads:map", args=[upload.pk]),
            mapping_post(name_source="column:Segment Name"),
        )
    upload.refresh_from_db()
    assert upload.status == "checking"
    url = reverse("uploads:detail", args=[upload.pk])
    progress_path(upload).write_text("1")
    page = marketer_client.get(url, headers=htmx_headers).content.decode()
    assert page.lstrip().startswith('<div id="upload-status" hx-get="')
    assert 'hx-trigger="every 1s"' in page
    assert '<progress id="upload-progress" max="2" value="1">' in page
    assert "1 of 2 rows" in page
    full = marketer_client.get(url).content.decode()
    assert "<html" in full and "Checking every row" in full


def test_double_import_click_is_a_clear_message(marketer_client, email):
    choose(marketer_client, "bom_utf8.csv")
    upload = Upload.objects.get()
    marketer_client.post(
        reverse("uploads:map", args=[upload.pk]), mapping_post(name_source="column:Segment Name")
    )
    with override_settings(TASKS=DUMMY_TASKS):
        marketer_client.post(reverse("uploads:import", args=[upload.pk]))
        response = marketer_client.post(reverse("uploads:import", args=[upload.pk]), follow=True)
    assert "This upload is already being imported." in response.content.decode()


def test_cancel_removes_the_file(marketer_client, email):
    choose(marketer_client, "bom_utf8.csv")
    upload = Upload.objects.get()
    path = upload_path(upload)
    response = marketer_client.post(reverse("uploads:abandon", args=[upload.pk]), follow=True)
    assert "cancelled; its file was removed" in response.content.decode()
    upload.refresh_from_db()
    assert upload.status == "abandoned" and not path.exists()


def test_history_lists_uploads_in_constant_queries(
    marketer_client, marketer, email, sms, django_assert_num_queries, htmx_headers
):
    def add(n):
        Upload.objects.bulk_create(
            [
                Upload(channel=email if i % 2 else sms, created_by=marketer, file_name=f"f{i}.csv")
                for i in range(n)
            ]
        )

    add(3)
    url = reverse("uploads:history")
    with django_assert_num_queries(6) as ctx:
        marketer_client.get(url, headers=htmx_headers)
    add(60)
    with django_assert_num_queries(len(ctx)):
        page = marketer_client.get(url, headers=htmx_headers).content.decode()
    assert "63 uploads" in page and "<html" not in page
    full = marketer_client.get(url).content.decode()
    assert "<html" in full and "f59.csv" in full


def test_history_empty_state(viewer_client, channels):
    page = viewer_client.get(reverse("uploads:history")).content.decode()
    assert "No uploads yet" in page


def test_detail_in_constant_queries(marketer_client, marketer, email, django_assert_num_queries):
    upload = Upload.objects.create(
        channel=email,
        created_by=marketer,
        file_name="x.csv",
        status="checked",
        mapping={"name": {"column": "n"}},
    )
    UploadError.objects.bulk_create(
        [UploadError(upload=upload, row=i, reason="bad") for i in range(3)]
    )
    url = reverse("uploads:detail", args=[upload.pk])
    with django_assert_num_queries(7) as ctx:
        marketer_client.get(url)
    UploadError.objects.bulk_create(
        [UploadError(upload=upload, row=i, reason="bad") for i in range(300)]
    )
    with django_assert_num_queries(len(ctx)):
        page = marketer_client.get(url).content.decode()
    assert page.count("<td>bad</td>") == 100


def test_an_upload_still_being_mapped_opens_on_its_step(marketer_client, email):
    choose(marketer_client, "bom_utf8.csv")
    upload = Upload.objects.get()
    response = marketer_client.get(reverse("uploads:detail", args=[upload.pk]))
    assert response.url == reverse("uploads:map", args=[upload.pk])
