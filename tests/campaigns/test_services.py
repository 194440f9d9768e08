from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from tests.factories import make_audience, make_segment

pytestmark = pytest.mark.django_db


def ids(*segments):
    return [s.pk for s in segments]


def create(user, channel, **kw):
    kw.setdefault("name", "Black Friday")
    return services.campaign_create(user=user, channel=channel, **kw)


def test_applying_an_audience_records_its_definition(marketer, email, vip_setup):
    seg, audience = vip_setup
    campaign = create(
        marketer,
        email,
        audience=audience,
        inclusion_ids=ids(seg["VIP"], seg["Repeat buyers"]),
        exclusion_ids=ids(seg["Unsubscribed 90d"]),
    )
    snap = campaign.audience_snapshot
    assert snap["audience_id"] == audience.pk and snap["audience_name"] == "VIP Customers"
    assert [s["name"] for s in snap["inclusion"]] == ["Repeat buyers", "VIP"]
    assert [s["name"] for s in snap["exclusion"]] == ["Unsubscribed 90d"]
    assert campaign.audience_applied_at is not None
    assert campaign.created_by == marketer


def test_ad_hoc_changes_never_touch_the_audience(marketer, email, vip_setup):
    seg, audience = vip_setup
    create(
        marketer,
        email,
        audience=audience,
        inclusion_ids=ids(seg["VIP"]),
        exclusion_ids=ids(seg["Unsubscribed 90d"], seg["Churn risk"]),
    )
    audience.refresh_from_db()
    assert set(audience.inclusion_segments.values_list("name", flat=True)) == {
        "VIP",
        "Repeat buyers",
    }
    assert list(audience.exclusion_segments.values_list("name", flat=True)) == ["Unsubscribed 90d"]


def test_scheduled_needs_send_time_and_an_inclusion(marketer, email):
    with pytest.raises(ValidationError) as exc:
        create(marketer, email, status=Campaign.Status.SCHEDULED)
    assert "A scheduled campaign needs a send time." in exc.value.message_dict["send_at"]
    assert "Choose at least one segment to include." in exc.value.message_dict["segments"]
    assert not Campaign.objects.exists()


def test_a_segment_cannot_be_both_included_and_excluded(marketer, email):
    vip = make_segment(email, name="VIP")
    with pytest.raises(ValidationError, match="both included and excluded: VIP"):
        create(marketer, email, inclusion_ids=ids(vip), exclusion_ids=ids(vip))


def test_segments_and_audience_must_be_of_the_campaigns_channel(marketer, email, sms):
    sms_segment = make_segment(sms)
    with pytest.raises(ValidationError, match="Only segments of the Email channel can be used"):
        create(marketer, email, inclusion_ids=ids(sms_segment))
    sms_audience = make_audience(sms, include=[sms_segment])
    with pytest.raises(ValidationError, match="audience of the Email channel"):
        create(marketer, email, audience=sms_audience)
    with pytest.raises(ValidationError, match="Some chosen segments no longer exist"):
        create(marketer, email, inclusion_ids=[999_999])  # a forged id


def test_inactive_segments_cannot_be_newly_added(marketer, email):
    old = make_segment(email, name="Legacy", is_active=False)
    with pytest.raises(ValidationError, match="Inactive segments cannot be added: Legacy"):
        create(marketer, email, inclusion_ids=ids(old))


def test_inactive_segments_already_there_stay(marketer, email):
    seg = make_segment(email, name="Legacy")
    campaign = create(marketer, email, inclusion_ids=ids(seg))
    seg.is_active = False
    seg.save()
    updated = services.campaign_update(
        campaign=campaign,
        user=marketer,
        expected_version=campaign.version,
        channel=email,
        name="Renamed",
        status=Campaign.Status.DRAFT,
        send_at=None,
        notes="",
        link="",
        audience=None,
        inclusion_ids=ids(seg),
        exclusion_ids=[],
    )
    assert list(updated.inclusion_segments.all()) == [seg]


def test_inactive_segment_of_the_base_audience_may_be_kept(marketer, email):
    seg = make_segment(email, name="Legacy")
    audience = make_audience(email, include=[seg])
    seg.is_active = False
    seg.save()
    campaign = create(marketer, email, audience=audience, inclusion_ids=ids(seg))
    assert list(campaign.inclusion_segments.all()) == [seg]


def test_links_must_be_http(marketer, email):
    with pytest.raises(ValidationError) as exc:
        create(marketer, email, link="javascript:alert(1)")
    assert "link" in exc.value.message_dict


def test_stale_edit_is_refused(marketer, email):
    campaign = create(marketer, email)
    kwargs = {
        "user": marketer,
        "channel": email,
        "status": Campaign.Status.DRAFT,
        "send_at": None,
        "notes": "",
        "link": "",
        "audience": None,
        "inclusion_ids": [],
        "exclusion_ids": [],
    }
    services.campaign_update(campaign=campaign, expected_version=1, name="First", **kwargs)
    with pytest.raises(services.CampaignChangedMeanwhile) as exc:
        services.campaign_update(campaign=campaign, expected_version=1, name="Second", **kwargs)
    assert exc.value.campaign.name == "First"
    campaign.refresh_from_db()
    assert campaign.name == "First" and campaign.version == 2


def test_saving_or_reapplying_a_campaign_deleted_meanwhile_is_a_message(marketer, email):
    campaign = create(marketer, email)
    Campaign.objects.filter(pk=campaign.pk).delete()  # by someone else, after the form loaded
    with pytest.raises(ValidationError, match="deleted meanwhile"):
        services.campaign_update(
            campaign=campaign,
            user=marketer,
            expected_version=1,
            channel=email,
            name="Mine",
            status=Campaign.Status.DRAFT,
            send_at=None,
            notes="",
            link="",
            audience=None,
            inclusion_ids=[],
            exclusion_ids=[],
        )
    with pytest.raises(ValidationError, match="deleted meanwhile"):
        services.campaign_reapply_audience(campaign=campaign, user=marketer, expected_version=1)
    assert not Campaign.objects.exists()


def test_reapply_keeps_additions_and_removals(marketer, email, vip_setup):
    seg, audience = vip_setup
    campaign = create(
        marketer,
        email,
        audience=audience,
        inclusion_ids=ids(seg["VIP"], seg["Newsletter"]),  # removed Repeat buyers, added Newsletter
        exclusion_ids=ids(seg["Unsubscribed 90d"]),
    )
    audience.exclusion_segments.add(seg["Churn risk"])
    audience.inclusion_segments.remove(seg["VIP"])
    campaign = services.campaign_reapply_audience(
        campaign=campaign, user=marketer, expected_version=campaign.version
    )
    assert set(campaign.inclusion_segments.values_list("name", flat=True)) == {"Newsletter"}
    assert set(campaign.exclusion_segments.values_list("name", flat=True)) == {
        "Unsubscribed 90d",
        "Churn risk",
    }
    assert {s["name"] for s in campaign.audience_snapshot["exclusion"]} == {
        "Unsubscribed 90d",
        "Churn risk",
    }


def test_deleted_audience_leaves_the_campaign_targeting(marketer, email, vip_setup):
    seg, audience = vip_setup
    campaign = create(
        marketer, email, audience=audience, inclusion_ids=ids(seg["VIP"], seg["Repeat buyers"])
    )
    audience.delete()
    campaign.refresh_from_db()
    assert campaign.audience is None
    assert campaign.audience_snapshot["audience_name"] == "VIP Customers"
    assert campaign.inclusion_segments.count() == 2
    with pytest.raises(ValidationError, match="no audience"):
        services.campaign_reapply_audience(campaign=campaign, user=marketer, expected_version=None)


def test_choosing_another_audience_replaces_the_base(marketer, email, vip_setup):
    seg, audience = vip_setup
    other = make_audience(email, name="Newsletter readers", include=[seg["Newsletter"]])
    campaign = create(marketer, email, audience=audience, inclusion_ids=ids(seg["VIP"]))
    campaign = services.campaign_update(
        campaign=campaign,
        user=marketer,
        expected_version=campaign.version,
        channel=email,
        name=campaign.name,
        status=Campaign.Status.SCHEDULED,
        send_at=timezone.now() + timedelta(days=1),
        notes="",
        link="",
        audience=other,
        inclusion_ids=ids(seg["Newsletter"], seg["VIP"]),
        exclusion_ids=[],
    )
    assert campaign.audience_snapshot["audience_name"] == "Newsletter readers"


def test_a_copy_keeps_the_base_it_was_built_on_and_its_inactive_segments(
    marketer, email, vip_setup
):
    from campaigns.selectors import campaign_copy_name

    seg, audience = vip_setup
    campaign = create(
        marketer,
        email,
        audience=audience,
        inclusion_ids=ids(seg["VIP"], seg["Churn risk"]),
    )
    assert campaign_copy_name(campaign) == "Black Friday (copy)"
    # Since then the audience grew and an added segment became inactive.
    audience.inclusion_segments.add(seg["Newsletter"])
    seg["Churn risk"].is_active = False
    seg["Churn risk"].save()
    copy = create(
        marketer,
        email,
        name=campaign_copy_name(campaign),
        audience=audience,
        inclusion_ids=ids(seg["VIP"], seg["Churn risk"]),
        copy_of=campaign,
    )
    assert copy.audience_snapshot == campaign.audience_snapshot
    assert copy.audience_applied_at == campaign.audience_applied_at
    assert set(copy.inclusion_segments.all()) == {seg["VIP"], seg["Churn risk"]}
    assert campaign_copy_name(campaign) == "Black Friday (copy 2)"
