"""The edit form lists the audience's segments removed for the campaign, with a Restore."""

import re

import pytest
from django.urls import reverse

from campaigns import services
from tests.campaigns.test_form import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(marketer, email, vip_setup):
    seg, audience = vip_setup
    # Repeat buyers (an inclusion) and Unsubscribed 90d (an exclusion) removed for this send.
    return services.campaign_create(
        user=marketer,
        channel=email,
        name="Spring",
        audience=audience,
        inclusion_ids=[seg["VIP"].pk],
        exclusion_ids=[],
    )


def _removed_section(html: str) -> str:
    return html.split("data-picker-removed role=")[1].split("</ul>")[0]


def test_edit_form_lists_removed_segments_struck_through_with_restore(
    marketer_client, campaign, vip_setup
):
    seg, _ = vip_setup
    html = marketer_client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    removed = _removed_section(html)
    assert "Repeat buyers" in removed and "Unsubscribed 90d" in removed and "VIP<" not in removed
    assert "removed for this campaign" in removed
    for name in ("Repeat buyers", "Unsubscribed 90d"):
        pk = seg[name].pk
        assert re.search(rf'class="picker-row picker-removed"[^>]*data-segment-id="{pk}"', removed)
        assert f'name="segments-restore" value="{pk}"' in removed
    # Not offered a second time among the search results.
    results = html.split('picker-results" id=')[1]
    assert "Repeat buyers" not in results.split("</ul>")[0]


def test_restore_without_javascript_puts_it_back_and_saves_nothing(
    marketer_client, campaign, vip_setup
):
    seg, audience = vip_setup
    data = form_data(name="Spring", audience=str(audience.pk), loaded_audience=str(audience.pk))
    data |= {
        "version": campaign.version,
        "segments-include": [seg["VIP"].pk],
        "segments-base_include": [seg["VIP"].pk, seg["Repeat buyers"].pk],
        "segments-base_exclude": [seg["Unsubscribed 90d"].pk],
        "segments-restore": str(seg["Unsubscribed 90d"].pk),
    }
    url = reverse("campaigns:edit", args=[campaign.pk])
    response = marketer_client.post(url, data)
    assert response.status_code == 200
    value = response.context["form"]["segments"].value()
    assert value["exclude"] == [str(seg["Unsubscribed 90d"].pk)]
    assert "Unsubscribed 90d" not in _removed_section(response.content.decode())
    campaign.refresh_from_db()
    assert list(campaign.exclusion_segments.all()) == []

    # Saving the re-displayed form keeps the restored exclusion.
    del data["segments-restore"]
    data["segments-exclude"] = [seg["Unsubscribed 90d"].pk]
    response = marketer_client.post(url, data)
    assert response.status_code == 302
    assert list(campaign.exclusion_segments.all()) == [seg["Unsubscribed 90d"]]


def test_a_new_campaign_without_removals_shows_no_removed_section(marketer_client, email):
    html = marketer_client.get(reverse("campaigns:create")).content.decode()
    assert re.search(r"data-picker-removed-section\s+hidden", html)
