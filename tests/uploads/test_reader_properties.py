"""Property-based tests for the CSV reader: whatever bytes a user uploads, reading them ends
in a result or a FileProblem (a message for the user), never an unhandled exception."""

import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from integrations.uploads import services
from integrations.uploads.importers import SEGMENT, MappingProblem
from integrations.uploads.models import Upload
from integrations.uploads.reading import DELIMITERS, ENCODINGS, CsvFile, FileProblem, detect
from segments.models import Segment

# Pieces real files are made of, so examples look like CSV often enough to get past detection;
# mixed with arbitrary bytes so nothing is assumed.
PIECES = st.sampled_from(
    [
        b",",
        b";",
        b"\t",
        b"|",
        b'"',
        b'""',
        b"\n",
        b"\r",
        b"\r\n",
        b" ",
        b"\x00",
        b"\xef\xbb\xbf",  # UTF-8 BOM
        b"\xff\xfe",  # UTF-16 LE BOM
        b"\xfe\xff",
        b"Segment name",
        b"Segment ID",
        b"Link",
        b"Active",
        b"VIP",
        b"\xc3\xa9",  # é in UTF-8
        b"\xe9",  # é in cp1252
        b"\x80\x81\x8d\x8f\x90\x9d",  # undefined in cp1252
        b"=cmd|' /C calc'!A0",
        b"https://example.com/a",
        b"javascript:alert(1)",
        b"yes",
        b"no",
    ]
)
CSV_LIKE = st.lists(PIECES | st.binary(max_size=6), max_size=60).map(b"".join)
ANY_BYTES = st.binary(max_size=2048) | CSV_LIKE
FAST = settings(max_examples=150, deadline=None)


def _write(data: bytes) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)  # noqa: SIM115
    with handle:
        handle.write(data)
    return Path(handle.name)


def read_everything(path: Path, encoding: str, delimiter: str) -> None:
    """What the upload flow does with a file: header, count and sample, then every row."""
    csv_file = CsvFile(path, encoding=encoding, delimiter=delimiter, max_rows=50)
    found = csv_file.scan()
    header, total, sample = found.header, found.total, found.sample
    assert header and total >= len(sample) >= 1
    assert all(len(row.cells) == len(header) for row in csv_file.rows())


@FAST
@given(ANY_BYTES)
@example(b"")
@example(b"\x00\x00")
@example(b"\xff\xfe\x00")  # UTF-16 BOM and half a character
@example(b'a,b\n"unclosed,1\n')
@example(b"a,a\n1,2\n")
@example(b"a\n" + b"x" * 200_000)  # one field past csv's size limit
def test_detected_reading_never_raises_anything_but_a_file_problem(data):
    path = _write(data)
    try:
        try:
            detected = detect(path)
        except FileProblem as problem:
            assert str(problem)
            return
        assert detected.encoding and detected.delimiter in DELIMITERS
        try:
            read_everything(path, detected.encoding, detected.delimiter)
        except FileProblem as problem:
            assert str(problem)
    finally:
        path.unlink()


@FAST
@given(ANY_BYTES, st.sampled_from(sorted(ENCODINGS)), st.sampled_from(sorted(DELIMITERS)))
def test_any_encoding_and_delimiter_the_user_picks_is_handled(data, encoding, delimiter):
    """Step 2 lets the user override both: a wrong choice is a message, not a crash."""
    path = _write(data)
    try:
        read_everything(path, encoding, delimiter)
    except FileProblem as problem:
        assert str(problem)
    finally:
        path.unlink()


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ANY_BYTES)
def test_the_upload_flow_ends_in_a_page_not_a_crash(email, marketer, settings, tmp_path, data):
    """Upload, read and dry run with the suggested mapping: the upload either explains what
    is wrong with the file or gets as far as counting rows; nothing is written."""
    settings.UPLOAD_DIR = tmp_path / "uploads"
    upload = services.upload_create(
        user=marketer,
        channel=email,
        object_type=Upload.ObjectType.SEGMENTS,
        uploaded_file=SimpleUploadedFile("fuzz.csv", data),
    )
    services.upload_read_run(upload_id=upload.pk)  # the worker's part
    upload.refresh_from_db()
    assert upload.status in (Upload.Status.NEW, Upload.Status.UNREADABLE)
    assert upload.error_message or (upload.headers and upload.total_rows >= 1)
    if upload.error_message:
        return
    try:
        result = services.segments_import(
            channel=email,
            path=services.upload_path(upload),
            encoding=upload.encoding,
            delimiter=upload.delimiter,
            mapping=SEGMENT.suggest(upload.headers),
            dry_run=True,
        )
    except (FileProblem, MappingProblem) as problem:
        assert str(problem)
        return
    result.errors.close()
    assert result.total == upload.total_rows
    assert not Segment.objects.filter(channel=email).exists()


@pytest.mark.django_db
def test_choosing_utf16_for_a_file_without_its_mark_is_a_message(
    marketer_client, email, settings, tmp_path
):
    """Found by the properties above: this used to be a 500 on the read step."""
    from django.urls import reverse

    settings.UPLOAD_DIR = tmp_path / "uploads"
    marketer_client.post(
        reverse("uploads:upload"),
        {
            "object_type": "segments",
            "channel": "email",
            "file": SimpleUploadedFile("plain.csv", b"Segment name\nVIP\n"),
        },
    )
    upload = Upload.objects.get()
    response = marketer_client.post(
        reverse("uploads:read", args=[upload.pk]),
        {"encoding": "utf-16", "delimiter": ","},
        follow=True,
    )
    assert response.status_code == 200
    assert "cannot be read as UTF-16 (with BOM)" in response.content.decode()
