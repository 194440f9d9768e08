"""The search index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) stays in step with every
way segments are written, and answers exactly what a case-insensitive substring search would."""

import pytest

from segments.models import Segment
from segments.selectors import segment_search
from segments.services import segment_delete, segment_update
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def names(channel, query, **kw):
    return [s.name for s in segment_search(channel=channel, query=query, **kw)]


def test_index_follows_create_rename_bulk_writes_and_delete(email, sms):
    segment = make_segment(email, name="Spring openers", external_id="SP-1")
    assert names(email, "openers") == ["Spring openers"]
    segment_update(segment=segment, name="Autumn clickers", external_id="AU-1", link="")
    assert names(email, "openers") == []
    assert names(email, "clickers") == ["Autumn clickers"]
    assert names(email, "au-1") == ["Autumn clickers"]
    # Imports and syncs write in bulk, bypassing the services.
    Segment.objects.bulk_create(
        [
            Segment(channel=email, name=f"Imported buyers {i}", external_id=f"IMP{i}")
            for i in range(3)
        ]
    )
    Segment.objects.filter(external_id="IMP2").update(name="Renamed in bulk")
    assert names(email, "imported") == ["Imported buyers 0", "Imported buyers 1"]
    assert names(email, "in bulk") == ["Renamed in bulk"]
    segment_delete(segment=segment)
    assert names(email, "clickers") == []
    Segment.objects.filter(channel=email).delete()
    assert names(email, "buyers") == []


def test_counts_follow_create_rename_bulk_writes_and_delete(email, sms):
    def counted(channel, query, **kw):
        results = segment_search(channel=channel, query=query, **kw)
        return results.count(), len(list(results))

    segment = make_segment(email, name="Spring openers", external_id="SP-1")
    make_segment(sms, name="Other openers")
    assert counted(email, "openers") == (1, 1)
    segment_update(segment=segment, name="Autumn clickers", external_id="AU-1", link="")
    assert counted(email, "openers") == (0, 0)
    assert counted(email, "au-1") == (1, 1)
    Segment.objects.bulk_create(
        [
            Segment(channel=email, name=f"Imported buyers {i}", external_id=f"IMP{i}")
            for i in range(3)
        ]
    )
    Segment.objects.filter(external_id="IMP2").update(name="Renamed in bulk", is_active=False)
    assert counted(email, "imported") == (2, 2)
    assert counted(email, "in bulk") == (1, 1)
    assert counted(email, "in bulk", status="active") == (0, 0)
    assert counted(email, "in bulk", status="inactive") == (1, 1)
    Segment.objects.filter(channel=email, name__startswith="Imported").update(channel=sms)
    assert counted(email, "imported") == (0, 0)
    assert counted(sms, "imported") == (2, 2)
    segment_delete(segment=segment)
    assert counted(email, "clickers") == (0, 0)


def test_search_stays_within_the_channel_and_counts_match_rows(email, sms, make_many):
    make_many(email, 30, prefix="Shared")
    make_many(sms, 40, prefix="Shared")
    results = segment_search(channel=email, query="shared")
    assert results.count() == 30 == len(list(results))
    inactive = segment_search(channel=email, query="shared", status="inactive")
    assert inactive.count() == 0
    Segment.objects.filter(channel=email, name__endswith="7").update(is_active=False)
    inactive = segment_search(channel=email, query="shared", status="inactive")
    assert inactive.count() == 3 == len(list(inactive))
    # Narrowing the result further counts the narrowed set.
    assert results.filter(name__endswith="1").count() == 3


@pytest.mark.parametrize(
    "query",
    ['"quoted"', "100%", "a_b", "it's", 'say "hi" AND OR NOT', "col:on", "{x}", "(*)", "ÉTÉ", "ab"],
)
def test_any_text_is_searched_literally(email, query):
    make_segment(email, name=f"Before {query} after")
    make_segment(email, name="Unrelated")
    assert names(email, query) == [f"Before {query} after"]


def test_search_ignores_case_beyond_ascii(email):
    make_segment(email, name="Été buyers")
    assert names(email, "ÉTÉ BUY") == ["Été buyers"]


def test_one_and_two_character_queries_work(email):
    make_segment(email, name="A1 list", external_id="Z9")
    make_segment(email, name="Other")
    assert names(email, "a1") == ["A1 list"]
    assert names(email, "z") == ["A1 list"]


def test_the_search_can_be_used_as_a_subquery(email, sms):
    make_segment(email, name="Nested buyers")
    make_segment(sms, name="Nested buyers")
    inner = segment_search(channel=email, query="nested").values("pk")
    assert [s.channel for s in Segment.objects.filter(pk__in=inner)] == [email]


@pytest.mark.parametrize("few_matches", [0, 1000])
def test_a_page_is_the_same_whichever_way_the_matches_are_read(
    email, sms, few_matches, monkeypatch
):
    # A page is read from the index's matches when they are few, else in name order: the
    # same rows in the same order, exact Segment ID first, within the channel and status.
    monkeypatch.setattr("segments.search_index.FEW_MATCHES", few_matches)
    for i in (3, 1, 2):
        make_segment(email, name=f"Shared {i}", external_id=f"S{i}")
    make_segment(email, name="Shared 4", external_id="S", is_active=False)
    make_segment(email, name="A shared exact", external_id="shared")
    make_segment(sms, name="Shared elsewhere")
    results = segment_search(channel=email, query="shared", order="-name")
    assert results.count() == 5
    assert [s.name for s in results[0:3]] == ["A shared exact", "Shared 4", "Shared 3"]
    active = segment_search(channel=email, query="shared", status="active")
    assert active.count() == 4
    assert [s.name for s in active[0:50]] == ["A shared exact", "Shared 1", "Shared 2", "Shared 3"]
