"""segments.bulk: the one bulk write path for segments, its row validator and its rules."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from segments import bulk
from segments.bulk import Outcome, SegmentRow, segment_bulk_upsert, segment_row_problems
from segments.models import Segment
from segments.selectors import segment_search
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def upsert(channel, rows, **options):
    options.setdefault("source", Segment.Source.CSV)
    return segment_bulk_upsert(channel=channel, rows=rows, **options)


def state(channel):
    return {
        s.external_id or s.name: (s.name, s.link, s.is_active, s.source, s.kind)
        for s in Segment.objects.filter(channel=channel)
    }


def test_creates_updates_and_leaves_unchanged_rows_keyed_by_segment_id_then_name(email):
    make_segment(email, name="Old name", external_id="A1", link="https://example.com/a")
    make_segment(email, name="No id", link="https://example.com/n")
    make_segment(email, name="Same", external_id="S1")
    result = upsert(
        email,
        [
            SegmentRow(name="  New name ", external_id=" A1 "),  # trimmed, link kept
            SegmentRow(name="NO ID", is_active="inactive"),  # matches "No id" by name
            SegmentRow(name="Same", external_id="S1"),
            SegmentRow(name="Fresh", external_id="F1", link="https://example.com/f"),
        ],
    )
    assert (result.created, result.updated, result.unchanged, result.invalid) == (1, 2, 1, 0)
    assert result.written and not result.rejected
    assert state(email) == {
        "A1": ("New name", "https://example.com/a", True, "manual", ""),
        "NO ID": ("NO ID", "https://example.com/n", False, "manual", ""),
        "S1": ("Same", "", True, "manual", ""),
        "F1": ("Fresh", "https://example.com/f", True, "csv", ""),
    }


def test_one_validator_for_names_ids_links_and_statuses():
    long = "x" * 256
    cases = {
        "": ("name", "The segment name is empty."),
        long: ("name", "The segment name is 256 characters long; the most is 255."),
    }
    for name, (field, message) in cases.items():
        [problem] = segment_row_problems(SegmentRow(name=name))
        assert (problem.field, problem.message) == (field, message)
    problems = segment_row_problems(
        SegmentRow(name="ok", external_id=long, link="javascript:alert(1)", is_active="maybe")
    )
    assert [(p.field, p.message) for p in problems] == [
        ("external_id", "The Segment ID is 256 characters long; the most is 255."),
        ("link", "Only http:// and https:// links are allowed."),
        (
            "is_active",
            "“maybe” is not an active status: use true/false, yes/no, y/n, 1/0 or active/inactive.",
        ),
    ]
    row = SegmentRow(name=" ok ", link=" https://example.com ", is_active=" Yes ")
    assert segment_row_problems(row) == []
    assert (row.name, row.link, row.is_active) == ("ok", "https://example.com", True)


def test_all_or_nothing_writes_nothing_and_skip_invalid_writes_the_rest(email):
    rows = lambda: [  # noqa: E731
        SegmentRow(name="Good", external_id="G1", ref=2),
        SegmentRow(name="Bad", external_id="B1", link="ftp://x.test/", ref=3),
        SegmentRow(name="Again", external_id="G1", ref=4),
    ]
    invalid = []
    result = upsert(email, rows(), on_invalid=invalid.append)
    assert result.rejected and not result.written
    assert (result.created, result.invalid) == (1, 2)
    assert not Segment.objects.exists()
    assert [(r.ref, [p.message for p in r.problems]) for r in invalid] == [
        (3, ["Only http:// and https:// links are allowed."]),
        (4, ["The Segment ID “G1” already appears on row 2."]),
    ]
    result = upsert(email, rows(), skip_invalid=True)
    assert result.written and (result.created, result.invalid) == (1, 2)
    assert list(Segment.objects.values_list("external_id", flat=True)) == ["G1"]


def test_dry_run_counts_and_writes_nothing(email):
    make_segment(email, name="Old", external_id="A1")
    before = state(email)
    heard = []
    result = upsert(
        email,
        [SegmentRow(name="New", external_id="A1"), SegmentRow(name="B", external_id="B1")],
        dry_run=True,
        on_outcome=lambda row, outcome, changes: heard.append((row.external_id, outcome, changes)),
    )
    assert (result.created, result.updated, result.written) == (1, 1, False)
    assert state(email) == before
    assert heard == [
        ("A1", Outcome.UPDATED, {"name": ("Old", "New")}),
        ("B1", Outcome.CREATED, {}),
    ]


def test_keep_inactive_never_touches_an_inactive_segment(email):
    make_segment(email, name="Hidden", external_id="K1", is_active=False)
    result = upsert(email, [SegmentRow(name="Renamed", external_id="K1")], keep_inactive=True)
    assert (result.skipped_inactive, result.updated) == (1, 0)
    assert Segment.objects.get().name == "Hidden"


def test_keep_inactive_is_rechecked_when_writing(email, monkeypatch):
    segment = make_segment(email, name="Old", external_id="K1")
    write = bulk.write_batch

    def a_user_deactivates_it_first(upsert_run, creates, updates):
        Segment.objects.filter(pk=segment.pk).update(is_active=False)
        write(upsert_run, creates, updates)

    monkeypatch.setattr(bulk, "write_batch", a_user_deactivates_it_first)
    upsert(email, [SegmentRow(name="New", external_id="K1")], keep_inactive=True)
    segment.refresh_from_db()
    assert (segment.name, segment.is_active) == ("Old", False)


def test_mark_missing_marks_klaviyo_segments_the_input_lacks_and_rechecks_in_the_update(email):
    now = timezone.now()
    make_segment(email, name="Kept", external_id="K1", source="klaviyo", kind="segment")
    make_segment(email, name="Gone", external_id="K2", source="klaviyo", kind="segment")
    made_inactive = make_segment(email, name="Gone too", external_id="K3", source="klaviyo")
    make_segment(email, name="Manual", external_id="M1")

    def deactivate_meanwhile(row, outcome, changes):
        if outcome == Outcome.MARKED_MISSING and row.external_id == "K3":
            Segment.objects.filter(pk=made_inactive.pk).update(is_active=False)

    result = upsert(
        email,
        [SegmentRow(name="Kept", external_id="K1")],
        source=Segment.Source.KLAVIYO,
        mark_missing=True,
        now=now,
        on_outcome=deactivate_meanwhile,
    )
    assert result.marked_missing == 1  # K3 turned inactive before the UPDATE
    missing = dict(Segment.objects.values_list("external_id", "klaviyo_missing_since"))
    assert missing == {"K1": None, "K2": now, "K3": None, "M1": None}
    # Back in the input: unmarked, counted as an update.
    result = upsert(
        email,
        [SegmentRow(name="Kept", external_id="K1"), SegmentRow(name="Gone", external_id="K2")],
        mark_missing=True,
    )
    assert (result.updated, result.unchanged, result.marked_missing) == (1, 1, 0)
    assert not Segment.objects.filter(klaviyo_missing_since__isnull=False).exists()


def test_skip_existing_skips_keys_the_channel_or_an_earlier_row_has(email):
    make_segment(email, name="Taken", external_id="T1")
    make_segment(email, name="Named")
    result = upsert(
        email,
        [
            SegmentRow(name="Other", external_id="T1"),
            SegmentRow(name="named"),
            SegmentRow(name="New"),
            SegmentRow(name="NEW "),
        ],
        skip_existing=True,
    )
    assert (result.created, result.skipped, result.invalid) == (1, 3, 0)
    assert sorted(Segment.objects.values_list("name", flat=True)) == ["Named", "New", "Taken"]


def test_a_segment_id_added_meanwhile_raises_and_writes_nothing(email, monkeypatch):
    write = bulk.write_batch

    def someone_adds_it_first(upsert_run, creates, updates):
        Segment.objects.create(channel=email, name="Typed", external_id="R1")
        write(upsert_run, creates, updates)

    monkeypatch.setattr(bulk, "write_batch", someone_adds_it_first)
    with pytest.raises(IntegrityError):
        upsert(
            email, [SegmentRow(name="A", external_id="A1"), SegmentRow(name="R", external_id="R1")]
        )
    assert not Segment.objects.filter(external_id="A1").exists()


def test_bulk_writes_are_searchable(email, sms):
    upsert(
        email, [SegmentRow(name=f"Imported buyers {i}", external_id=f"IMP{i}") for i in range(3)]
    )
    upsert(sms, [SegmentRow(name="Imported buyers elsewhere", external_id="IMP9")])
    upsert(email, [SegmentRow(name="Renamed in bulk", external_id="IMP2")])

    def names(channel, query):
        return [s.name for s in segment_search(channel=channel, query=query)]

    assert names(email, "imported") == ["Imported buyers 0", "Imported buyers 1"]
    assert names(email, "in bulk") == ["Renamed in bulk"]
    assert names(email, "imp1") == ["Imported buyers 1"]
    assert names(sms, "buyers") == ["Imported buyers elsewhere"]
    # Single-row writes after a bulk write are indexed too (the index trigger is back).
    make_segment(email, name="Typed buyers")
    assert names(email, "typed") == ["Typed buyers"]


def test_streams_in_batches_and_remembers_keys_across_them(email, monkeypatch):
    monkeypatch.setattr(bulk, "SPILL_AFTER", 5)  # keys move to the staging file early
    make_segment(email, name="Existing without id")
    rows = [SegmentRow(name=f"S {i}", external_id=f"ID{i}", ref=i + 2) for i in range(30)]
    rows += [SegmentRow(name="Repeat", external_id="ID3", ref=40)]
    rows += [SegmentRow(name="existing WITHOUT id", ref=41)]
    progress = []
    invalid = []
    result = upsert(
        email,
        rows,
        batch_size=7,
        skip_invalid=True,
        on_batch=progress.append,
        on_invalid=invalid.append,
    )
    assert progress == [7, 14, 21, 28, 32]
    assert (result.created, result.updated, result.invalid) == (30, 1, 1)
    assert invalid[0].problems[0].message == "The Segment ID “ID3” already appears on row 5."
    assert Segment.objects.filter(channel=email).count() == 31
    assert Segment.objects.filter(external_id="").get().name == "existing WITHOUT id"
