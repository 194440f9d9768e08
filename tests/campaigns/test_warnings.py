from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.warnings import campaign_warnings
from tests.factories import make_campaign, make_segment

pytestmark = pytest.mark.django_db

SCHEDULED, DRAFT = Campaign.Status.SCHEDULED, Campaign.Status.DRAFT


def at(day, hour=9, minute=0):
    return timezone.make_aware(datetime(2026, 12, day, hour, minute))


def warnings_of(*campaigns):
    for c in campaigns:
        c.refresh_from_db()
    return campaign_warnings(
        Campaign.objects.select_related("channel").filter(pk__in=[c.pk for c in campaigns])
    )


@pytest.fixture
def segs(email):
    return {name: make_segment(email, name=name) for name in ("VIP", "Repeat", "Unsub", "Other")}


def test_two_sends_to_one_segment_inside_the_quiet_window_collide(email, segs):
    a = make_campaign(
        email, name="A", status=SCHEDULED, send_at=at(3, 9), include=[segs["VIP"], segs["Repeat"]]
    )
    b = make_campaign(
        email,
        name="B",
        status=DRAFT,
        send_at=at(3, 20),
        include=[segs["VIP"]],
        exclude=[segs["Unsub"]],
    )
    found = warnings_of(a, b)
    (wa,) = found[a.pk]
    assert wa.kind == "collision" and wa.other.name == "B" and wa.hours_apart == 11
    assert [s.name for s in wa.segments] == ["VIP"] and wa.window_hours == 16
    (wb,) = found[b.pk]
    assert wb.other.name == "A" and [s.name for s in wb.segments] == ["VIP"]


def test_no_collision_outside_the_window_other_channel_or_sent(email, sms, segs):
    sms_vip = make_segment(sms, name="VIP")
    a = make_campaign(email, name="A", status=SCHEDULED, send_at=at(3, 9), include=[segs["VIP"]])
    make_campaign(email, name="Next day", status=SCHEDULED, send_at=at(4, 1), include=[segs["VIP"]])
    make_campaign(
        email, name="Sent", status=Campaign.Status.SENT, send_at=at(3, 10), include=[segs["VIP"]]
    )
    make_campaign(
        email,
        name="Cancelled",
        status=Campaign.Status.CANCELLED,
        send_at=at(3, 10),
        include=[segs["VIP"]],
    )
    make_campaign(
        email, name="Unrelated", status=SCHEDULED, send_at=at(3, 10), include=[segs["Other"]]
    )
    make_campaign(
        email,
        name="Excludes it",
        status=SCHEDULED,
        send_at=at(3, 10),
        include=[segs["Repeat"]],
        exclude=[segs["VIP"]],
    )
    make_campaign(sms, name="SMS", status=SCHEDULED, send_at=at(3, 9), include=[sms_vip])
    assert warnings_of(a)[a.pk] == []


def test_the_channel_quiet_window_decides(sms):
    vip = make_segment(sms, name="VIP")
    assert sms.quiet_window_hours == 24
    a = make_campaign(sms, name="A", status=SCHEDULED, send_at=at(3, 9), include=[vip])
    make_campaign(sms, name="B", status=SCHEDULED, send_at=at(4, 8), include=[vip])  # 23 hours
    assert [w.other.name for w in warnings_of(a)[a.pk]] == ["B"]
    sms.quiet_window_hours = 20
    sms.save()
    assert warnings_of(a)[a.pk] == []


def test_a_draft_without_send_time_warns_about_nothing(email, segs):
    segs["VIP"].is_active = False
    segs["VIP"].save()
    a = make_campaign(email, name="A", status=DRAFT, include=[segs["VIP"]])
    make_campaign(email, name="B", status=SCHEDULED, send_at=at(3, 9), include=[segs["VIP"]])
    assert warnings_of(a)[a.pk] == []


def test_inactive_and_not_in_klaviyo_segments_warn(email, segs):
    segs["VIP"].is_active = False
    segs["VIP"].save()
    segs["Unsub"].klaviyo_missing_since = timezone.now()
    segs["Unsub"].save()
    a = make_campaign(
        email,
        name="A",
        status=SCHEDULED,
        send_at=at(3),
        include=[segs["VIP"], segs["Repeat"]],
        exclude=[segs["Unsub"]],
    )
    (w,) = warnings_of(a)[a.pk]
    assert w.kind == "unusable"
    assert [(s.name, s.role, s.reason) for s in w.segments] == [
        ("VIP", "included", "inactive"),
        ("Unsub", "excluded", "not in Klaviyo"),
    ]


@pytest.mark.parametrize("size", [3, 30])
def test_warnings_take_three_queries_for_any_page(email, size, django_assert_num_queries):
    shared = make_segment(email, name="Shared", is_active=False)
    for i in range(size):
        make_campaign(
            email,
            status=SCHEDULED,
            send_at=at(1 + i // 3, 9 + i % 3),
            include=[shared, make_segment(email)],
        )
    campaigns = list(Campaign.objects.select_related("channel"))
    # the campaigns' targeting, its segments, the campaigns sent near them
    with django_assert_num_queries(3):
        found = campaign_warnings(campaigns)
    assert all(any(w.kind == "collision" for w in ws) for ws in found.values())
    assert all(ws[0].kind == "unusable" for ws in found.values())


@pytest.fixture
def colliding(email, segs):
    a = make_campaign(
        email, name="Black Friday", status=SCHEDULED, send_at=at(4, 9), include=[segs["VIP"]]
    )
    b = make_campaign(
        email,
        name="Cyber Monday teaser",
        status=DRAFT,
        send_at=at(4, 15),
        include=[segs["VIP"], segs["Repeat"]],
    )
    return a, b


def test_detail_names_the_other_campaign_and_the_shared_segments(viewer_client, colliding, segs):
    a, b = colliding
    html = viewer_client.get(reverse("campaigns:detail", args=[a.pk])).content.decode()
    assert "Before this campaign is sent" in html
    b_url = reverse("campaigns:detail", args=[b.pk])
    assert f'Collides with <a href="{b_url}">Cyber Monday teaser</a>' in html
    assert f'<a href="{reverse("segments:detail", args=["email", segs["VIP"].pk])}">VIP</a>' in html
    assert "6 hours apart" in html and "quiet window of 16 hours" in html


def test_list_warns_on_both_rows_full_page_and_partial(viewer_client, colliding, htmx_headers):
    for headers in ({}, htmx_headers):
        html = viewer_client.get(reverse("campaigns:list"), headers=headers).content.decode()
        assert "Collides with" in html and html.count("campaign-warning-collision") == 2
        assert ("<nav" in html) is not bool(headers)


def test_calendar_marks_the_campaigns_and_lists_the_warnings(
    viewer_client, colliding, htmx_headers
):
    for headers in ({}, htmx_headers):
        response = viewer_client.get(
            reverse("campaigns:calendar") + "?month=2026-12", headers=headers
        )
        html = response.content.decode()
        assert html.count("has-warning") == 2 and "Warnings this month" in html
        assert [c.name for c in response.context["warned"]] == [
            "Black Friday",
            "Cyber Monday teaser",
        ]


def test_pages_without_warnings_stay_quiet(viewer_client, email, segs):
    c = make_campaign(email, name="Alone", status=SCHEDULED, send_at=at(4), include=[segs["VIP"]])
    assert (
        "Before this campaign is sent"
        not in viewer_client.get(reverse("campaigns:detail", args=[c.pk])).content.decode()
    )
    assert (
        "Warnings this month"
        not in viewer_client.get(reverse("campaigns:calendar") + "?month=2026-12").content.decode()
    )


def test_the_data_migration_sets_each_channels_quiet_window(channels):
    from channels_app.models import Channel

    windows = dict(Channel.objects.values_list("slug", "quiet_window_hours"))
    assert windows == {"email": 16, "sms": 24, "meta": 16}
    assert Channel(slug="push", name="Push").quiet_window_hours == 16


def test_the_admin_edits_the_quiet_window(admin_client, sms):
    url = reverse("admin:channels_app_channel_change", args=[sms.pk])
    data = {
        "name": "SMS",
        "slug": "sms",
        "position": 20,
        "quiet_window_hours": 12,
        "klaviyo_message_type": "sms",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    sms.refresh_from_db()
    assert sms.quiet_window_hours == 12


@pytest.mark.parametrize("size", [3, 30])
def test_calendar_with_collisions_runs_a_fixed_number_of_queries(
    viewer_client, email, size, django_assert_num_queries
):
    shared = make_segment(email, name="Shared")
    for i in range(size):
        make_campaign(email, status=SCHEDULED, send_at=at(1 + i // 3, 9 + i % 3), include=[shared])
    # the calendar's 6 (as without warnings), then the month's targeting, its segments and
    # the campaigns sent near them
    with django_assert_num_queries(9):
        response = viewer_client.get(reverse("campaigns:calendar") + "?month=2026-12")
    assert len(response.context["warned"]) == min(size, 20)
    assert response.context["warned_more"] == max(size - 20, 0)
    if size > 20:
        assert "the list of this month's campaigns" in response.content.decode()


def test_a_row_shows_two_warnings_and_links_to_the_rest(viewer_client, email, segs):
    mine = make_campaign(
        email, name="Mine", status=SCHEDULED, send_at=at(4, 9), include=[segs["VIP"]]
    )
    others = [
        make_campaign(
            email, name=f"Other {i}", status=SCHEDULED, send_at=at(4, 10 + i), include=[segs["VIP"]]
        )
        for i in range(3)
    ]
    html = viewer_client.get(reverse("campaigns:list") + "?q=Mine").content.decode()
    detail = reverse("campaigns:detail", args=[mine.pk])
    # the two nearest sends, each linking its campaign, then a link to the page with all three
    for other in others[:2]:
        url = reverse("campaigns:detail", args=[other.pk])
        assert f'Collides with <a href="{url}">{other.name}</a>' in html
    assert "Other 2" not in html
    assert f'<a href="{detail}#warnings">1 more warning</a>' in html
    assert "(Scheduled, 1 hour apart)</span>: both include VIP." in html
    page = viewer_client.get(detail).content.decode()
    assert 'id="warnings"' in page and all(o.name in page for o in others)


def test_sends_at_the_same_time_say_so(email, segs):
    a = make_campaign(email, name="A", status=SCHEDULED, send_at=at(4, 9), include=[segs["VIP"]])
    b = make_campaign(email, name="B", status=SCHEDULED, send_at=at(4, 9), include=[segs["VIP"]])
    found = warnings_of(a, b)
    assert found[a.pk][0].apart_words == "at the same time"
    assert found[b.pk][0].apart_words == "at the same time"


def test_campaigns_outside_the_page_are_found_and_those_on_it_are_not_read_twice(email, segs):
    inside = make_campaign(
        email, name="Inside", status=SCHEDULED, send_at=at(4, 9), include=[segs["VIP"]]
    )
    near = make_campaign(email, name="Near", status=DRAFT, send_at=at(4, 12), include=[segs["VIP"]])
    # Only `inside` is asked about: `near` is found by the query, with its own name and status.
    (warning,) = warnings_of(inside)[inside.pk]
    assert warning.other.name == "Near" and warning.other.status_label == "Draft"
    # Asked about both, each is the other's neighbour, taken from what was given.
    found = warnings_of(inside, near)
    assert found[inside.pk][0].other.id == near.pk and found[near.pk][0].other.id == inside.pk


def test_the_short_form_escapes_what_it_names(viewer_client, email):
    vip = make_segment(email, name="<b>VIP</b>")
    make_campaign(email, name="<i>A</i>", status=SCHEDULED, send_at=at(4, 9), include=[vip])
    make_campaign(email, name="B", status=SCHEDULED, send_at=at(4, 10), include=[vip])
    for url in (reverse("campaigns:list"), reverse("campaigns:calendar") + "?month=2026-12"):
        html = viewer_client.get(url).content.decode()
        assert "<b>VIP" not in html and "<i>A" not in html
        assert "both include &lt;b&gt;VIP&lt;/b&gt;." in html
        assert "Collides with <a" in html and "&lt;i&gt;A&lt;/i&gt;</a>" in html
