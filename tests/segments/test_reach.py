from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from segments.reach import SizedSegment, reach, segment_reach
from tests.factories import make_segment

NOW = timezone.make_aware(datetime(2026, 12, 1, 12))


def seg(size, name="S", days_ago=1):
    return SizedSegment(
        id=hash((name, size)), name=name, size=size, counted_at=NOW - timedelta(days=days_ago)
    )


def test_range_is_max_inclusion_minus_exclusions_up_to_the_sum():
    r = reach([seg(31_200, "A"), seg(17_700, "B")], [seg(0, "C")], now=NOW)
    assert (r.low, r.high) == (31_200, 48_900)
    assert r.words == "Between 31,200 and 48,900 contacts: sizes alone cannot see overlaps."
    assert r.contains(40_000) and not r.contains(50_000) and r.suggestion == 48_900


def test_exclusions_never_push_the_low_end_below_zero():
    r = reach([seg(100, "A")], [seg(500, "B"), seg(20, "C")], now=NOW)
    assert (r.low, r.high) == (0, 100)


def test_one_inclusion_and_no_exclusion_is_exact():
    r = reach([seg(12_340)], now=NOW)
    assert r.exact and r.words == "12,340 contacts."


def test_unknown_sizes_widen_the_range_and_are_named():
    r = reach([seg(1_000, "A"), seg(None, "B")], [seg(None, "C")], now=NOW)
    assert (r.low, r.high) == (0, None)
    assert [s.name for s in r.unknown] == ["B", "C"]
    r = reach([seg(1_000, "A"), seg(None, "B")], now=NOW)
    assert r.words.startswith("At least 1,000 contacts") and r.suggestion == 1_000
    assert not reach([seg(None, "A")], now=NOW).known
    assert reach([seg(None, "A")], now=NOW).suggestion is None


def test_sizes_older_than_a_week_are_stale():
    r = reach([seg(10, "Old", days_ago=9), seg(10, "New", days_ago=6)], now=NOW)
    assert [s.name for s in r.stale] == ["Old"]


def test_no_inclusion_reaches_nobody():
    r = reach([], [seg(10)], now=NOW)
    assert r.targets_nobody and r.words == "No inclusion yet: this reaches nobody."


@pytest.mark.django_db
def test_segment_reach_reads_only_the_channels_segments(email, sms, django_assert_num_queries):
    a = make_segment(email, name="A", size=300)
    b = make_segment(email, name="B", size=100)
    foreign = make_segment(sms, name="F", size=10_000)
    with django_assert_num_queries(1):
        r = segment_reach(channel=email, include_ids=[a.pk, foreign.pk], exclude_ids=[b.pk])
    assert (r.low, r.high) == (200, 300)
