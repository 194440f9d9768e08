import re

import pytest
from django.urls import reverse

from audiences.models import Audience
from tests.factories import make_audience, make_segment

pytestmark = pytest.mark.django_db


def test_changelist_filters_and_searches(admin_client, email, sms, vip, sms_segment):
    make_audience(email, name="VIP Customers", include=[vip])
    make_audience(sms, name="SMS Buyers", include=[sms_segment])
    url = reverse("admin:audiences_audience_changelist")
    html = admin_client.get(url, {"channel__id__exact": sms.pk}).content.decode()
    assert "SMS Buyers" in html and "VIP Customers" not in html
    html = admin_client.get(url, {"q": "vip"}).content.decode()
    assert "VIP Customers" in html and "SMS Buyers" not in html


def test_change_form_offers_only_the_audiences_channel(admin_client, email, vip, sms_segment):
    a = make_audience(email, name="A", include=[vip])
    html = admin_client.get(
        reverse("admin:audiences_audience_change", args=[a.pk])
    ).content.decode()
    assert f'value="{vip.pk}"' in html
    assert "SMS VIP" not in html


def test_add_with_a_channel_offers_its_active_segments(admin_client, email, vip, sms_segment):
    make_segment(email, name="Old", is_active=False)
    url = reverse("admin:audiences_audience_add") + f"?channel={email.pk}"
    html = admin_client.get(url).content.decode()
    assert ">VIP<" in html and "SMS VIP" not in html and ">Old" not in html


def test_add_asks_for_the_channel_first(admin_client, email, sms, vip, sms_segment):
    html = admin_client.get(reverse("admin:audiences_audience_add")).content.decode()
    assert f'href="?channel={sms.pk}"' in html
    # Random tokens (CSRF, CSP nonces) may spell "VIP": look only outside attribute values.
    assert "VIP" not in re.sub(r'="[^"]*"', '=""', html)


def test_admin_applies_the_same_rules(admin_client, email, vip, sms_segment, repeat):
    url = reverse("admin:audiences_audience_add") + f"?channel={email.pk}"
    response = admin_client.post(
        url,
        {
            "channel": email.pk,
            "name": "Mixed",
            "inclusion_segments": [vip.pk, sms_segment.pk],
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()  # not an Email segment
    response = admin_client.post(
        url,
        {
            "channel": email.pk,
            "name": "Odd",
            "inclusion_segments": [vip.pk],
            "exclusion_segments": [repeat.pk, vip.pk],
        },
    )
    assert "A segment cannot be both included and excluded: VIP" in response.content.decode()
    assert not Audience.objects.exists()
    response = admin_client.post(url, {"channel": email.pk, "name": "No inclusion"})
    assert "Choose at least one segment to include" in response.content.decode()


def test_admin_saves_through_the_services(admin_client, admin_user, email, vip, repeat):
    response = admin_client.post(
        reverse("admin:audiences_audience_add") + f"?channel={email.pk}",
        {
            "name": "From admin",
            "estimated_volume": "10",
            "inclusion_segments": [vip.pk],
            "exclusion_segments": [repeat.pk],
        },
    )
    assert response.status_code == 302
    a = Audience.objects.get()
    assert a.created_by == admin_user and list(a.exclusion_segments.all()) == [repeat]
    response = admin_client.post(
        reverse("admin:audiences_audience_change", args=[a.pk]),
        {"name": "Renamed", "inclusion_segments": [vip.pk, repeat.pk]},
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.name == "Renamed" and a.version == 2 and a.exclusion_segments.count() == 0
