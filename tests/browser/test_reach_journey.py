import re
from datetime import datetime

from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.browser.conftest import wait_for_htmx
from tests.factories import make_campaign, make_segment


def test_audience_reach_follows_the_ticked_segments(marketer_page, browser_channels):
    page = marketer_page
    email = browser_channels["email"]
    make_segment(email, name="VIP", size=31_200)
    make_segment(email, name="Repeat buyers", size=17_700)
    make_segment(email, name="Unsubscribed 90d")  # size unknown
    page.goto("/channels/email/audiences/new/")
    reach = page.locator("#audience-reach")
    expect(reach).to_contain_text("No inclusion yet")
    results = page.locator("#picker-segments-results")

    results.get_by_role("checkbox", name="Include VIP").check()
    expect(reach).to_contain_text("31,200 contacts.")
    results.get_by_role("checkbox", name="Include Repeat buyers").check()
    expect(reach).to_contain_text(
        "Between 31,200 and 48,900 contacts: sizes alone cannot see overlaps."
    )
    results.get_by_role("checkbox", name="Exclude Unsubscribed 90d").check()
    expect(reach).to_contain_text("Between 0 and 48,900")
    expect(reach).to_contain_text("size unknown Unsubscribed 90d")

    wait_for_htmx(page)
    page.get_by_role("button", name="Use 48,900 as estimated volume").click()
    volume = page.get_by_role("textbox", name="Estimated volume")
    expect(volume).to_have_value("48900")
    expect(page).to_have_url(re.compile(r"/audiences/new/$"))  # filled, not submitted
    volume.fill("60000")  # the typed figure stays the user's
    page.get_by_role("textbox", name="Name").fill("VIP Customers")
    page.get_by_role("button", name="Create audience").click()
    expect(page.get_by_role("heading", name="VIP Customers")).to_be_visible()
    expect(page.get_by_text("60,000 contacts")).to_be_visible()
    expect(page.get_by_text("lies outside this range")).to_be_visible()


def test_two_colliding_campaigns_warn_on_both_and_on_the_calendar(marketer_page, browser_channels):
    page = marketer_page
    email = browser_channels["email"]
    vip = make_segment(email, name="VIP", size=1_000)
    send = timezone.make_aware(datetime(2026, 12, 4, 9))
    make_campaign(
        email, name="Black Friday", status=Campaign.Status.SCHEDULED, send_at=send, include=[vip]
    )

    page.goto("/campaigns/new/")
    page.get_by_role("textbox", name="Name").fill("Cyber teaser")
    page.get_by_label("Status").select_option("scheduled")
    page.get_by_label("Send time").fill("2026-12-04T15:00")
    page.locator("#picker-segments-results").get_by_role("checkbox", name="Include VIP").check()
    checks = page.locator("#campaign-form-checks")
    expect(checks).to_contain_text("Collides with Black Friday")
    page.get_by_role("button", name="Save campaign").click()

    expect(page.get_by_role("heading", name="Cyber teaser")).to_be_visible()
    warnings = page.locator(".campaign-warnings")
    expect(warnings).to_contain_text("Collides with Black Friday")
    expect(warnings).to_contain_text("both include VIP")
    warnings.get_by_role("link", name="Black Friday").click()
    expect(page.get_by_role("heading", name="Black Friday")).to_be_visible()
    expect(page.locator(".campaign-warnings")).to_contain_text("Collides with Cyber teaser")

    page.goto("/campaigns/calendar/?month=2026-12")
    expect(page.locator(".calendar-item.has-warning")).to_have_count(2)
    month = page.locator(".calendar-warnings")
    expect(month).to_contain_text("Collides with Cyber teaser")
    expect(month).to_contain_text("Collides with Black Friday")
