"""Sizes from a CSV: the optional Size field (a column or one fixed value), its parsing, the dry
run's row errors and `import_segments --map size=COLUMN`."""

import pytest
from django.core.management import call_command

from integrations.uploads.importers import SEGMENT, MappingProblem
from segments.models import Segment

pytestmark = pytest.mark.django_db


def write(tmp_path, text, name="sizes.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_size_column_is_suggested_and_offered_in_the_mapping():
    assert any(spec.key == "size" and not spec.required for spec in SEGMENT.fields)
    assert SEGMENT.suggest(["Segment name", "Contacts"])["size"] == {"column": "Contacts"}


def test_import_segments_maps_a_size_column(email, tmp_path, capsys):
    path = write(tmp_path, "name;Members\nVIP;12,345\nLapsed;12 345\nNew;\n")
    call_command(
        "import_segments", str(path), "--channel", "email", "--map", "name=name",
        "--map", "size=Members", "--delimiter", "semicolon",
    )  # fmt: skip
    assert sorted(Segment.objects.values_list("name", "size", "size_source")) == [
        ("Lapsed", 12345, "csv"),
        ("New", None, ""),
        ("VIP", 12345, "csv"),
    ]
    assert Segment.objects.get(name="VIP").size_points.get().source == "csv"


def test_bad_sizes_are_row_errors_of_the_dry_run(email, tmp_path, capsys):
    path = write(tmp_path, "name,size\nA,-5\nB,2.5\nC,many\nD,1000000000001\nE,7\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_segments", str(path), "--channel", "email", "--dry-run")
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    for row, words in [(2, "negative"), (3, "not a whole number"), (4, "not a number")]:
        assert f"{row}" in out and words in out
    assert "more contacts than any segment has" in out
    assert not Segment.objects.exists()


def test_a_fixed_size_for_every_row_and_a_bad_fixed_size_refused(email, tmp_path):
    with pytest.raises(MappingProblem, match=r"Size: .*negative"):
        SEGMENT.resolve({"name": {"column": "name"}, "size": {"static": "-1"}}, ["name"])
    path = write(tmp_path, "name\nA\nB\n")
    call_command(
        "import_segments",
        str(path),
        "--channel",
        "email",
        "--map",
        "name=name",
        "--static",
        "size=250",
    )
    assert sorted(Segment.objects.values_list("name", "size")) == [("A", 250), ("B", 250)]


def test_the_preview_of_changes_counts_and_shows_size_changes(email):
    from integrations.uploads.importers import ChangePreview
    from segments.bulk import SegmentRow, segment_bulk_upsert

    Segment.objects.create(channel=email, name="VIP", external_id="V1", size=1200)
    preview = ChangePreview()
    segment_bulk_upsert(
        channel=email,
        rows=[SegmentRow(name="VIP", external_id="V1", size="1,500")],
        source=Segment.Source.CSV,
        dry_run=True,
        on_outcome=preview.hear,
    )
    assert preview.counts["size"] == 1
    assert preview.rows[0]["changes"] == [["Size", "1,200", "1,500"]]
