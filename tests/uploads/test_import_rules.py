"""The import rules: matching, statuses, idempotence, the channel boundary, atomicity."""

import pytest

from segments.models import Segment
from segments.validators import link_problem
from tests.factories import make_segment
from tests.uploads.conftest import run_import, snapshot

pytestmark = pytest.mark.django_db

FULL = {
    "name": {"column": "name"},
    "external_id": {"column": "id"},
    "link": {"column": "link"},
    "is_active": {"column": "active"},
}


def write(tmp_path, text: str, name="f.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_with_an_id_update_that_segment_or_create_it(email, tmp_path):
    kept = make_segment(email, name="Old name", external_id="A1", link="https://x.test/a")
    path = write(tmp_path, "name,id,link,active\nNew name,A1,https://x.test/new,no\nB,B1,,yes\n")
    result, errors = run_import(email, path, FULL)
    assert errors == [] and (result.created, result.updated, result.unchanged) == (1, 1, 0)
    kept.refresh_from_db()
    assert (kept.name, kept.link, kept.is_active, kept.source) == (
        "New name",
        "https://x.test/new",
        False,
        "manual",
    )
    assert Segment.objects.get(external_id="B1").source == "csv"


def test_rows_without_an_id_match_by_trimmed_case_insensitive_name_among_id_less(email, tmp_path):
    no_id = make_segment(email, name="Été Buyers", link="https://x.test/keep")
    with_id = make_segment(email, name="VIP", external_id="v")
    path = write(tmp_path, "name\n  été buyers \nvip\n")
    result, _ = run_import(email, path, {"name": {"column": "name"}})
    assert (result.created, result.updated) == (1, 1)
    no_id.refresh_from_db()
    with_id.refresh_from_db()
    # The name takes the file's spelling; the unmapped link and status are kept.
    assert (no_id.name, no_id.link, no_id.is_active) == ("été buyers", "https://x.test/keep", True)
    assert with_id.name == "VIP"
    assert Segment.objects.filter(channel=email, name="vip", external_id="").count() == 1


def test_unmapped_status_new_segments_are_active_existing_keep_theirs(email, tmp_path):
    make_segment(email, name="Paused", external_id="p", is_active=False)
    path = write(tmp_path, "name,id\nPaused,p\nFresh,f\n")
    result, _ = run_import(
        email, path, {"name": {"column": "name"}, "external_id": {"column": "id"}}
    )
    assert (result.created, result.unchanged) == (1, 1)
    assert dict(Segment.objects.values_list("external_id", "is_active")) == {"p": False, "f": True}


@pytest.mark.parametrize(
    ("word", "active"),
    [
        ("true", True),
        ("FALSE", False),
        (" Yes ", True),
        ("no", False),
        ("Y", True),
        ("n", False),
        ("1", True),
        ("0", False),
        ("Active", True),
        ("INACTIVE", False),
    ],
)
def test_active_status_words(email, tmp_path, word, active):
    path = write(tmp_path, f"name,id,link,active\nS,s,,{word}\n")
    _result, errors = run_import(email, path, FULL)
    assert errors == []
    assert Segment.objects.get(external_id="s").is_active is active


def test_importing_the_same_file_twice_changes_nothing_the_second_time(email, tmp_path):
    path = write(
        tmp_path,
        "name,id,link,active\nA,1,https://x.test/1,yes\nB,,https://x.test/2,no\nC,3,,1\n",
    )
    first, _ = run_import(email, path, FULL)
    assert first.created == 3
    before = snapshot()
    second, _ = run_import(email, path, FULL)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    assert snapshot() == before


def test_nothing_outside_the_target_channel_changes(email, sms, tmp_path):
    other = make_segment(sms, name="A", external_id="1", link="https://x.test/sms")
    other_no_id = make_segment(sms, name="B")
    before = snapshot()
    path = write(tmp_path, "name,id,link,active\nA,1,https://x.test/1,no\nB,,,no\n")
    result, _ = run_import(email, path, FULL)
    assert result.created == 2
    after = {row[0]: row for row in snapshot()}
    for row in before:
        assert after[row[0]] == row
    assert other.pk in after and other_no_id.pk in after
    assert Segment.objects.filter(channel=sms).count() == 2


def test_static_values(email, tmp_path):
    path = write(tmp_path, "name\nOne\nTwo\n")
    mapping = {
        "name": {"column": "name"},
        "link": {"static": "https://x.test/all"},
        "is_active": {"static": "no"},
    }
    result, _ = run_import(email, path, mapping)
    assert result.created == 2
    assert set(Segment.objects.values_list("link", "is_active")) == {("https://x.test/all", False)}


def test_a_static_segment_id_makes_every_row_after_the_first_a_duplicate(email, tmp_path):
    path = write(tmp_path, "name\nOne\nTwo\n")
    result, errors = run_import(
        email, path, {"name": {"column": "name"}, "external_id": {"static": "X"}}
    )
    assert result.rejected
    assert errors == [
        (3, "Segment ID (fixed value)", "The Segment ID “X” already appears on row 2.")
    ]


def test_dry_run_counts_without_writing(email, tmp_path):
    make_segment(email, name="A", external_id="1")
    before = snapshot()
    path = write(tmp_path, "name,id\nA,1\nA2,2\nRenamed,1b\n")
    result, _ = run_import(
        email, path, {"name": {"column": "name"}, "external_id": {"column": "id"}}, dry_run=True
    )
    assert (result.created, result.updated, result.unchanged, result.written) == (2, 0, 1, False)
    assert snapshot() == before


def test_batches_across_a_large_file_keep_duplicates_and_counts_exact(email, tmp_path):
    rows = "".join(f"Seg {i},id-{i},https://x.test/{i},yes\n" for i in range(5_000))
    path = write(tmp_path, "name,id,link,active\n" + rows + "Again,id-17,,yes\n")
    result, errors = run_import(email, path, FULL, skip_invalid=True)
    assert result.created == 5_000 and result.invalid == 1
    assert errors == [(5_002, "id", "The Segment ID “id-17” already appears on row 19.")]
    assert Segment.objects.filter(channel=email).count() == 5_000


@pytest.mark.parametrize(
    "link",
    ["https://example.com", "http://a.b.co/x/y?z=1&q=2", "https://sub.example.org:8080/p%20q"],
)
def test_fast_link_check_accepts_only_what_the_validator_accepts(link):
    from segments.validators import validate_http_url

    validate_http_url(link)
    assert link_problem(link) is None


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "ftp://x.test/", "https://", "http://-bad-.com", "https://a b.com"],
)
def test_link_problems(link):
    assert link_problem(link)


def test_updates_across_batches_then_again(email, tmp_path):
    first = write(tmp_path, "name,id\n" + "".join(f"S{i},{i}\n" for i in range(4_500)), "a.csv")
    second = write(tmp_path, "name,id\n" + "".join(f"T{i},{i}\n" for i in range(4_500)), "b.csv")
    third = write(tmp_path, "name,id\n" + "".join(f"U{i},{i}\n" for i in range(4_500)), "c.csv")
    mapping = {"name": {"column": "name"}, "external_id": {"column": "id"}}
    assert run_import(email, first, mapping)[0].created == 4_500
    assert run_import(email, second, mapping)[0].updated == 4_500
    assert run_import(email, third, mapping)[0].updated == 4_500
    assert Segment.objects.get(external_id="4499").name == "U4499"
    assert not Segment.objects.filter(channel=email).exclude(name__startswith="U").exists()
