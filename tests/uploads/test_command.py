"""`manage.py import_segments`: the same import from the command line, with exit codes."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from segments.models import Segment
from tests.factories import make_segment
from tests.uploads.conftest import FILES, snapshot

pytestmark = pytest.mark.django_db


def run(*args):
    return call_command("import_segments", *map(str, args))


def test_imports_with_the_suggested_mapping_and_exits_0(email, capsys):
    run(FILES / "bom_utf8.csv", "--channel", "email")
    out = capsys.readouterr()
    assert "Created 2, updated 0, unchanged 0, invalid 0 of 2 rows." in out.out
    assert "Reading bom_utf8.csv as UTF-8 with BOM, comma (,) separated, into Email." in out.err
    assert Segment.objects.filter(channel=email).count() == 2


def test_explicit_mapping_static_delimiter_and_encoding(email, capsys):
    run(
        FILES / "cp1252_semicolons.csv",
        "--channel=email",
        "--map",
        "name=Nom du segment",
        "--static",
        "is_active=no",
        "--delimiter",
        "semicolon",
        "--encoding",
        "cp1252",
    )
    assert sorted(Segment.objects.values_list("name", "is_active")) == [
        ("Café crème", False),
        ("Müller & Söhne", False),
        ("Prix en €", False),
    ]


def test_invalid_rows_exit_1_and_write_nothing(email, capsys):
    before = snapshot()
    with pytest.raises(SystemExit) as exit_info:
        run(FILES / "bad_booleans.csv", "--channel", "email")
    assert exit_info.value.code == 1
    out = capsys.readouterr()
    assert "Nothing imported: invalid rows." in out.out
    assert "Row 3 [active]: “maybe” is not an active status" in out.err
    assert snapshot() == before


def test_dry_run_exits_1_when_rows_are_invalid_and_writes_nothing(email, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(FILES / "bad_booleans.csv", "--channel", "email", "--dry-run")
    assert exit_info.value.code == 1
    assert "Dry run, nothing written. Would create 2" in capsys.readouterr().out
    assert not Segment.objects.exists()


def test_skip_invalid_exits_0(email, capsys):
    run(FILES / "bad_booleans.csv", "--channel", "email", "--skip-invalid")
    assert Segment.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--channel", "email"], "No such file"),
        ([FILES / "bom_utf8.csv", "--channel", "nope"], "No channel “nope”"),
        ([FILES / "empty.csv", "--channel", "email"], "The file is empty"),
        ([FILES / "missing_name_column.csv", "--channel", "email"], "Segment name is required"),
        ([FILES / "bom_utf8.csv", "--channel", "email", "--map", "colour=x"], "use FIELD=VALUE"),
        ([FILES / "bom_utf8.csv", "--channel", "email", "--map", "name=Nope"], "no column “Nope”"),
        ([FILES / "bom_utf8.csv", "--channel", "email", "--delimiter", "x"], "delimiter must"),
        ([FILES / "bom_utf8.csv", "--channel", "email", "--encoding", "klingon"], "encoding"),
        # Codecs that are no text encoding: a sentence and exit 2, not a traceback and exit 1.
        ([FILES / "bom_utf8.csv", "--channel", "email", "--encoding", "hex"], "not a text enc"),
        ([FILES / "bom_utf8.csv", "--channel", "email", "--encoding", "rot13"], "not a text enc"),
        ([FILES / "bom_utf8.csv", "--channel", "email", "--encoding", "zlib"], "not a text enc"),
        (
            [
                FILES / "bom_utf8.csv",
                "--channel",
                "email",
                "--encoding",
                "zlib",
                "--delimiter",
                ",",
            ],
            "not a text enc",
        ),
        ([FILES / "header_only.csv", "--channel", "email"], "no data rows"),
    ],
)
def test_unusable_input_exits_2(email, args, message):
    with pytest.raises(CommandError, match=message) as error:
        run(*args)
    assert error.value.returncode == 2


def test_an_encoding_given_without_a_delimiter_is_used_as_given(email, tmp_path, capsys):
    """UTF-16 without a byte order mark: detection alone would not read it."""
    path = tmp_path / "no-bom.csv"
    path.write_bytes("Segment name;Segment ID\nÉté;e1\n".encode("utf-16-le"))
    run(path, "--channel", "email", "--encoding", "utf-16-le")
    assert "as UTF-16 little-endian (no BOM), semicolon (;) separated" in capsys.readouterr().err
    assert list(Segment.objects.values_list("name", "external_id")) == [("Été", "e1")]


def test_a_given_encoding_wins_over_detection(email, tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("Segment name\nCafé\n".encode())
    run(path, "--channel", "email", "--encoding", "latin-1")
    assert list(Segment.objects.values_list("name", flat=True)) == ["CafÃ©"]


def test_new_segments_named_like_others_are_a_warning(email, tmp_path, capsys):
    make_segment(email, name="VIP", external_id="a")
    path = tmp_path / "twins.csv"
    path.write_bytes(b"Segment name,Segment ID\nvip,b\nOther,c\n")
    run(path, "--channel", "email")
    err = capsys.readouterr().err
    assert (
        "Warning: row 2 makes a new segment “vip”, named like the existing segment “VIP” (ID a)."
        in err
    )
    assert "Other" not in err  # not named like the segments this import created
    assert Segment.objects.count() == 3
