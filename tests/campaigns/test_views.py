from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from tests.factories import make_audience, make_campaign, make_segment

pytestmark = pytest.mark.django_db


def at(year, month, day, hour=9):
    return timezone.make_aware(datetime(year, month, day, hour))


def seed_campaigns(user, channels, n):
    for i in range(n):
        channel = channels["email"] if i % 2 else channels["sms"]
        segs = [make_segment(channel) for _ in range(3)]
        audience = make_audience(channel, include=segs[:2], exclude=segs[2:])
        services.campaign_create(
            user=user,
            channel=channel,
            name=f"Campaign {i}",
            audience=audience,
            send_at=at(2026, 12, 1 + i % 28),
            inclusion_ids=[segs[0].pk],
            exclusion_ids=[segs[2].pk],
        )


def test_list_shows_campaigns_with_their_ad_hoc_change_count(
    marketer_client, marketer, email, vip_setup
):
    seg, audience = vip_setup
    services.campaign_create(
        user=marketer,
        channel=email,
        name="Black Friday",
        audience=audience,
        send_at=at(2026, 11, 27),
        inclusion_ids=[seg["VIP"].pk],  # removed Repeat buyers
        exclusion_ids=[seg["Unsubscribed 90d"].pk, seg["Churn risk"].pk],  # added Churn risk
    )
    response = marketer_client.get(reverse("campaigns:list"))
    assert response.status_code == 200
    ((campaign, change_count),) = response.context["rows"]
    assert campaign.name == "Black Friday" and change_count == 2
    html = response.content.decode()
    assert "VIP Customers" in html and "27 Nov 2026, 09:00 UTC" in html


@pytest.mark.parametrize("size", [3, 30])
def test_list_runs_a_fixed_number_of_queries(
    marketer_client, marketer, channels, size, django_assert_num_queries
):
    seed_campaigns(marketer, channels, size)
    # session, user, perms, nav channels, colours, count, page, the page's targeting, its
    # segments and the campaigns sent near them
    with django_assert_num_queries(10):
        response = marketer_client.get(reverse("campaigns:list"))
    assert len(response.context["rows"]) == size


def test_list_filters_and_htmx_partial(marketer_client, marketer, channels, htmx_headers):
    seed_campaigns(marketer, channels, 6)
    url = reverse("campaigns:list") + "?q=campaign+1&channel=email"
    response = marketer_client.get(url, headers=htmx_headers)
    html = response.content.decode()
    assert "<nav" not in html  # only the results region
    assert [c.name for c, _ in response.context["rows"]] == ["Campaign 1"]
    full = marketer_client.get(url)
    assert 'id="campaign-results"' in full.content.decode()


def test_list_filters_by_status_and_dates(marketer_client, marketer, email):
    make_campaign(email, name="Early", send_at=at(2026, 12, 1))
    make_campaign(email, name="Late", send_at=at(2026, 12, 20), status=Campaign.Status.SENT)
    make_campaign(email, name="Unscheduled")
    names = lambda r: [c.name for c, _ in r.context["rows"]]  # noqa: E731
    assert names(marketer_client.get(reverse("campaigns:list"))) == ["Early", "Late", "Unscheduled"]
    assert names(marketer_client.get(reverse("campaigns:list") + "?status=sent")) == ["Late"]
    response = marketer_client.get(
        reverse("campaigns:list") + "?date_from=2026-12-10&date_to=2026-12-20"
    )
    assert names(response) == ["Late"]
    bad = marketer_client.get(reverse("campaigns:list") + "?date_from=nope&page=x&status=zzz")
    assert bad.status_code == 200


def test_empty_list_says_what_to_do(marketer_client, channels):
    html = marketer_client.get(reverse("campaigns:list")).content.decode()
    assert "No campaigns yet" in html
    html = marketer_client.get(reverse("campaigns:list") + "?q=zzz").content.decode()
    assert "No campaigns match" in html and "Clear the filters" in html


def test_detail_shows_base_and_every_change(marketer_client, marketer, email, vip_setup):
    seg, audience = vip_setup
    campaign = services.campaign_create(
        user=marketer,
        channel=email,
        name="Black Friday",
        status=Campaign.Status.SCHEDULED,
        send_at=at(2026, 11, 27),
        audience=audience,
        inclusion_ids=[seg["VIP"].pk, seg["Newsletter"].pk],
        exclusion_ids=[seg["Unsubscribed 90d"].pk, seg["Churn risk"].pk],
    )
    response = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk]))
    t = response.context["targeting"]
    assert [r.name for r in t.base_inclusion] == ["Repeat buyers", "VIP"]
    assert [r.name for r in t.added_inclusions] == ["Newsletter"]
    assert [r.name for r in t.added_exclusions] == ["Churn risk"]
    assert [r.name for r in t.removed_inclusions] == ["Repeat buyers"]
    html = response.content.decode()
    for label in ("Added inclusions", "Added exclusions", "Removed from the audience"):
        assert label in html
    assert (
        "Contacts in <strong>Newsletter</strong> or <strong>VIP</strong>, except those in" in html
    )
    assert " UTC</dd>" in html  # the send time says its time zone
    assert "changed after it was applied" not in html


def test_detail_omits_empty_change_lists(marketer_client, marketer, email, vip_setup):
    seg, audience = vip_setup
    campaign = services.campaign_create(
        user=marketer,
        channel=email,
        name="As is",
        audience=audience,
        inclusion_ids=[seg["VIP"].pk, seg["Repeat buyers"].pk],
        exclusion_ids=[seg["Unsubscribed 90d"].pk],
    )
    html = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Added inclusions" not in html and "Removed from the audience" not in html
    assert "Used as is" in html


@pytest.mark.parametrize("size", [2, 20])
def test_detail_runs_a_fixed_number_of_queries(
    marketer_client, marketer, email, size, django_assert_num_queries
):
    segs = [make_segment(email) for _ in range(size * 2)]
    audience = make_audience(email, include=segs[:size], exclude=segs[size : size + 1])
    campaign = services.campaign_create(
        user=marketer,
        channel=email,
        name="C",
        audience=audience,
        inclusion_ids=[s.pk for s in segs[1:size] + segs[size + 2 :]],
        exclusion_ids=[segs[size].pk],
    )
    audience.inclusion_segments.add(segs[-1])
    with django_assert_num_queries(10):
        response = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert response.context["targeting"].audience_changed


def test_changed_audience_shows_a_notice_and_reapply_works(
    marketer_client, marketer, email, vip_setup
):
    seg, audience = vip_setup
    campaign = services.campaign_create(
        user=marketer,
        channel=email,
        name="C",
        audience=audience,
        inclusion_ids=[seg["VIP"].pk, seg["Repeat buyers"].pk],
        exclusion_ids=[seg["Unsubscribed 90d"].pk, seg["Churn risk"].pk],
    )
    audience.inclusion_segments.add(seg["Newsletter"])
    html = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "The audience changed after it was applied" in html
    assert "It now also includes: <strong>Newsletter</strong>" in html
    response = marketer_client.post(
        reverse("campaigns:reapply", args=[campaign.pk]), {"version": campaign.version}, follow=True
    )
    assert "Re-applied the current audience" in response.content.decode()
    campaign.refresh_from_db()
    assert set(campaign.inclusion_segments.values_list("name", flat=True)) == {
        "VIP",
        "Repeat buyers",
        "Newsletter",
    }
    assert "Churn risk" in set(campaign.exclusion_segments.values_list("name", flat=True))
    stale = marketer_client.post(
        reverse("campaigns:reapply", args=[campaign.pk]), {"version": 1}, follow=True
    )
    assert "changed this campaign meanwhile" in stale.content.decode()


def test_deleted_audience_notice(marketer_client, marketer, email, vip_setup):
    seg, audience = vip_setup
    campaign = services.campaign_create(
        user=marketer, channel=email, name="C", audience=audience, inclusion_ids=[seg["VIP"].pk]
    )
    audience.delete()
    html = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "The base audience “VIP Customers” was deleted" in html
    assert "Re-apply" not in html


def test_calendar_places_campaigns_on_their_day(marketer_client, email, sms):
    make_campaign(email, name="Xmas", send_at=at(2026, 12, 24, 8))
    make_campaign(sms, name="NYE", send_at=at(2026, 12, 31, 18))
    make_campaign(email, name="January", send_at=at(2027, 1, 15))
    response = marketer_client.get(reverse("campaigns:calendar") + "?month=2026-12")
    days = {
        d.day.isoformat(): [c.name for c in d.campaigns]
        for w in response.context["weeks"]
        for d in w
    }
    assert days["2026-12-24"] == ["Xmas"] and days["2026-12-31"] == ["NYE"]
    html = response.content.decode()
    assert "December 2026" in html and "?month=2027-01" in html and "?month=2026-11" in html
    only_sms = marketer_client.get(reverse("campaigns:calendar") + "?month=2026-12&channel=sms")
    names = [c.name for w in only_sms.context["weeks"] for d in w for c in d.campaigns]
    assert names == ["NYE"]


@pytest.mark.parametrize("size", [2, 25])
def test_calendar_runs_a_fixed_number_of_queries(
    marketer_client, email, size, django_assert_num_queries
):
    for i in range(size):
        make_campaign(email, send_at=at(2026, 12, 1 + i % 28))
    with django_assert_num_queries(7):  # + the warnings' targeting (no inclusion: no neighbours)
        marketer_client.get(reverse("campaigns:calendar") + "?month=2026-12")


def test_calendar_accepts_bad_months(marketer_client, channels):
    for value in ("nope", "2026-13", "", "99999-01"):
        assert (
            marketer_client.get(reverse("campaigns:calendar") + f"?month={value}").status_code
            == 200
        )


def test_duplicate_opens_a_filled_in_form_and_creates_on_save(marketer_client, marketer, email):
    vip = make_segment(email, name="VIP")
    campaign = make_campaign(
        email, name="Spring sale", status=Campaign.Status.SENT, notes="Hi", include=[vip]
    )
    url = reverse("campaigns:duplicate", args=[campaign.pk])
    page = marketer_client.get(url)
    form = page.context["form"]
    assert form["name"].value() == "Spring sale (copy)"
    assert form["status"].value() == Campaign.Status.DRAFT
    assert form["notes"].value() == "Hi"
    assert form["segments"].value().include_ids == [vip.pk]
    assert f'action="{url}"' in page.content.decode()
    assert Campaign.objects.count() == 1  # opening the form (or Cancel) leaves nothing behind
    data = {
        "name": "Spring sale (copy)",
        "channel": "email",
        "loaded_channel": "email",
        "status": "draft",
        "notes": "Hi",
        "segments-include": [vip.pk],
    }
    response = marketer_client.post(url, data)
    copy = Campaign.objects.get(name="Spring sale (copy)")
    assert response["Location"] == reverse("campaigns:detail", args=[copy.pk])
    assert copy.status == Campaign.Status.DRAFT and list(copy.inclusion_segments.all()) == [vip]
    confirm = marketer_client.get(reverse("campaigns:delete", args=[copy.pk]))
    assert "Delete “Spring sale (copy)”?" in confirm.content.decode()
    marketer_client.post(reverse("campaigns:delete", args=[copy.pk]))
    assert not Campaign.objects.filter(pk=copy.pk).exists()


def test_viewer_sees_but_cannot_change(viewer_client, email):
    campaign = make_campaign(email)
    detail = viewer_client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert detail.status_code == 200
    assert "Duplicate" not in detail.content.decode()
    for name in ("campaigns:duplicate", "campaigns:reapply", "campaigns:delete"):
        assert viewer_client.post(reverse(name, args=[campaign.pk])).status_code == 403
    assert Campaign.objects.count() == 1


def test_missing_campaign_is_a_404(marketer_client, channels):
    assert marketer_client.get(reverse("campaigns:detail", args=[999])).status_code == 404
    assert marketer_client.post(reverse("campaigns:duplicate", args=[999])).status_code == 404


def test_names_are_escaped(marketer_client, email):
    campaign = make_campaign(email, name='"><script>alert(1)</script>', send_at=at(2026, 12, 2))
    for url in (
        reverse("campaigns:list"),
        reverse("campaigns:detail", args=[campaign.pk]),
        reverse("campaigns:calendar") + "?month=2026-12",
    ):
        html = marketer_client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "&quot;&gt;&lt;script&gt;" in html
