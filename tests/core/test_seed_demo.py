import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from audiences.models import Audience
from campaigns.models import Campaign
from segments.models import Segment
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def test_small_demo_data_fills_every_page(channels, marketer_client, capsys):
    call_command("seed_demo", size="small")
    assert "Seeded 900 segments, 20 audiences and 60 campaigns" in capsys.readouterr().out
    for channel in channels.values():
        assert Segment.objects.filter(channel=channel).count() == 300
        assert Audience.objects.filter(channel=channel).exists()
    # Campaigns over the coming months, most of them still to send.
    now = timezone.now()
    campaigns = Campaign.objects.all()
    assert campaigns.count() == 60
    assert campaigns.filter(send_at__gt=now).count() > 40
    assert campaigns.filter(send_at__gt=now + timezone.timedelta(days=60)).exists()
    # Targeting is consistent: an audience's segments are its channel's, never both
    # included and excluded; a campaign starts from its audience's definition.
    for audience in Audience.objects.prefetch_related("inclusion_segments", "exclusion_segments"):
        include = set(audience.inclusion_segments.all())
        exclude = set(audience.exclusion_segments.all())
        assert include and not include & exclude
        assert {s.channel_id for s in include | exclude} == {audience.channel_id}
    for campaign in campaigns.exclude(audience=None):
        snapshot_ids = {s["id"] for s in campaign.audience_snapshot["inclusion"]}
        assert snapshot_ids <= set(campaign.inclusion_segments.values_list("id", flat=True))
    # The demo looks like something on the pages a newcomer opens first.
    email = channels["email"]
    for url in (
        reverse("segments:list", args=[email.slug]),
        reverse("audiences:list", args=[email.slug]),
        reverse("campaigns:list"),
        reverse("campaigns:calendar"),
    ):
        response = marketer_client.get(url)
        assert response.status_code == 200
        assert b"No segments yet" not in response.content


def test_same_seed_same_data(channels):
    call_command("seed_demo", size="small", seed=7)
    first = list(Segment.objects.order_by("pk").values_list("name", "external_id", "is_active"))
    Campaign.objects.all().delete()
    Audience.objects.all().delete()
    Segment.objects.all().delete()
    call_command("seed_demo", size="small", seed=7)
    again = list(Segment.objects.order_by("pk").values_list("name", "external_id", "is_active"))
    assert first == again


def test_refuses_when_the_database_has_data(email):
    make_segment(email, name="Real customers")
    with pytest.raises(
        CommandError, match=r"already has 1 segment\. seed_demo only fills an empty database"
    ):
        call_command("seed_demo", size="small")
    assert list(Segment.objects.values_list("name", flat=True)) == ["Real customers"]
    assert not Campaign.objects.exists()
