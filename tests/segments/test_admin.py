import pytest
from django.urls import reverse

from segments.models import Segment
from tests.factories import make_audience, make_segment

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:segments_segment_changelist"


def test_changelist_searches_filters_and_shows_columns(admin_client, email, sms):
    make_segment(email, name="Winter buyers", external_id="W-1")
    make_segment(sms, name="Winter SMS", external_id="W-2", is_active=False)
    html = admin_client.get(reverse(CHANGELIST), {"q": "winter"}).content.decode()
    assert "Winter buyers" in html and "Winter SMS" in html and "W-1" in html
    html = admin_client.get(reverse(CHANGELIST), {"is_active__exact": "0"}).content.decode()
    assert "Winter SMS" in html and "Winter buyers" not in html


def test_activate_and_deactivate_actions(admin_client, email):
    a, b = make_segment(email), make_segment(email)
    admin_client.post(
        reverse(CHANGELIST), {"action": "deactivate", "_selected_action": [a.pk, b.pk]}
    )
    assert not Segment.objects.filter(is_active=True).exists()
    admin_client.post(reverse(CHANGELIST), {"action": "activate", "_selected_action": [a.pk]})
    assert list(Segment.objects.filter(is_active=True)) == [a]


def test_change_page_shows_usage_and_read_only_timestamps(admin_client, email):
    segment = make_segment(email, name="Used")
    make_audience(email, name="Loyal", include=[segment])
    html = admin_client.get(
        reverse("admin:segments_segment_change", args=[segment.pk])
    ).content.decode()
    assert "Loyal" in html and "(audience)" in html
    assert 'name="created_at"' not in html and 'name="updated_at"' not in html


def test_admin_edits_go_through_the_services(admin_client, email):
    make_segment(email, name="Holder", external_id="TAKEN")
    segment = make_segment(email, name="Mine", external_id="MINE")
    url = reverse("admin:segments_segment_change", args=[segment.pk])
    data = {"name": "  Renamed  ", "external_id": "NEW", "link": "", "is_active": "on"}
    assert admin_client.post(url, data).status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.external_id) == ("Renamed", "NEW")
    response = admin_client.post(url, {**data, "external_id": "TAKEN"})
    assert "already has a segment with this Segment ID" in response.content.decode()
    bad = admin_client.post(url, {**data, "link": " javascript:alert(1)"})
    assert "Only http:// and https:// links are allowed." in bad.content.decode()


def test_admin_cannot_delete_a_segment_in_use(admin_client, email):
    used, unused = make_segment(email, name="Used"), make_segment(email, name="Unused")
    make_audience(email, include=[used])
    response = admin_client.post(
        reverse("admin:segments_segment_delete", args=[used.pk]), {"post": "yes"}, follow=True
    )
    assert "cannot be deleted" in response.content.decode()
    admin_client.post(
        reverse(CHANGELIST),
        {"action": "delete_unused", "_selected_action": [used.pk, unused.pk]},
    )
    assert list(Segment.objects.all()) == [used]
