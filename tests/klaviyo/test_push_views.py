"""The campaign page's In Klaviyo panel, its buttons, the list's Klaviyo filter and the key
badge of the Integrations page."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.klaviyo import services
from integrations.klaviyo.models import CampaignPush, KlaviyoAccount
from tests.factories import make_campaign, make_segment
from tests.klaviyo.conftest import SENTINEL_KEY
from tests.klaviyo.test_push import klaviyo_segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(email, connected):
    vip = klaviyo_segment(email, connected, 1, name="VIP")
    buyers = klaviyo_segment(email, connected, 2, kind="list", name="Buyers")
    return make_campaign(email, name="Winter sale", include=[vip, buyers])


def panel_url(campaign):
    return reverse("klaviyo:campaign-panel", args=[campaign.pk])


def test_the_campaign_page_loads_the_panel_by_url(marketer_client, campaign):
    html = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert f'hx-get="{panel_url(campaign)}"' in html and 'hx-trigger="load"' in html
    assert f'<a href="{panel_url(campaign)}">In Klaviyo</a>' in html  # without JavaScript


def test_the_panel_as_a_page_and_as_a_partial(marketer_client, campaign, htmx_headers):
    page = marketer_client.get(panel_url(campaign)).content.decode()
    assert "<html" in page and "Not in Klaviyo yet" in page and "Send to Klaviyo" in page
    partial = marketer_client.get(panel_url(campaign), headers=htmx_headers).content.decode()
    assert "<html" not in partial and 'id="klaviyo-push-panel"' in partial


def test_send_shows_the_campaign_in_klaviyo_with_its_estimate(
    marketer_client, campaign, connected, htmx_headers
):
    response = marketer_client.post(
        reverse("klaviyo:campaign-send", args=[campaign.pk]), headers=htmx_headers
    )
    html = response.content.decode()
    push = CampaignPush.objects.get()
    assert "Sent to Klaviyo." in html
    assert push.klaviyo_campaign_id in html and "Draft" in html
    counted = timezone.localtime(push.estimated_at).strftime("%H:%M")
    assert f"Klaviyo estimates 2,000 recipients (counted {counted})" in html
    assert "by marketer" in html and "Matches" in html
    assert "Update in Klaviyo" not in html  # nothing changed since
    assert SENTINEL_KEY not in html


def test_changed_targeting_offers_update_and_a_scheduled_campaign_refuses_it(
    marketer_client, campaign, connected, email, htmx_headers
):
    marketer_client.post(reverse("klaviyo:campaign-send", args=[campaign.pk]))
    campaign.inclusion_segments.add(klaviyo_segment(email, connected, 3))
    html = marketer_client.get(panel_url(campaign), headers=htmx_headers).content.decode()
    assert "Differs" in html and "Update in Klaviyo" in html
    connected.campaign_set_status(CampaignPush.objects.get().klaviyo_campaign_id, "Scheduled")
    html = marketer_client.post(
        reverse("klaviyo:campaign-update", args=[campaign.pk]), headers=htmx_headers
    ).content.decode()
    assert "Klaviyo says the campaign is Scheduled" in html
    assert "Update in Klaviyo</button>" not in html and "Differs" in html


def test_the_reasons_a_campaign_cannot_go_are_listed_instead_of_the_button(
    marketer_client, campaign, email
):
    campaign.inclusion_segments.add(make_segment(email, name="Typed by hand"))
    html = marketer_client.get(panel_url(campaign)).content.decode()
    assert "did not come from Klaviyo" in html and "Typed by hand" in html
    assert "Send to Klaviyo</button>" not in html


def test_a_deletion_in_klaviyo_is_shown_and_a_new_draft_offered(
    marketer_client, campaign, connected
):
    marketer_client.post(reverse("klaviyo:campaign-send", args=[campaign.pk]))
    connected.campaign_delete(CampaignPush.objects.get().klaviyo_campaign_id)
    response = marketer_client.post(
        reverse("klaviyo:campaign-refresh", args=[campaign.pk]), follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("campaigns:detail", args=[campaign.pk])
    html = marketer_client.get(panel_url(campaign)).content.decode()
    assert "deleted in Klaviyo" in html and "Send as a new draft" in html


def test_a_fault_is_shown_on_the_panel_and_nothing_recorded_as_sent(
    marketer_client, campaign, connected, htmx_headers
):
    connected.fault("html_403", kind="campaign", op="create")
    html = marketer_client.post(
        reverse("klaviyo:campaign-send", args=[campaign.pk]), headers=htmx_headers
    ).content.decode()
    assert "web page instead of an API answer" in html and "Send to Klaviyo again" in html
    assert not CampaignPush.objects.get().in_klaviyo


def test_viewers_see_the_panel_and_change_nothing(viewer_client, marketer_client, campaign):
    marketer_client.post(reverse("klaviyo:campaign-send", args=[campaign.pk]))
    html = viewer_client.get(panel_url(campaign)).content.decode()
    assert (
        "Klaviyo campaign" in html
        and "Refresh" not in html
        and "<form" not in html.split('id="klaviyo-push-panel"')[1].split("</section>")[0]
    )
    for name in ("campaign-send", "campaign-update", "campaign-refresh"):
        assert viewer_client.post(reverse(f"klaviyo:{name}", args=[campaign.pk])).status_code == 403


def test_the_panel_runs_a_fixed_number_of_queries(marketer_client, email, connected, htmx_headers):
    counts = []
    for size in (3, 30):
        segments = [klaviyo_segment(email, connected, 100 * size + i) for i in range(size)]
        campaign = make_campaign(email, include=segments[:2], exclude=segments[2:])
        with CaptureQueriesContext(connection) as queries:
            assert marketer_client.get(panel_url(campaign), headers=htmx_headers).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 14, counts


def test_the_campaign_list_filters_by_klaviyo(marketer_client, campaign, email, connected):
    other = make_campaign(email, name="Not sent")
    marketer_client.post(reverse("klaviyo:campaign-send", args=[campaign.pk]))

    def names(value):
        response = marketer_client.get(reverse("campaigns:list"), {"klaviyo": value})
        return {c.name for c, _ in response.context["rows"]}

    assert names("in") == {"Winter sale"} and names("not") == {other.name}
    html = marketer_client.get(reverse("campaigns:list")).content.decode()
    assert html.count("In Klaviyo</span>") == 1 and "Out of step</span>" not in html
    campaign.inclusion_segments.clear()
    assert names("out") == {"Winter sale"} and names("in") == set()
    html = marketer_client.get(reverse("campaigns:list")).content.decode()
    assert html.count("Out of step</span>") == 1 and "In Klaviyo</span>" not in html


# -- the key badge ---------------------------------------------------------------------------


@pytest.fixture
def key_manager_client(marketer):
    marketer.user_permissions.add(Permission.objects.get(codename="manage_klaviyo_key"))
    client = Client()
    client.force_login(marketer)
    return client


def test_saving_a_key_tests_it_and_the_badge_says_what_was_verified(
    key_manager_client, klaviyo_settings, fake
):
    key_manager_client.post(reverse("klaviyo:key-save"), {"api_key": "pk_wrong_key_1234567"})
    account = KlaviyoAccount.objects.get()
    at = timezone.localtime(account.checked_at).strftime("%H:%M")
    html = key_manager_client.get(reverse("klaviyo:settings")).content.decode()
    assert f"Key rejected at {at}" in html and "Connected" not in html
    response = key_manager_client.post(
        reverse("klaviyo:key-save"), {"api_key": SENTINEL_KEY}, follow=True
    )
    html = response.content.decode()
    at = timezone.localtime(KlaviyoAccount.objects.get().checked_at).strftime("%H:%M")
    assert "Klaviyo key saved. Key works" in html and f"Key works, checked {at}" in html
    for scope in ("segments:read", "lists:read", "campaigns:read", "campaigns:write"):
        assert scope in html


def test_a_key_never_checked_says_so(key_manager_client, klaviyo_settings):
    KlaviyoAccount.objects.create(encrypted_api_key="x", key_last4="abcd")
    html = key_manager_client.get(reverse("klaviyo:settings")).content.decode()
    assert "Not checked yet" in html


def test_test_connection_lists_every_scope_and_updates_the_badge(
    key_manager_client, connected, htmx_headers
):
    connected.scopes.discard("campaigns:write")
    html = key_manager_client.post(reverse("klaviyo:test"), headers=htmx_headers).content.decode()
    assert "lacks the campaigns:write scope" in html
    assert "scopes missing" in html and html.count('badge-green">Works') == 3
    assert "Missing" in html
    assert KlaviyoAccount.objects.get().check_ok is True
    assert services.klaviyo_connection_test().ok is False


def test_test_connection_is_a_post(key_manager_client, connected):
    assert key_manager_client.get(reverse("klaviyo:test")).status_code == 405


DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def test_a_send_waiting_for_the_worker_shows_its_progress_and_polls(
    marketer_client, campaign, connected, settings, htmx_headers
):
    from integrations.klaviyo import tasks

    settings.TASKS = DUMMY_TASKS
    html = marketer_client.post(
        reverse("klaviyo:campaign-send", args=[campaign.pk]), headers=htmx_headers
    ).content.decode()
    assert "Sending to Klaviyo…" in html and "Waiting for the worker" in html
    assert 'hx-trigger="every 2s"' in html and "Send to Klaviyo</button>" not in html
    assert connected.campaigns == {}
    tasks.klaviyo_push_task.call(CampaignPush.objects.get().pk)  # the worker
    html = marketer_client.get(panel_url(campaign), headers=htmx_headers).content.decode()
    assert "Klaviyo is counting the recipients" in html and 'hx-trigger="every 2s"' in html
    tasks.klaviyo_estimate_task.call(CampaignPush.objects.get().pk)
    html = marketer_client.get(panel_url(campaign), headers=htmx_headers).content.decode()
    assert "Klaviyo estimates 2,000 recipients" in html and "every 2s" not in html


def test_the_default_channels_message_types_and_the_admin(db, client):
    from channels_app.models import Channel
    from tests.factories import make_user

    types = dict(Channel.objects.values_list("slug", "klaviyo_message_type"))
    assert types == {"email": "email", "sms": "sms", "meta": "none"}  # the data migration
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:channels_app_channel_changelist")).content.decode()
    assert 'name="form-0-klaviyo_message_type"' in html
