import pytest
from django.urls import reverse

from audiences.models import Audience
from tests.factories import make_audience, make_segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def sized(email):
    return {
        "VIP": make_segment(email, name="VIP", size=31_200),
        "Repeat": make_segment(email, name="Repeat buyers", size=17_700),
        "Unsub": make_segment(email, name="Unsubscribed 90d", size=None),
    }


def test_reach_region_follows_the_ticked_segments(marketer_client, email, sized, htmx_headers):
    url = reverse("audiences:reach", args=[email.slug])
    query = f"?segments-include={sized['VIP'].pk}&segments-include={sized['Repeat'].pk}"
    html = marketer_client.get(url + query, headers=htmx_headers).content.decode()
    assert "Between 31,200 and 48,900 contacts: sizes alone cannot see overlaps." in html
    assert "Use 48,900 as estimated volume" in html and "<nav" not in html
    query += f"&segments-exclude={sized['Unsub'].pk}"
    html = marketer_client.get(url + query, headers=htmx_headers).content.decode()
    assert "Between 0 and 48,900" in html and "size unknown" in html
    assert "Unsubscribed 90d" in html


def test_reach_region_ignores_bad_and_foreign_ids(marketer_client, email, sms):
    foreign = make_segment(sms, name="Foreign", size=5)
    url = reverse("audiences:reach", args=[email.slug])
    response = marketer_client.get(url + f"?segments-include=x&segments-include={foreign.pk}")
    assert response.status_code == 200
    assert "No inclusion yet" in response.content.decode()


def test_form_page_shows_reach_and_a_live_region(marketer_client, email, sized):
    audience = make_audience(email, include=[sized["VIP"]], estimated_volume=100)
    html = marketer_client.get(
        reverse("audiences:edit", args=[email.slug, audience.pk])
    ).content.decode()
    assert 'id="audience-reach"' in html and "picker:change from:closest form" in html
    assert "31,200 contacts." in html and "Use 31,200 as estimated volume" in html


def test_use_as_estimated_volume_without_javascript_fills_the_field(marketer_client, email, sized):
    response = marketer_client.post(
        reverse("audiences:create", args=[email.slug]),
        {
            "name": "VIPs",
            "estimated_volume": "",
            "segments-include": [sized["VIP"].pk],
            "_use_reach": "31200",
        },
    )
    assert response.status_code == 200 and not Audience.objects.exists()
    assert response.context["form"]["estimated_volume"].value() == "31200"
    assert 'value="VIPs"' in response.content.decode()


def test_detail_says_when_the_typed_volume_is_outside_the_range(viewer_client, email, sized):
    audience = make_audience(
        email, include=[sized["VIP"], sized["Repeat"]], estimated_volume=60_000
    )
    url = reverse("audiences:detail", args=[email.slug, audience.pk])
    html = viewer_client.get(url).content.decode()
    assert "Between 31,200 and 48,900" in html and "lies outside this range" in html
    Audience.objects.filter(pk=audience.pk).update(estimated_volume=40_000)
    assert "lies outside this range" not in viewer_client.get(url).content.decode()
