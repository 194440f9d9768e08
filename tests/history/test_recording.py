"""What the history records: every kind of change to audiences, campaigns and segments, from
every source (a person, the admin, a Klaviyo sync, an upload, the command line), in the same
transaction as the change."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from audiences import services as audience_services
from campaigns import services as campaign_services
from history.actor import acting_as, run_actor, user_actor
from history.models import Change
from segments import services as segment_services
from segments.bulk import SegmentRow, segment_bulk_upsert
from segments.models import Segment
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def entries(obj_type, pk):
    return list(Change.objects.filter(object_type=obj_type, object_id=pk).order_by("id"))


def test_audience_create_update_delete_in_words(email, vip, repeat, unsub, marketer):
    with acting_as(user_actor(marketer)):
        audience = audience_services.audience_create(
            channel=email, name="VIP", include=[vip], exclude=[unsub], user=marketer
        )
        audience_services.audience_update(
            audience=audience,
            name="VIP buyers",
            include=[vip, repeat],
            exclude=[],
            estimated_volume=1200,
            user=marketer,
        )
    created, updated = entries("audience", audience.pk)
    assert created.action == "created" and created.who == "marketer"
    assert "Exclusions: added Unsubscribed 90d" in created.lines
    assert updated.lines == [
        "Name: VIP → VIP buyers",
        "Estimated volume: (none) → 1,200",
        "Inclusions: added Repeat buyers",
        "Exclusions: removed Unsubscribed 90d",
    ]
    assert updated.version == 2
    assert [i[1] for i in updated.state["inclusions"]] == ["Repeat buyers", "VIP"]
    pk = audience.pk
    audience_services.audience_delete(audience=audience)
    deleted = entries("audience", pk)[-1]
    assert deleted.action == "deleted" and deleted.object_name == "VIP buyers"
    assert deleted.who == "command line"


def test_a_save_that_changes_nothing_records_nothing(email, vip, marketer):
    audience = audience_services.audience_create(channel=email, name="A", include=[vip])
    audience_services.audience_update(audience=audience, name="A", include=[vip])
    assert len(entries("audience", audience.pk)) == 1


def test_a_deleted_segment_still_reads_as_its_name(email, vip, repeat):
    audience = audience_services.audience_create(channel=email, name="A", include=[vip, repeat])
    audience_services.audience_update(audience=audience, name="A", include=[vip])
    pk = repeat.pk
    segment_services.segment_delete(segment=repeat)
    assert "Inclusions: removed Repeat buyers" in entries("audience", audience.pk)[-1].lines
    gone = entries("segment", pk)[-1]
    assert gone.action == "deleted" and gone.object_name == "Repeat buyers"


def test_campaign_changes(email, vip, unsub, marketer):
    audience = audience_services.audience_create(channel=email, name="Base", include=[vip])
    campaign = campaign_services.campaign_create(
        user=marketer,
        channel=email,
        name="Black Friday",
        audience=audience,
        inclusion_ids=[vip.pk],
    )
    campaign_services.campaign_update(
        campaign=campaign,
        user=marketer,
        expected_version=None,
        channel=email,
        name="Black Friday",
        status="draft",
        send_at=None,
        notes="Go big",
        link="",
        audience=audience,
        inclusion_ids=[vip.pk],
        exclusion_ids=[unsub.pk],
    )
    created, updated = entries("campaign", campaign.pk)
    assert "Audience applied: Base" in created.lines
    assert updated.lines == ["Exclusions: added Unsubscribed 90d", "Notes: (none) → Go big"]
    pk = campaign.pk
    campaign_services.campaign_delete(campaign=campaign)
    assert entries("campaign", pk)[-1].action == "deleted"


def test_segment_services(email):
    segment = segment_services.segment_create(channel=email, name="VIP", external_id="v1")
    segment_services.segment_update(segment=segment, name="VIP+", external_id="v1", link="")
    segment_services.segment_set_active(segment=segment, is_active=False)
    segment_services.segment_set_active(segment=segment, is_active=False)  # no change
    other = make_segment(email, name="Other")
    changed = segment_services.segment_bulk_set_active(
        segments=Segment.objects.filter(channel=email), is_active=True
    )
    assert changed == 1  # "Other" was active already
    lines = [e.lines for e in entries("segment", segment.pk)]
    assert lines == [
        ["Name: VIP", "Segment ID: v1", "Active: yes"],
        ["Name: VIP → VIP+"],
        ["Active: yes → no"],
        ["Active: no → yes"],
    ]
    assert not entries("segment", other.pk)


def bulk(email, rows, **options):
    return segment_bulk_upsert(channel=email, rows=rows, source="csv", **options)


def test_bulk_records_one_entry_per_segment_in_bulk(email):
    kept = make_segment(email, name="Kept", external_id="k")
    changed = make_segment(email, name="Old name", external_id="c")
    actor = run_actor(kind="upload", run_id=12, label="Upload #12 (file.csv)")
    with acting_as(actor):
        bulk(
            email,
            [
                SegmentRow(name="Kept", external_id="k"),
                SegmentRow(name="New name", external_id="c"),
                SegmentRow(name="Brand new", external_id="n"),
                SegmentRow(name="No id"),
            ],
            batch_size=2,
        )
    run = list(Change.objects.filter(run_kind="upload", run_id=12).order_by("id"))
    outcomes = {(e.object_name, e.action) for e in run}
    assert outcomes == {
        ("Kept", "unchanged"),
        ("New name", "updated"),
        ("Brand new", "created"),
        ("No id", "created"),
    }
    assert {e.who for e in run} == {"Upload #12 (file.csv)"}
    updated = next(e for e in run if e.action == "updated")
    assert updated.object_id == changed.pk and updated.lines == ["Name: Old name → New name"]
    created = next(e for e in run if e.object_name == "Brand new")
    assert created.object_id == Segment.objects.get(external_id="n").pk
    assert created.lines == ["Name: Brand new", "Segment ID: n", "Active: yes"]
    # "Left alone" is on the run's page, not on the segment's tab.
    from history.selectors import object_change_list

    assert not object_change_list(object_type="segment", object_id=kept.pk).exists()


def test_sync_marks_missing_and_leaves_inactive_alone(email):
    make_segment(email, name="Gone", external_id="g", source="klaviyo")
    make_segment(email, name="Off", external_id="o", source="klaviyo", is_active=False)
    with acting_as(run_actor(kind="sync", run_id=41, label="Klaviyo sync #41")):
        bulk(
            email,
            [SegmentRow(name="Off renamed", external_id="o")],
            keep_inactive=True,
            mark_missing=True,
            mark_synced=True,
        )
    run = {e.object_name: e for e in Change.objects.filter(run_kind="sync", run_id=41)}
    assert run["Gone"].action == "marked_missing"
    assert run["Gone"].lines[0].startswith("Not in Klaviyo since: ")
    assert run["Off"].action == "skipped_inactive"


def test_a_rolled_back_import_leaves_no_history(email):
    result = bulk(email, [SegmentRow(name="Fine"), SegmentRow(name="")], batch_size=1)
    assert result.rejected and not Change.objects.exists()
    with pytest.raises(RuntimeError), transaction.atomic():
        bulk(email, [SegmentRow(name="Fine")])
        raise RuntimeError
    assert not Change.objects.exists() and not Segment.objects.exists()


def test_a_dry_run_records_nothing(email):
    bulk(email, [SegmentRow(name="Fine")], dry_run=True)
    assert not Change.objects.exists()


def test_copy_to_channel_records_the_new_segments(email, sms, vip, marketer):
    with acting_as(user_actor(marketer)):
        segment_services.segment_copy_to_channel(
            segments=Segment.objects.filter(pk=vip.pk), target=sms
        )
    entry = Change.objects.get(channel_id=sms.pk)
    assert entry.action == "created" and entry.who == "marketer"


def test_restore_refuses_gone_inactive_and_other_channel_segments(email, sms, vip, repeat, unsub):
    audience = audience_services.audience_create(
        channel=email, name="A", include=[vip, repeat], exclude=[unsub]
    )
    first = entries("audience", audience.pk)[0]
    audience_services.audience_update(audience=audience, name="A", include=[vip])
    segment_services.segment_delete(segment=repeat)
    segment_services.segment_set_active(segment=unsub, is_active=False)
    with pytest.raises(ValidationError) as refused:
        audience_services.audience_restore(audience=audience, change_id=first.pk)
    message = refused.value.messages[0]
    assert "“Repeat buyers” no longer exists." in message
    assert "“Unsubscribed 90d” is inactive now" in message
    audience.refresh_from_db()
    assert audience.version == 2

    sms_segment = make_segment(sms, name="SMS only")
    campaign = campaign_services.campaign_create(
        user=None, channel=sms, name="C", inclusion_ids=[sms_segment.pk]
    )
    campaign_services.campaign_update(
        campaign=campaign,
        user=None,
        expected_version=None,
        channel=email,
        name="C",
        status="draft",
        send_at=None,
        notes="",
        link="",
        audience=None,
        inclusion_ids=[vip.pk],
        exclusion_ids=[],
    )
    with pytest.raises(ValidationError, match="is a segment of SMS, not Email"):
        campaign_services.campaign_restore(
            campaign=campaign,
            change_id=entries("campaign", campaign.pk)[0].pk,
            user=None,
            expected_version=None,
        )


def test_restore_is_a_new_recorded_save(email, vip, repeat, marketer):
    audience = audience_services.audience_create(channel=email, name="A", include=[vip])
    first = entries("audience", audience.pk)[0]
    audience_services.audience_update(audience=audience, name="A", include=[repeat])
    with acting_as(user_actor(marketer)):
        audience_services.audience_restore(audience=audience, change_id=first.pk, user=marketer)
    assert list(audience.inclusion_segments.all()) == [vip]
    restored = entries("audience", audience.pk)[-1]
    assert restored.action == "restored" and restored.version == 3
    assert restored.lines == ["Inclusions: added VIP; removed Repeat buyers"]
    assert restored.note.startswith("Restored the targeting saved ")
