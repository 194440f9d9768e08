from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from tests.factories import make_campaign, make_segment

pytestmark = pytest.mark.django_db

SCHEDULED = Campaign.Status.SCHEDULED


def at(day, hour=9):
    return timezone.make_aware(datetime(2026, 12, day, hour))


@pytest.fixture
def sized(email):
    return {
        "VIP": make_segment(email, name="VIP", size=31_200),
        "Repeat": make_segment(email, name="Repeat buyers", size=17_700),
        "Unsub": make_segment(email, name="Unsubscribed 90d", size=2_000),
        "Gone": make_segment(email, name="Gone", size=10, klaviyo_missing_since=timezone.now()),
    }


def test_detail_shows_the_reach_of_the_final_targeting(viewer_client, email, sized):
    c = make_campaign(email, include=[sized["VIP"], sized["Repeat"]], exclude=[sized["Unsub"]])
    html = viewer_client.get(reverse("campaigns:detail", args=[c.pk])).content.decode()
    assert "Reach of the final targeting" in html
    assert "Between 29,200 and 48,900 contacts: sizes alone cannot see overlaps." in html


def test_list_shows_each_campaigns_reach(viewer_client, email, sized, htmx_headers):
    make_campaign(email, name="A", include=[sized["VIP"], sized["Repeat"]])
    make_campaign(email, name="B", include=[sized["VIP"], make_segment(email, name="New")])
    for headers in ({}, htmx_headers):
        response = viewer_client.get(reverse("campaigns:list"), headers=headers)
        reach = {c.name: c.reach.short for c, _ in response.context["rows"]}
        assert reach == {"A": "31,200\u201348,900", "B": "at least 31,200"}
        assert "1 unknown" in response.content.decode()


@pytest.mark.parametrize("size", [3, 30])
def test_list_reach_and_warnings_read_a_fixed_number_of_queries(
    viewer_client, email, sized, size, django_assert_num_queries
):
    for i in range(size):
        make_campaign(
            email,
            status=SCHEDULED,
            send_at=at(1 + i // 3, 9 + i % 3),
            include=[sized["VIP"], make_segment(email, size=i)],
            exclude=[sized["Gone"]],
        )
    # session, user, perms, nav channels, colours, count, page, the page's targeting, its
    # segments (reach and warnings) and the campaigns sent near them
    with django_assert_num_queries(10):
        response = viewer_client.get(reverse("campaigns:list"))
    campaigns = [c for c, _ in response.context["rows"]]
    assert len(campaigns) == size and all(c.reach.high is not None for c in campaigns)
    assert all({w.kind for w in c.warnings} == {"unusable", "collision"} for c in campaigns)


def checks_url(
    email, *, include=(), exclude=(), status="scheduled", send_at="2026-12-04T09:00", campaign=None
):
    params = [("channel", email.slug), ("status", status), ("send_at", send_at)]
    params += [("segments-include", s.pk) for s in include]
    params += [("segments-exclude", s.pk) for s in exclude]
    if campaign:
        params.append(("campaign", campaign.pk))
    return reverse("campaigns:form_checks") + "?" + "&".join(f"{k}={v}" for k, v in params)


def test_form_checks_show_reach_and_unusable_segments_as_picked(
    marketer_client, email, sized, htmx_headers
):
    url = checks_url(email, include=[sized["VIP"]], exclude=[sized["Gone"]])
    html = marketer_client.get(url, headers=htmx_headers).content.decode()
    assert "Reach of this targeting" in html and "Between 31,190 and 31,200" in html
    assert "Before you save" in html and "not in Klaviyo" in html and "Gone" in html
    draft = checks_url(
        email, include=[sized["VIP"]], exclude=[sized["Gone"]], status="draft", send_at=""
    )
    assert "Before you save" not in marketer_client.get(draft).content.decode()


def test_form_checks_name_a_colliding_campaign_but_not_the_one_being_edited(
    marketer_client, email, sized
):
    other = make_campaign(
        email, name="Other", status=SCHEDULED, send_at=at(4, 12), include=[sized["VIP"]]
    )
    mine = make_campaign(
        email, name="Mine", status=SCHEDULED, send_at=at(4, 9), include=[sized["VIP"]]
    )
    html = marketer_client.get(
        checks_url(email, include=[sized["VIP"]], campaign=mine)
    ).content.decode()
    assert "Collides with" in html and "Other" in html and ">Mine<" not in html
    html = marketer_client.get(
        checks_url(email, include=[sized["VIP"]], campaign=other)
    ).content.decode()
    assert ">Mine</a>" in html


def test_form_checks_survive_bad_input(marketer_client, email, sized):
    bad = (
        checks_url(email, include=[sized["VIP"]], send_at="tomorrow", status="zzz")
        + "&segments-include=x&campaign=abc"
    )
    assert marketer_client.get(bad).status_code == 200
    unknown = reverse("campaigns:form_checks") + "?channel=nope"
    assert marketer_client.get(unknown).status_code == 200


def test_re_rendered_form_says_so_before_saving(marketer_client, email, sized):
    response = marketer_client.post(
        reverse("campaigns:create"),
        {
            "channel": email.slug,
            "loaded_channel": email.slug,
            "name": "",
            "status": "scheduled",
            "send_at": "2026-12-04T09:00",
            "segments-include": [sized["VIP"].pk, sized["Gone"].pk],
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and not Campaign.objects.exists()
    assert 'id="campaign-form-checks"' in html and "Before you save" in html
    assert "Between 31,200 and 31,210" in html


def test_edit_form_shows_checks_on_first_load(marketer_client, email, sized):
    c = make_campaign(email, status=SCHEDULED, send_at=at(4), include=[sized["Gone"]])
    html = marketer_client.get(reverse("campaigns:edit", args=[c.pk])).content.decode()
    assert "Before you save" in html and f"?campaign={c.pk}" in html
