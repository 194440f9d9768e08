"""Send to Klaviyo, end to end: segments synced from the fake Klaviyo, an audience of them, a
campaign made in the form, sent across as a draft with Klaviyo's estimate, its targeting
changed and updated there, then scheduled in Klaviyo: further updates are refused."""

import re

import pytest
from playwright.sync_api import expect

from integrations.klaviyo import services
from segments.models import Segment
from tests.browser.conftest import wait_for_htmx
from tests.klaviyo_fake import FakeKlaviyo

KEY = "pk_browser_push_journey_key_77c2"


@pytest.fixture
def fake_klaviyo(settings):
    with FakeKlaviyo(api_key=KEY, segments=4, lists=1) as fake:
        settings.KLAVIYO_API_URL = fake.url
        settings.KLAVIYO_API_KEY = ""
        settings.KLAVIYO_TIMEOUT = (2.0, 5.0)
        yield fake


def test_send_update_and_a_refused_update(marketer_page, browser_channels, fake_klaviyo):
    page, fake = marketer_page, fake_klaviyo
    email = browser_channels["email"]
    services.klaviyo_key_save(api_key=KEY, user=None)

    # Sync from the fake Klaviyo (tasks run in the request here) and build an audience.
    page.goto("/channels/email/segments/")
    page.get_by_role("button", name="Sync from Klaviyo").click()
    expect(page.get_by_test_id("sync-summary")).to_contain_text("Synced")
    by_name = {s.name: s for s in Segment.objects.filter(channel=email)}
    fake.recipients[by_name["Segment 0"].external_id] = 48_120
    page.goto("/channels/email/audiences/new/")
    page.get_by_role("textbox", name="Name").fill("Loyal customers")
    search = page.get_by_role("searchbox", name=re.compile("Search Email segments"))
    results = page.locator("#picker-segments-results")
    search.fill("Segment 0")
    results.get_by_role("checkbox", name="Include Segment 0").check()
    search.fill("List 0")
    results.get_by_role("checkbox", name="Exclude List 0").check()
    page.get_by_role("button", name="Create audience").click()
    expect(page.get_by_role("heading", name="Loyal customers")).to_be_visible()

    # A campaign from the audience, made in the form.
    page.goto("/campaigns/new/")
    page.locator("#id_name").fill("Winter newsletter")
    page.get_by_label("Audience").select_option(label="Loyal customers")
    wait_for_htmx(page)
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("heading", name="Winter newsletter")).to_be_visible()

    # Send to Klaviyo: a draft there, and Klaviyo's own count of recipients.
    panel = page.locator("#klaviyo-push-panel")
    expect(panel.get_by_text("Not in Klaviyo yet")).to_be_visible()
    panel.get_by_role("button", name="Send to Klaviyo").click()
    expect(panel.get_by_text("Sent to Klaviyo.")).to_be_visible()
    expect(panel.get_by_test_id("klaviyo-estimate")).to_contain_text(
        re.compile(r"Klaviyo estimates 47,620 recipients \(counted \d\d:\d\d\)")
    )
    expect(panel.get_by_test_id("klaviyo-status")).to_have_text("Draft")
    [(klaviyo_id, there)] = fake.campaigns.items()
    assert there["included"] == [by_name["Segment 0"].external_id]

    # Change the targeting here: the panel says the two differ; Update in Klaviyo.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label(re.compile("Search Email segments")).fill("Segment 2")
    row = page.locator(".picker-results [data-picker-row]", has_text="Segment 2")
    row.get_by_label(re.compile("Include")).check()
    page.get_by_role("button", name="Save campaign").click()
    expect(panel.get_by_test_id("push-in-step")).to_contain_text("Differs")
    panel.get_by_role("button", name="Update in Klaviyo").click()
    expect(panel.get_by_text("Updated in Klaviyo.")).to_be_visible()
    expect(panel.get_by_test_id("push-in-step")).to_contain_text("Matches")
    assert sorted(fake.campaigns[klaviyo_id]["included"]) == sorted(
        [by_name["Segment 0"].external_id, by_name["Segment 2"].external_id]
    )

    # Scheduled in Klaviyo: an update is refused and the page says the two differ.
    fake.campaign_set_status(klaviyo_id, "Scheduled")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label(re.compile("Search Email segments")).fill("Segment 3")
    row = page.locator(".picker-results [data-picker-row]", has_text="Segment 3")
    row.get_by_label(re.compile("Include")).check()
    page.get_by_role("button", name="Save campaign").click()
    panel.get_by_role("button", name="Update in Klaviyo").click()
    expect(panel.get_by_test_id("push-error")).to_contain_text(
        "Klaviyo says the campaign is Scheduled"
    )
    expect(panel.get_by_test_id("klaviyo-status")).to_have_text("Scheduled")
    expect(panel.get_by_test_id("push-in-step")).to_contain_text("Differs")
    expect(panel.get_by_role("button", name="Update in Klaviyo")).to_have_count(0)
    assert len(fake.campaigns[klaviyo_id]["included"]) == 2


def test_the_key_badge_says_what_was_verified(page, browser_channels, fake_klaviyo):
    from django.contrib.auth.models import Permission

    from tests.browser.conftest import log_in
    from tests.factories import make_marketer

    admin = make_marketer("key-keeper")
    admin.user_permissions.add(Permission.objects.get(codename="manage_klaviyo_key"))
    log_in(page, admin.username)
    page.goto("/integrations/klaviyo/")
    page.get_by_label("Private API key").fill("pk_not_the_right_key_000")
    page.get_by_role("button", name="Connect").click()
    badge = page.get_by_test_id("key-badge")
    expect(badge).to_have_text(re.compile(r"^Key rejected at \d\d:\d\d$"))
    expect(page.get_by_text("Connected", exact=True)).to_have_count(0)

    page.get_by_text("Replace the key").click()
    page.get_by_label("Private API key").fill(KEY)
    page.get_by_role("button", name="Replace key").click()
    expect(badge).to_have_text(re.compile(r"^Key works, checked \d\d:\d\d$"))

    fake_klaviyo.scopes.discard("campaigns:write")
    page.get_by_role("button", name="Test connection").click()
    expect(badge).to_contain_text("scopes missing")
    scopes = page.get_by_role("table", name="Scopes the app uses")
    expect(scopes.get_by_role("row", name=re.compile("campaigns:write"))).to_contain_text("Missing")
    expect(scopes.get_by_role("row", name=re.compile("segments:read"))).to_contain_text("Works")
