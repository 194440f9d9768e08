"""Broken files, by class: quoting that does not close, files mixing encodings, bytes that are
not text, UTF-16 and UTF-32 with or without a byte order mark, too many columns. Each ends in
row errors at the right line or a clear message, never in silently changed data."""

import pytest

from integrations.uploads.reading import CsvFile, FileProblem, detect
from segments.models import Segment
from tests.uploads.conftest import run_import, segments

pytestmark = pytest.mark.django_db


def write(tmp_path, data: bytes, name="file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_an_unterminated_quote_does_not_swallow_the_rest_of_the_file(email, tmp_path):
    path = write(
        tmp_path,
        b'Segment name,Segment ID\nFirst,UQA1\n"Second,UQA2\nThird,UQA3\nFourth,UQA4\n',
    )
    result, errors = run_import(email, path)
    assert result.rejected and not Segment.objects.exists()
    assert [(row, reason.split(".")[0]) for row, _column, reason in errors] == [
        (
            3,
            "A quote opened at line 3 is never closed, so the rest of the file would have "
            "become one value",
        )
    ]
    result, errors = run_import(email, path, skip_invalid=True)
    assert [s[:2] for s in segments(email)] == [
        ("First", "UQA1"),
        ("Fourth", "UQA4"),
        ("Third", "UQA3"),
    ]


def test_a_quote_closed_in_the_wrong_place_is_a_row_error_and_the_next_rows_are_read(
    email, tmp_path
):
    path = write(tmp_path, b'name,id\nOne,1\n"Tw"o,2\n"Three\nstill three",3\nFour,4\n')
    _result, errors = run_import(email, path, skip_invalid=True)
    assert [(row, column) for row, column, _ in errors] == [(3, ""), (4, "name")]
    assert "A quoted value at line 3 is followed by other text" in errors[0][2]
    assert errors[1][2].startswith("The segment name starting at line 4 runs over more than one")
    assert [s[0] for s in segments(email)] == ["Four", "One"]


def test_a_segment_id_over_two_lines_is_reported_at_the_line_where_it_starts(email, tmp_path):
    path = write(tmp_path, b'name,id\nOne,1\n"Two\nlines",Two\n"Three","3\nX"\n')
    _result, errors = run_import(email, path, skip_invalid=True)
    assert errors == [
        (
            3,
            "name",
            "The segment name starting at line 3 runs over more than one line (a quote left "
            "open?). Put it on one line.",
        ),
        (
            5,
            "id",
            "The Segment ID starting at line 5 runs over more than one line (a quote left "
            "open?). Put it on one line.",
        ),
    ]


def test_a_file_of_broken_quotes_is_refused_as_a_whole(tmp_path, monkeypatch):
    monkeypatch.setattr("integrations.uploads.reading.MAX_BROKEN_ROWS", 3)
    path = write(tmp_path, b"name\n" + b'"a"b\n' * 5)
    with pytest.raises(FileProblem, match="More than 3 rows have quotes that do not close"):
        CsvFile(path, encoding="utf-8", delimiter=",", max_rows=100).scan()


def test_a_utf8_file_with_a_few_bad_bytes_stays_utf8_with_those_rows_flagged(email, tmp_path):
    data = "name,id\nCafé crème,1\nÉté ☀,2\nBad \udcff byte,3\n".encode("utf-8", "surrogateescape")
    path = write(tmp_path, data)
    assert detect(path).encoding == "utf-8"
    _result, errors = run_import(email, path, skip_invalid=True)
    assert errors == [
        (4, "", "The file has characters that are not valid UTF-8 at line 4 (shown as �).")
    ]
    # The valid rows as they are, not re-decoded as Windows-1252 (“CafÃ© crÃ¨me”).
    assert [s[0] for s in segments(email)] == ["Café crème", "Été ☀"]


def test_bad_bytes_far_into_the_file_are_reported_by_line_not_by_offset(email, tmp_path):
    lines = [f"Segment {i},{i}" for i in range(5000)]
    data = ("name,id\n" + "\n".join(lines) + "\n").encode() + b"Caf\xe9,x\n"
    path = write(tmp_path, data)
    assert detect(path).encoding == "utf-8"  # the first 64 KB are valid UTF-8
    _result, errors = run_import(email, path)
    assert errors == [
        (5002, "", "The file has characters that are not valid UTF-8 at line 5002 (shown as �).")
    ]


def test_nul_characters_flag_their_row_in_words_a_marketer_reads(email, tmp_path):
    path = write(tmp_path, b"name,id\nGood,1\nGood too,2\nBad\x00name,3\n")
    _result, errors = run_import(email, path)
    assert errors == [(4, "", "The file has characters that are not text at line 4.")]


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "utf-32"),
        ("utf-32-le", b"", "utf-32-le"),
    ],
)
def test_utf16_and_utf32_are_recognised_with_or_without_a_byte_order_mark(
    email, tmp_path, encoding, bom, detected
):
    path = write(tmp_path, bom + "Segment name\tSegment ID\nÉté\té1\n".encode(encoding))
    found = detect(path)
    assert (found.encoding, found.delimiter) == (detected, "\t")
    _result, errors = run_import(email, path)
    assert errors == [] and segments(email)[0][:2] == ("Été", "é1")


def test_a_codec_that_is_not_a_text_encoding_is_refused_in_words(tmp_path):
    path = write(tmp_path, b"name\nx\n")
    for codec in ("hex", "rot13", "zlib", "base64"):
        with pytest.raises(FileProblem, match="is not a text encoding"):
            detect(path, encoding=codec)


def test_too_many_columns_or_a_huge_column_name_is_a_clear_message(tmp_path, settings):
    wide = write(tmp_path, (",".join(f"c{i}" for i in range(201)) + "\n1\n").encode())
    with pytest.raises(
        FileProblem, match="The file has 201 columns; an upload can take at most 200"
    ):
        CsvFile(wide, encoding="utf-8", delimiter=",", max_rows=10, max_columns=200).header()
    long_name = write(tmp_path, b"name," + b"x" * 101 + b"\n1,2\n", name="long.csv")
    with pytest.raises(FileProblem, match="The name of column 2 is 101 characters long"):
        CsvFile(long_name, encoding="utf-8", delimiter=",", max_rows=10).header()


def test_the_guessed_encoding_lists_the_rows_it_changes(tmp_path):
    path = write(tmp_path, "name,id\nPlain,1\nCafé,2\n".encode("cp1252"))
    found = detect(path)
    assert found.encoding == "cp1252" and found.guessed
    scan = CsvFile(path, encoding=found.encoding, delimiter=",", max_rows=10).scan()
    assert scan.changed == [(3, "Café,2", "Caf�,2")]
