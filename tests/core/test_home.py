"""Home, the start of the day: the week ahead by channel, what needs attention, the latest
syncs and uploads, and the main action; each part only for who may view it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.klaviyo.models import SyncRun, SyncRunChannel
from integrations.uploads.models import Upload
from tests.factories import make_audience, make_campaign, make_segment, make_user

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def test_empty_channels_keep_their_next_steps(marketer_client, channels):
    html = _text(marketer_client.get(reverse("home")))
    assert html.count("No segments yet") == 3
    assert html.count("upload a CSV") == 3
    assert "Needs attention" not in html  # nothing to plan yet: the empty state stays as it was


def test_a_channel_with_segments_but_no_audience_says_what_is_next(marketer_client, email):
    make_segment(email, name="VIP")
    html = _text(marketer_client.get(reverse("home")))
    assert "build an audience" in html
    assert html.count("No segments yet") == 2  # SMS and Meta


def test_the_week_ahead_by_channel(marketer_client, email, sms):
    now = timezone.now()
    vip = make_segment(email, name="VIP")
    make_campaign(
        email,
        name="Tomorrow's email",
        status="scheduled",
        send_at=now + timedelta(days=1),
        include=[vip],
    )
    make_campaign(sms, name="Friday SMS", status="draft", send_at=now + timedelta(days=3))
    make_campaign(
        email, name="Next month's email", status="scheduled", send_at=now + timedelta(days=20)
    )
    make_campaign(email, name="Yesterday's email", status="sent", send_at=now - timedelta(days=1))
    response = marketer_client.get(reverse("home"))
    weeks = {
        week.channel.slug: [c.name for c in week.campaigns]
        for week in response.context["day"].upcoming
    }
    assert weeks == {"email": ["Tomorrow's email"], "sms": ["Friday SMS"]}
    html = _text(response)
    assert "Tomorrow&#x27;s email" in html and "Next month" not in html and "Yesterday" not in html
    assert 'href="/campaigns/new/"' in html and "New campaign" in html
    assert "the campaign list shows the whole week" not in html


def test_a_full_week_says_the_list_is_cut(marketer_client, email, monkeypatch):
    from access_audience import home

    monkeypatch.setattr(home, "UPCOMING_LIMIT", 2)
    now = timezone.now()
    for day in (1, 2, 3):
        make_campaign(email, status="scheduled", send_at=now + timedelta(days=day))
    response = marketer_client.get(reverse("home"))
    assert response.context["day"].upcoming_count == 2
    html = _text(response)
    assert "These are the first 2; the campaign list shows the whole week." in html
    week = f"?date_from={now:%Y-%m-%d}&amp;date_to={now + timedelta(days=7):%Y-%m-%d}"
    assert f'href="/campaigns/{week}"' in html


def test_needs_attention_lists_what_uses_inactive_or_missing_segments(marketer_client, email):
    now = timezone.now()
    ok = make_segment(email, name="VIP")
    old = make_segment(email, name="Lapsed 2019", is_active=False)
    gone = make_segment(email, name="Deleted in Klaviyo", klaviyo_missing_since=now)
    make_audience(email, name="Healthy", include=[ok])
    make_audience(email, name="Winback", include=[ok], exclude=[gone])
    make_campaign(
        email,
        name="Spring sale",
        status="scheduled",
        send_at=now + timedelta(days=2),
        include=[old],
    )
    make_campaign(
        email, name="Draft idea", status="draft", send_at=now + timedelta(days=2), include=[old]
    )
    make_campaign(
        email,
        name="Sent long ago",
        status="scheduled",
        send_at=now - timedelta(days=30),
        include=[old],
    )
    response = marketer_client.get(reverse("home"))
    day = response.context["day"]
    assert [c.name for c in day.flagged_campaigns] == ["Spring sale"]
    assert [a.name for a in day.flagged_audiences] == ["Winback"]
    html = _text(response)
    assert "Lapsed 2019 — inactive" in html
    assert "Excludes <span" in html and "Deleted in Klaviyo — not in Klaviyo" in html


def test_failed_and_recent_runs(marketer_client, email, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path
    now = timezone.now()
    failed = SyncRun.objects.create(
        status="failed", error="Klaviyo rejected the key.", finished_at=now
    )
    SyncRunChannel.objects.create(run=failed, channel=email, in_progress=False)
    SyncRun.objects.create(status="succeeded", finished_at=now)
    SyncRun.objects.create(
        status="failed", error="Old trouble", created_at=now - timedelta(days=30)
    )
    Upload.objects.create(channel=email, file_name="vip.csv", status="done")
    Upload.objects.create(
        channel=email, file_name="broken.csv", status="failed", error_message="The import stopped."
    )
    response = marketer_client.get(reverse("home"))
    day = response.context["day"]
    assert [r.error for r in day.failed_syncs] == ["Klaviyo rejected the key."]
    assert [u.file_name for u in day.failed_uploads] == ["broken.csv"]
    assert len(day.recent_syncs) == 3 and len(day.recent_uploads) == 2
    html = _text(response)
    assert "Klaviyo sync failed" in html and "Upload of broken.csv failed" in html
    assert "Old trouble" not in html


def test_a_sync_whose_worker_stopped_needs_attention(marketer_client, email, settings):
    stale = timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS + 60)
    SyncRun.objects.create(status="running", heartbeat_at=stale, created_at=stale)
    day = marketer_client.get(reverse("home")).context["day"]
    assert [r.status for r in day.failed_syncs] == ["failed"]
    assert SyncRun.objects.get().status == "running"  # shown failed; GET never writes


def test_a_viewer_sees_the_day_without_the_new_campaign_button(viewer_client, email):
    make_segment(email, name="VIP")
    html = _text(viewer_client.get(reverse("home")))
    assert "Next 7 days" in html
    assert "New campaign" not in html


def test_a_user_in_no_group_sees_no_channel_data(client, email):
    """#15: the overview needs the view permissions; a user in no group sees no channel."""
    segment = make_segment(email, name="Secret list")
    make_campaign(
        email,
        name="Secret launch",
        status="scheduled",
        send_at=timezone.now() + timedelta(days=1),
        include=[segment],
    )
    client.force_login(make_user("nobody"))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = _text(response)
    assert "No access yet" in html
    for leak in ("Secret launch", "Email", "/channels/email/", "Segments", "Needs attention"):
        assert leak not in html, leak


@pytest.mark.parametrize("size", [3, 30])
def test_home_runs_a_fixed_number_of_queries(
    marketer_client, email, sms, size, settings, tmp_path, django_assert_num_queries
):
    settings.UPLOAD_DIR = tmp_path
    now = timezone.now()
    for i in range(size):
        channel = email if i % 2 else sms
        old = make_segment(channel, is_active=False)
        make_audience(channel, include=[make_segment(channel)], exclude=[old])
        make_campaign(
            channel, status="scheduled", send_at=now + timedelta(hours=i + 1), include=[old]
        )
        run = SyncRun.objects.create(status="failed", error="x")
        SyncRunChannel.objects.create(run=run, channel=channel, in_progress=False)
        Upload.objects.create(channel=channel, file_name=f"{i}.csv", status="failed")
    # session, user, user and group permissions, navigation channels; then the channels (1),
    # the week (1); flagged campaigns and audiences: candidates, which use flagged segments,
    # those rows and their segments (5 + 5); recent and failed syncs with their channels
    # (2 + 2), recent and failed uploads (1 + 1).
    with django_assert_num_queries(23):
        marketer_client.get(reverse("home"))
