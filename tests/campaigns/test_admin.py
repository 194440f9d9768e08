import pytest

from campaigns.models import Campaign
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def post(admin_client, url, **data):
    base = {"name": "From admin", "status": "draft", "notes": "", "link": ""}
    return admin_client.post(url, {**base, **data})


def test_admin_applies_the_same_rules(admin_client, email, sms):
    sms_segment = make_segment(sms, name="SMS only")
    response = post(
        admin_client,
        "/admin/campaigns/campaign/add/",
        channel=email.pk,
        status="scheduled",
        inclusion_segments=[sms_segment.pk],
    )
    html = response.content.decode()
    assert "A scheduled campaign needs a send time." in html
    assert "Only segments of the Email channel can be used, not: SMS only." in html
    assert not Campaign.objects.exists()


def test_admin_creates_through_the_service(admin_client, email, vip_setup, admin_user):
    seg, audience = vip_setup
    response = post(
        admin_client,
        "/admin/campaigns/campaign/add/",
        channel=email.pk,
        audience=audience.pk,
        inclusion_segments=f"{seg['VIP'].pk}",
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.audience_snapshot["audience_name"] == "VIP Customers"
    assert campaign.created_by == admin_user
    assert list(campaign.inclusion_segments.all()) == [seg["VIP"]]


def test_admin_escapes_names(admin_client, email):
    Campaign.objects.create(channel=email, name='"><script>alert(1)</script>')
    html = admin_client.get("/admin/campaigns/campaign/").content.decode()
    assert "<script>alert(1)" not in html
