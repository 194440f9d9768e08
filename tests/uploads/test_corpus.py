"""The nasty-file corpus (tests/uploads/files/): each file's exact outcome."""

import pytest

from integrations.uploads.importers import SEGMENT
from integrations.uploads.reading import CsvFile, FileProblem, detect
from segments.models import Segment
from tests.factories import make_segment
from tests.uploads.conftest import FILES, run_import, segments, snapshot

pytestmark = pytest.mark.django_db


def read(name: str):
    path = FILES / name
    detected = detect(path)
    csv_file = CsvFile(
        path, encoding=detected.encoding, delimiter=detected.delimiter, max_rows=1_000_000
    )
    return detected, csv_file


def test_utf8_with_bom(email):
    detected, csv_file = read("bom_utf8.csv")
    assert (detected.encoding, detected.delimiter) == ("utf-8-sig", ",")
    assert csv_file.header() == ["Segment Name", "Segment ID", "Link", "Active"]
    result, errors = run_import(email, FILES / "bom_utf8.csv")
    assert errors == []
    assert (result.created, result.updated, result.invalid) == (2, 0, 0)
    assert segments(email) == [
        ("VIP customers", "vip", "https://example.com/vip", True, "csv"),
        ("Été 2024 ☀", "ete", "", False, "csv"),
    ]


def test_utf16_with_bom_and_tabs(email):
    detected, _ = read("utf16_bom_tabs.txt")
    assert (detected.encoding, detected.delimiter) == ("utf-16", "\t")
    result, errors = run_import(email, FILES / "utf16_bom_tabs.txt")
    assert errors == [] and result.created == 2
    assert segments(email) == [
        ("Newsletter readers", "n-1", "", True, "csv"),
        ("Зимняя распродажа", "n-2", "", False, "csv"),
    ]


def test_cp1252_accents_and_semicolons(email):
    detected, csv_file = read("cp1252_semicolons.csv")
    assert (detected.encoding, detected.delimiter) == ("cp1252", ";")
    assert SEGMENT.suggest(csv_file.header()) == {
        "name": {"column": "Nom du segment"},
        "external_id": {"column": "Identifiant"},
        "link": {"column": "URL"},
    }
    result, errors = run_import(email, FILES / "cp1252_semicolons.csv")
    assert errors == [] and result.created == 3
    assert [s[0] for s in segments(email)] == ["Café crème", "Müller & Söhne", "Prix en €"]
    assert Segment.objects.get(external_id="c1").link == "https://example.com/café"


def test_tabs_and_pipes(email):
    assert read("tabs.tsv")[0].delimiter == "\t"
    assert read("pipes.csv")[0].delimiter == "|"
    result, errors = run_import(email, FILES / "tabs.tsv")
    assert errors == [] and result.created == 2
    result, errors = run_import(email, FILES / "pipes.csv")
    assert errors == [] and result.created == 2
    assert Segment.objects.get(external_id="b").is_active is False


def test_quoted_newlines_cr_line_ends_blank_lines_and_nbsp(email):
    detected, csv_file = read("quoted_newlines_cr.csv")
    assert detected.delimiter == ","
    scan = csv_file.scan()
    assert (scan.header, scan.total) == (["name", "id", "url"], 3)
    result, errors = run_import(email, FILES / "quoted_newlines_cr.csv", skip_invalid=True)
    # A name over two lines is most often a quote left open: refused, with its line.
    assert errors == [
        (
            2,
            "name",
            "The segment name starting at line 2 runs over more than one line (a quote left "
            "open?). Put it on one line.",
        )
    ]
    assert result.created == 2
    assert sorted(Segment.objects.values_list("name", "external_id")) == [
        ("Padded", "q3"),
        ('Say "hi"', "q2"),
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("binary.png", "does not look like a text file"),
        ("empty.csv", "The file is empty."),
        ("blank_lines_only.csv", "The file is empty."),
    ],
)
def test_files_rejected_before_reading(email, name, message):
    with pytest.raises(FileProblem, match=message):
        detect(FILES / name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("header_only.csv", "a header row but no data rows"),
        ("duplicate_headers.csv", "“name” appears twice \\(columns 1 and 3\\)"),
        ("blank_header.csv", "Column 2 of the header row has no name"),
    ],
)
def test_files_rejected_while_reading(email, name, message):
    make_segment(email, name="Existing", external_id="1")
    before = snapshot()
    _, csv_file = read(name)
    with pytest.raises(FileProblem, match=message):
        csv_file.scan()
    with pytest.raises(FileProblem, match=message):
        run_import(email, FILES / name)
    assert snapshot() == before


def test_missing_name_column_has_no_suggestion_and_cannot_import(email):
    from integrations.uploads.importers import MappingProblem

    _, csv_file = read("missing_name_column.csv")
    assert "name" not in SEGMENT.suggest(csv_file.header())
    before = snapshot()
    with pytest.raises(MappingProblem, match="Segment name is required"):
        run_import(email, FILES / "missing_name_column.csv")
    with pytest.raises(MappingProblem, match="the file has no column “Name”"):
        run_import(email, FILES / "missing_name_column.csv", {"name": {"column": "Name"}})
    assert snapshot() == before


def test_bad_booleans_reject_the_whole_file(email):
    make_segment(email, name="One", external_id="1", is_active=False)
    before = snapshot()
    result, errors = run_import(email, FILES / "bad_booleans.csv")
    assert result.rejected and not result.written
    assert (result.total, result.invalid) == (5, 3)
    assert errors == [
        (
            3,
            "active",
            "“maybe” is not an active status: use true/false, yes/no, y/n, 1/0 or active/inactive.",
        ),
        (
            4,
            "active",
            "The active status is empty: use true/false, yes/no, y/n, 1/0 or active/inactive.",
        ),
        (
            6,
            "active",
            "“2” is not an active status: use true/false, yes/no, y/n, 1/0 or active/inactive.",
        ),
    ]
    assert snapshot() == before


def test_bad_booleans_skip_invalid_writes_exactly_the_valid_rows(email):
    make_segment(email, name="One", external_id="1", is_active=False)
    result, _ = run_import(email, FILES / "bad_booleans.csv", skip_invalid=True)
    assert result.written and (result.created, result.updated, result.invalid) == (1, 1, 3)
    assert sorted(Segment.objects.values_list("external_id", "is_active")) == [
        ("1", True),
        ("4", False),
    ]


def test_links_that_are_not_http_are_invalid(email):
    before = snapshot()
    result, errors = run_import(email, FILES / "javascript_links.csv")
    assert result.rejected
    assert [(row, column) for row, column, _ in errors] == [(3, "link"), (4, "link"), (5, "link")]
    assert errors[0][2] == "Only http:// and https:// links are allowed."
    assert snapshot() == before


def test_names_and_ids_longer_than_255_are_invalid(email):
    _result, errors = run_import(email, FILES / "long_names.csv", skip_invalid=True)
    assert errors == [
        (3, "name", "The segment name is 256 characters long; the most is 255."),
        (4, "id", "The Segment ID is 256 characters long; the most is 255."),
    ]
    assert list(Segment.objects.values_list("name", flat=True)) == ["a" * 255]


def test_duplicate_ids_and_duplicate_names_without_id_are_reported(email):
    before = snapshot()
    result, errors = run_import(email, FILES / "duplicate_ids.csv")
    assert result.rejected and result.invalid == 2
    assert errors == [
        (4, "id", "The Segment ID “dup” already appears on row 2."),
        (6, "name", "The segment “no ID ONE” (without a Segment ID) already appears on row 5."),
    ]
    assert snapshot() == before
    result, _ = run_import(email, FILES / "duplicate_ids.csv", skip_invalid=True)
    assert sorted(Segment.objects.values_list("name", "external_id")) == [
        ("First", "dup"),
        ("No id one", ""),
        ("Second", "other"),
    ]


def test_extra_cells_make_a_row_invalid_but_trailing_empty_cells_do_not(email):
    result, errors = run_import(email, FILES / "extra_cells.csv", skip_invalid=True)
    assert errors == [(3, "", "This row has more values than the header.")]
    assert result.created == 2


def test_a_million_and_one_rows_stop_at_the_limit(email, tmp_path, settings):
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("name\n")
        fh.write("s\n" * 1_000_001)
    settings.UPLOAD_MAX_ROWS = 1_000_000
    before = snapshot()
    csv_file = CsvFile(path, encoding="utf-8", delimiter=",", max_rows=1_000_000)
    with pytest.raises(FileProblem, match="more than 1,000,000 rows"):
        csv_file.scan()
    assert snapshot() == before
