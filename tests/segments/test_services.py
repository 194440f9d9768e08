import pytest
from django.core.exceptions import ValidationError

from segments.models import Segment
from segments.selectors import segment_search, segment_usage_counts
from segments.services import (
    SegmentGone,
    SegmentIdTaken,
    SegmentInUse,
    segment_bulk_set_active,
    segment_copy_to_channel,
    segment_create,
    segment_delete,
    segment_set_active,
    segment_update,
)
from tests.factories import make_audience, make_campaign, make_segment

pytestmark = pytest.mark.django_db


def test_create_trims_fields_and_defaults_to_active_manual(email):
    segment = segment_create(
        channel=email, name="  VIP customers ", external_id=" X1 ", link=" https://k.test/s/1 "
    )
    segment.refresh_from_db()
    assert (segment.name, segment.external_id, segment.link) == (
        "VIP customers",
        "X1",
        "https://k.test/s/1",
    )
    assert segment.is_active
    assert segment.source == Segment.Source.MANUAL


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"external_id": "x" * 256}, "external_id"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "JaVaScRiPt:alert(1)"}, "link"),
        ({"link": "data:text/html,hi"}, "link"),
        ({"link": "vbscript:msgbox"}, "link"),
        ({"link": "ftp://example.com/x"}, "link"),
    ],
)
def test_create_refuses_bad_fields(email, fields, field):
    values = {"name": "Fine", **fields}
    with pytest.raises(ValidationError) as excinfo:
        segment_create(channel=email, **values)
    assert field in excinfo.value.message_dict
    assert not Segment.objects.exists()


def test_duplicate_id_in_the_channel_names_the_existing_segment(email, sms):
    existing = make_segment(email, name="Buyers", external_id="ABC")
    with pytest.raises(SegmentIdTaken) as excinfo:
        segment_create(channel=email, name="Other", external_id="ABC")
    assert excinfo.value.existing == existing
    assert "Buyers" in str(excinfo.value)
    # Other channels are independent; empty IDs never clash.
    assert segment_create(channel=sms, name="Buyers", external_id="ABC").channel == sms
    segment_create(channel=email, name="No id 1")
    segment_create(channel=email, name="No id 2")


def test_update_changes_fields_and_refuses_an_id_in_use(email):
    a = make_segment(email, name="A", external_id="A1")
    b = make_segment(email, name="B", external_id="B1")
    segment_update(segment=a, name="A renamed", external_id="A2", link="http://x.test")
    a.refresh_from_db()
    assert (a.name, a.external_id, a.link) == ("A renamed", "A2", "http://x.test")
    with pytest.raises(SegmentIdTaken) as excinfo:
        segment_update(segment=a, name="A", external_id="B1", link="")
    assert excinfo.value.existing == b
    # Keeping its own ID is fine.
    segment_update(segment=b, name="B2", external_id="B1", link="")


def test_update_or_toggle_of_a_deleted_segment_says_it_is_gone(email):
    segment = make_segment(email)
    Segment.objects.filter(pk=segment.pk).delete()
    with pytest.raises(SegmentGone):
        segment_update(segment=segment, name="x", external_id="", link="")
    with pytest.raises(SegmentGone):
        segment_set_active(segment=segment, is_active=False)


def test_set_active_is_idempotent(email):
    segment = make_segment(email)
    segment_set_active(segment=segment, is_active=False)
    segment_set_active(segment=segment, is_active=False)
    segment.refresh_from_db()
    assert segment.is_active is False
    segment_set_active(segment=segment, is_active=True)
    segment.refresh_from_db()
    assert segment.is_active is True


def test_bulk_set_active_counts_only_changed_segments(email, sms):
    segments = [make_segment(email, name=f"S{i}") for i in range(3)]
    other = make_segment(sms, name="S0")
    segments[0].is_active = False
    Segment.objects.filter(pk=segments[0].pk).update(is_active=False)
    changed = segment_bulk_set_active(
        segments=segment_search(channel=email, query="S"), is_active=False
    )
    assert changed == 2
    assert not Segment.objects.filter(channel=email, is_active=True).exists()
    other.refresh_from_db()
    assert other.is_active  # another channel is never touched


def test_copy_skips_ids_the_target_has_and_reports_counts(email, sms):
    make_segment(email, name="VIP", external_id="V1", link="https://k.test/v1")
    make_segment(email, name="Lapsed", external_id="L1", is_active=False)
    make_segment(email, name="No ID")
    make_segment(sms, name="Already", external_id="L1")
    result = segment_copy_to_channel(segments=Segment.objects.filter(channel=email), target=sms)
    assert (result.copied, result.skipped) == (2, 1)
    vip = Segment.objects.get(channel=sms, external_id="V1")
    assert (vip.name, vip.link, vip.is_active) == ("VIP", "https://k.test/v1", True)
    assert Segment.objects.filter(channel=sms, name="No ID", external_id="").exists()
    # Copying again duplicates nothing (segments without ID match by name).
    again = segment_copy_to_channel(segments=Segment.objects.filter(channel=email), target=sms)
    assert (again.copied, again.skipped) == (0, 3)
    assert Segment.objects.filter(channel=sms).count() == 3


def test_copy_of_many_segments_crosses_batches(email, sms, make_many):
    make_many(email, 2500)
    make_many(sms, 10)  # the first ten IDs are already there
    result = segment_copy_to_channel(segments=Segment.objects.filter(channel=email), target=sms)
    assert (result.copied, result.skipped) == (2490, 10)


def test_delete_refuses_a_segment_in_use_and_lists_where(email):
    used_by_audience = make_segment(email, name="Used A")
    used_by_campaign = make_segment(email, name="Used C")
    audience = make_audience(email, name="Big spenders", exclude=[used_by_audience])
    campaign = make_campaign(email, name="Black Friday", include=[used_by_campaign])
    with pytest.raises(SegmentInUse) as excinfo:
        segment_delete(segment=used_by_audience)
    assert excinfo.value.usage.audiences == [audience]
    assert "1 audience" in str(excinfo.value)
    with pytest.raises(SegmentInUse) as excinfo:
        segment_delete(segment=used_by_campaign)
    assert excinfo.value.usage.campaigns == [campaign]
    assert Segment.objects.count() == 2


def test_delete_an_unused_segment(email):
    segment = make_segment(email)
    segment_delete(segment=segment)
    assert not Segment.objects.exists()
    with pytest.raises(SegmentGone):
        segment_delete(segment=segment)


def test_search_is_case_insensitive_on_name_and_id_and_puts_the_exact_id_first(email, sms):
    make_segment(email, name="Alpha abc123 fans", external_id="zz")
    make_segment(email, name="Zeta", external_id="abc123")
    make_segment(email, name="Beta", external_id="ABC1234")
    make_segment(sms, name="abc123 in SMS", external_id="abc123")
    names = [s.name for s in segment_search(channel=email, query=" abc123 ")]
    assert names == ["Zeta", "Alpha abc123 fans", "Beta"]
    assert [s.name for s in segment_search(channel=email, query="ZETA")] == ["Zeta"]
    assert [s.name for s in segment_search(channel=email, query="abc123", order="-name")] == [
        "Zeta",
        "Beta",
        "Alpha abc123 fans",
    ]


def test_search_filters_by_status(email):
    make_segment(email, name="On")
    make_segment(email, name="Off", is_active=False)
    from django.utils import timezone

    make_segment(email, name="Gone", klaviyo_missing_since=timezone.now())
    assert {s.name for s in segment_search(channel=email, status="active")} == {"On", "Gone"}
    assert {s.name for s in segment_search(channel=email, status="inactive")} == {"Off"}
    assert {s.name for s in segment_search(channel=email, status="missing")} == {"Gone"}
    assert segment_search(channel=email, status="bogus").count() == 3


def test_usage_counts_count_each_audience_and_campaign_once(email, django_assert_num_queries):
    a, b = make_segment(email), make_segment(email)
    make_audience(email, include=[a], exclude=[b])
    make_audience(email, include=[a, b])
    make_audience(email, include=[a], exclude=[a])  # odd but possible: counts once
    make_campaign(email, include=[a], exclude=[b])
    with django_assert_num_queries(1):
        counted = segment_usage_counts([a, b])
    assert [(s.audience_count, s.campaign_count) for s in counted] == [(3, 1), (2, 1)]
