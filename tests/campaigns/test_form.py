"""The campaign form: channel → audience → picker, refreshes with and without htmx."""

from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from tests.factories import make_audience, make_segment

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "name": "Black Friday",
        "channel": "email",
        "loaded_channel": "email",
        "audience": "",
        "loaded_audience": "",
        "status": "draft",
        "send_at": "",
        "notes": "",
        "link": "",
    }
    data.update(overrides)
    return data


def test_new_form_offers_only_audiences_of_the_channel(marketer_client, email, sms, vip_setup):
    make_audience(sms, name="SMS buyers", include=[make_segment(sms)])
    html = marketer_client.get(reverse("campaigns:create")).content.decode()
    assert "VIP Customers" in html and "SMS buyers" not in html
    html = marketer_client.get(reverse("campaigns:create") + "?channel=sms").content.decode()
    assert "SMS buyers" in html and "VIP Customers" not in html


def test_choosing_an_audience_prefills_its_segments(
    marketer_client, email, vip_setup, htmx_headers
):
    seg, audience = vip_setup
    response = marketer_client.post(
        reverse("campaigns:create"),
        form_data(audience=str(audience.pk), _refresh="audience"),
        headers=htmx_headers,
    )
    html = response.content.decode()
    assert "<nav" not in html  # only the form region
    picker = response.context["form"]["segments"].value()
    assert sorted(map(int, picker["include"])) == sorted([seg["VIP"].pk, seg["Repeat buyers"].pk])
    assert list(map(int, picker["exclude"])) == [seg["Unsubscribed 90d"].pk]
    assert "from audience" in html
    assert not Campaign.objects.exists()


def test_link_with_audience_prefills_without_javascript(marketer_client, email, vip_setup):
    seg, audience = vip_setup
    url = reverse("campaigns:create") + f"?channel=email&audience={audience.pk}"
    html = marketer_client.get(url).content.decode()
    assert (
        f'name="segments-include" value="{seg["VIP"].pk}" data-picker-mark="include" checked'
        in html
    )


@pytest.mark.parametrize("audience", ["sms", "nope", "0"])
def test_link_with_an_audience_of_another_channel_or_none_starts_empty(
    marketer_client, email, sms, vip_setup, audience
):
    sms_audience = make_audience(sms, name="SMS fans", include=[make_segment(sms, name="Fans")])
    value = sms_audience.pk if audience == "sms" else audience
    url = reverse("campaigns:create") + f"?channel=email&audience={value}"
    response = marketer_client.get(url)
    assert response.status_code == 200
    assert response.context["form"]["audience"].value() == ""
    assert 'data-picker-mark="include" checked' not in response.content.decode()


def test_another_audience_replaces_prefilled_but_keeps_own_additions(
    marketer_client, email, vip_setup
):
    seg, audience = vip_setup
    other = make_audience(email, name="Newsletter readers", include=[seg["Newsletter"]])
    data = form_data(audience=str(other.pk), loaded_audience=str(audience.pk), _refresh="audience")
    data["segments-include"] = [seg["VIP"].pk, seg["Churn risk"].pk]  # Churn risk added by hand
    data["segments-exclude"] = [seg["Unsubscribed 90d"].pk]
    data["segments-base_include"] = [seg["VIP"].pk, seg["Repeat buyers"].pk]
    data["segments-base_exclude"] = [seg["Unsubscribed 90d"].pk]
    response = marketer_client.post(reverse("campaigns:create"), data)
    picker = response.context["form"]["segments"].value()
    assert sorted(map(int, picker["include"])) == sorted(
        [seg["Newsletter"].pk, seg["Churn risk"].pk]
    )
    assert picker["exclude"] == []


def test_changing_channel_sets_old_segments_aside_with_a_message(
    marketer_client, email, sms, vip_setup
):
    seg, audience = vip_setup
    data = form_data(channel="sms", audience=str(audience.pk), loaded_audience=str(audience.pk))
    data["segments-include"] = [seg["VIP"].pk]
    response = marketer_client.post(reverse("campaigns:create"), data)
    html = response.content.decode()
    assert "Set aside 1 segment of Email: an SMS campaign uses SMS segments only." in html
    assert response.context["form"]["segments"].value()["include"] == []
    assert response.context["setup"].channel == sms
    assert not Campaign.objects.exists()


def test_save_with_adhoc_changes(marketer_client, email, vip_setup):
    seg, audience = vip_setup
    data = form_data(
        audience=str(audience.pk),
        loaded_audience=str(audience.pk),
        status="scheduled",
        send_at="2026-11-27T09:30",
    )
    data["segments-include"] = [seg["VIP"].pk]  # Repeat buyers removed
    data["segments-exclude"] = [seg["Unsubscribed 90d"].pk, seg["Churn risk"].pk]
    data["segments-base_include"] = [seg["VIP"].pk, seg["Repeat buyers"].pk]
    data["segments-base_exclude"] = [seg["Unsubscribed 90d"].pk]
    response = marketer_client.post(reverse("campaigns:create"), data)
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.send_at == timezone.make_aware(datetime(2026, 11, 27, 9, 30))
    assert campaign.audience_snapshot["audience_name"] == "VIP Customers"
    audience.refresh_from_db()
    assert audience.inclusion_segments.count() == 2  # the audience never changes


def test_errors_keep_everything_typed(marketer_client, email, vip_setup):
    seg, _ = vip_setup
    data = form_data(name="Keep me", status="scheduled", notes="Remember this")
    data["segments-include"] = [seg["VIP"].pk]
    data["segments-exclude"] = [seg["VIP"].pk]
    response = marketer_client.post(reverse("campaigns:create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "A scheduled campaign needs a send time." in html
    assert "both included and excluded" in html
    assert 'value="Keep me"' in html and "Remember this" in html
    assert not Campaign.objects.exists()


def test_forged_segment_of_another_channel_is_refused(marketer_client, email, sms):
    sms_segment = make_segment(sms, name="SMS only")
    data = form_data()
    data["segments-include"] = [sms_segment.pk]
    response = marketer_client.post(reverse("campaigns:create"), data)
    assert "Only segments of the Email channel" in response.content.decode()
    assert not Campaign.objects.exists()


def test_edit_shows_base_and_saves(marketer_client, marketer, email, vip_setup):
    from campaigns import services

    seg, audience = vip_setup
    campaign = services.campaign_create(
        user=marketer,
        channel=email,
        name="C",
        audience=audience,
        inclusion_ids=[seg["VIP"].pk, seg["Newsletter"].pk],
        exclusion_ids=[seg["Unsubscribed 90d"].pk],
    )
    html = marketer_client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "from audience" in html and "added" in html and "removed" in html
    data = form_data(name="Renamed", audience=str(audience.pk), loaded_audience=str(audience.pk))
    data["version"] = campaign.version
    data["segments-include"] = [seg["VIP"].pk]
    data["segments-exclude"] = [seg["Unsubscribed 90d"].pk]
    data["segments-base_include"] = [seg["VIP"].pk, seg["Repeat buyers"].pk]
    data["segments-base_exclude"] = [seg["Unsubscribed 90d"].pk]
    response = marketer_client.post(reverse("campaigns:edit", args=[campaign.pk]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"
    assert list(campaign.inclusion_segments.all()) == [seg["VIP"]]
    stale = marketer_client.post(reverse("campaigns:edit", args=[campaign.pk]), data)
    html = stale.content.decode()
    assert "was changed by someone else meanwhile" in html and 'value="Renamed"' in html


def test_viewer_cannot_open_the_form(viewer_client, email):
    assert viewer_client.get(reverse("campaigns:create")).status_code == 403
    assert viewer_client.post(reverse("campaigns:create"), form_data()).status_code == 403


@pytest.mark.parametrize("size", [50, 2000])
def test_form_runs_a_fixed_number_of_queries(
    marketer_client, email, size, django_assert_num_queries
):
    from segments.models import Segment

    Segment.objects.bulk_create(
        Segment(channel=email, name=f"S{i:05d}", external_id=f"s-{i}") for i in range(size)
    )
    with django_assert_num_queries(7):
        marketer_client.get(reverse("campaigns:create"))


def test_edit_keeps_a_segment_that_became_inactive(marketer_client, marketer, email):
    from campaigns import services

    seg = make_segment(email, name="Legacy")
    campaign = services.campaign_create(
        user=marketer, channel=email, name="C", inclusion_ids=[seg.pk]
    )
    seg.is_active = False
    seg.save()
    html = marketer_client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "inactive" in html
    data = form_data(name="Still fine", version=campaign.version)
    data["segments-include"] = [seg.pk]
    response = marketer_client.post(reverse("campaigns:edit", args=[campaign.pk]), data)
    assert response.status_code == 302


def test_saving_a_campaign_deleted_meanwhile_keeps_the_form_and_says_so(
    marketer_client, marketer, email, monkeypatch
):
    from campaigns import services, views

    campaign = services.campaign_create(user=marketer, channel=email, name="C")
    update = services.campaign_update

    def deleted_first(**kwargs):  # someone deletes it while this save is on its way
        Campaign.objects.filter(pk=campaign.pk).delete()
        return update(**kwargs)

    monkeypatch.setattr(views.services, "campaign_update", deleted_first)
    data = form_data(name="My typed name", version=campaign.version)
    response = marketer_client.post(reverse("campaigns:edit", args=[campaign.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "This campaign was deleted meanwhile; nothing was saved." in html
    assert 'value="My typed name"' in html
