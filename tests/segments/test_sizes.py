"""Segment sizes through the one bulk write path: parsing, history points, whose figure wins."""

from datetime import timedelta

import pytest
from django.utils import timezone

from segments.bulk import Outcome, SegmentRow, parse_size, segment_bulk_upsert
from segments.models import Segment, SegmentSizePoint
from tests.factories import make_segment

pytestmark = pytest.mark.django_db

KLAVIYO, CSV, TYPED = Segment.SizeSource.KLAVIYO, Segment.SizeSource.CSV, Segment.SizeSource.MANUAL


def upsert(channel, rows, **options):
    options.setdefault("source", Segment.Source.CSV)
    return segment_bulk_upsert(channel=channel, rows=rows, **options)


def sizes(channel):
    return {
        s.external_id or s.name: (s.size, s.size_source)
        for s in Segment.objects.filter(channel=channel)
    }


def history(segment):
    return list(segment.size_points.values_list("size", "source"))


@pytest.mark.parametrize(
    "text, number",
    [("12345", 12345), ("12,345", 12345), ("12 345", 12345), ("1\u202f234\u202f567", 1234567)],
)
def test_numbers_a_size_may_be_written_as(text, number):
    assert parse_size(f" {text} ") == (number, "")


@pytest.mark.parametrize(
    "text, words",
    [
        ("-5", "negative"),
        ("12.5", "not a whole number"),
        ("12,5", "not a whole number"),
        ("lots", "not a number of contacts"),
        ("12 apples", "not a number of contacts"),
        ("1000000000001", "more contacts than any segment has"),
    ],
)
def test_sizes_that_are_row_errors(text, words):
    size, problem = parse_size(text)
    assert size is None and words in problem and text in problem


def test_an_empty_cell_is_no_size():
    assert parse_size("  ") == (None, "")


def test_a_dry_run_reports_bad_sizes_and_writes_nothing(email):
    problems = []
    result = upsert(
        email,
        [SegmentRow(name="A", size="12,345"), SegmentRow(name="B", size="-3", ref=7)],
        dry_run=True,
        on_invalid=problems.append,
    )
    assert (result.created, result.invalid) == (1, 1)
    [row] = problems
    assert row.ref == 7 and [p.field for p in row.problems] == ["size"]
    assert not Segment.objects.exists()


def test_new_and_changed_figures_are_written_with_a_history_point_each(email):
    kept = make_segment(email, name="Kept", external_id="K1", size=10, size_source=CSV)
    result = upsert(
        email,
        [
            SegmentRow(name="New", external_id="N1", size="1 200"),
            SegmentRow(name="Kept", external_id="K1", size=20),
            SegmentRow(name="Plain", external_id="P1"),
        ],
    )
    assert (result.created, result.updated) == (2, 1)
    assert sizes(email) == {"N1": (1200, CSV), "K1": (20, CSV), "P1": (None, "")}
    assert history(Segment.objects.get(external_id="N1")) == [(1200, CSV)]
    assert history(kept) == [(20, CSV)]
    # The same figure again is no new point, but its counted-at moves on.
    later = timezone.now() + timedelta(hours=1)
    result = upsert(email, [SegmentRow(name="Kept", external_id="K1", size=20)], now=later)
    assert result.unchanged == 1
    kept.refresh_from_db()
    assert kept.size_counted_at == later and history(kept) == [(20, CSV)]


def test_a_klaviyo_count_replaces_a_typed_size_only_on_a_klaviyo_segment(email):
    ours = make_segment(email, name="Ours", external_id="X1", size=5, size_source=TYPED)
    theirs = make_segment(
        email, name="Theirs", external_id="X2", kind="segment", size=5, size_source=TYPED
    )
    counted = timezone.now() - timedelta(minutes=3)
    result = upsert(
        email,
        [
            SegmentRow(name="Ours", external_id="X1", size=99, size_source=KLAVIYO),
            SegmentRow(
                name="Theirs",
                external_id="X2",
                size=99,
                size_source=KLAVIYO,
                size_counted_at=counted,
            ),
            SegmentRow(name="Unknown", external_id="X3", size=99, size_source=KLAVIYO),
        ],
        source=Segment.Source.KLAVIYO,
        sizes_only=True,
        keep_inactive=True,
    )
    assert (result.updated, result.unchanged, result.skipped, result.created) == (1, 1, 1, 0)
    assert sizes(email) == {"X1": (5, TYPED), "X2": (99, KLAVIYO)}
    theirs.refresh_from_db()
    assert theirs.size_counted_at == counted and theirs.name == "Theirs"
    assert history(theirs) == [(99, KLAVIYO)] and history(ours) == []


def test_sizes_only_rows_never_rename_nor_touch_inactive_segments(email):
    make_segment(email, name="Current name", external_id="K1", kind="list")
    make_segment(email, name="Off", external_id="K2", kind="list", is_active=False)
    heard = []
    upsert(
        email,
        [
            SegmentRow(name="Old name", external_id="K1", size=7, size_source=KLAVIYO),
            SegmentRow(name="Off", external_id="K2", size=7, size_source=KLAVIYO),
        ],
        source=Segment.Source.KLAVIYO,
        sizes_only=True,
        keep_inactive=True,
        on_outcome=lambda row, outcome, changes: heard.append((outcome, changes)),
    )
    assert heard == [(Outcome.UPDATED, {"size": (None, 7)}), (Outcome.SKIPPED_INACTIVE, {})]
    assert Segment.objects.get(external_id="K1").name == "Current name"
    assert sizes(email)["K2"] == (None, "")


def test_a_segment_klaviyo_no_longer_has_loses_its_size(email):
    make_segment(email, name="Gone", external_id="G1", kind="segment", size=3, size_source=KLAVIYO)
    make_segment(email, name="Here", external_id="H1", kind="segment", size=4, size_source=KLAVIYO)
    upsert(
        email,
        [SegmentRow(name="Here", external_id="H1", clear_size=True)],
        source=Segment.Source.KLAVIYO,
        sizes_only=True,
    )
    assert sizes(email) == {"G1": (3, KLAVIYO), "H1": (None, "")}
    # The sync marks the other one missing: no stale figure either.
    upsert(
        email,
        [SegmentRow(name="Here", external_id="H1", kind="segment")],
        source=Segment.Source.KLAVIYO,
        mark_missing=True,
    )
    gone = Segment.objects.get(external_id="G1")
    assert gone.klaviyo_missing_since and (gone.size, gone.size_counted_at) == (None, None)


def test_history_points_are_written_per_batch_not_per_row(email, django_assert_max_num_queries):
    rows = [SegmentRow(name=f"S{i}", external_id=f"E{i}", size=i) for i in range(30)]
    upsert(email, rows)
    assert SegmentSizePoint.objects.count() == 30
    with django_assert_max_num_queries(12):
        upsert(
            email, [SegmentRow(name=f"S{i}", external_id=f"E{i}", size=i + 1) for i in range(30)]
        )
    assert SegmentSizePoint.objects.count() == 60
