"""The seeds' journey: a campaign on Email built from "VIP Customers", adjusted, re-applied."""

import re

from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.browser.conftest import wait_for_htmx
from tests.factories import make_audience, make_segment


def test_campaign_from_an_audience_with_ad_hoc_changes(
    marketer_page, browser_channels, accept_dialogs
):
    page = marketer_page
    email, sms = browser_channels["email"], browser_channels["sms"]
    seg = {
        name: make_segment(email, name=name, external_id=f"e-{i}")
        for i, name in enumerate(
            ["VIP", "Repeat buyers", "Unsubscribed 90d", "Churn risk", "Newsletter"]
        )
    }
    audience = make_audience(
        email,
        name="VIP Customers",
        include=[seg["VIP"], seg["Repeat buyers"]],
        exclude=[seg["Unsubscribed 90d"]],
    )
    make_audience(sms, name="SMS Buyers", include=[make_segment(sms, name="SMS VIP")])

    page.goto("/campaigns/")
    page.get_by_role("link", name="Plan a campaign").click()
    expect(page.get_by_role("heading", name="New campaign")).to_be_visible()
    audience_select = page.get_by_label("Audience")
    expect(audience_select.locator("option")).to_have_text(
        ["No audience (pick segments by hand)", "VIP Customers"]
    )
    page.locator("#id_name").fill("Black Friday VIP")
    audience_select.select_option(label="VIP Customers")
    wait_for_htmx(page)

    selected = page.locator("[data-picker-selected] [data-picker-row]")
    expect(selected).to_have_count(3)
    expect(selected.first).to_contain_text("from audience")
    expect(page.locator("#id_name")).to_have_value("Black Friday VIP")

    # Add an ad-hoc exclusion through the search, remove one pre-filled inclusion.
    page.get_by_label(re.compile("Search Email segments")).fill("churn")
    churn_row = page.locator(".picker-results [data-picker-row]", has_text="Churn risk")
    churn_row.get_by_label(re.compile("Exclude")).check()
    repeat_row = page.locator("[data-picker-selected] [data-picker-row]", has_text="Repeat buyers")
    repeat_row.get_by_label(re.compile("Include")).uncheck()

    page.get_by_label("Status").select_option(label="Scheduled")
    page.get_by_label("Send time").fill("2026-11-27T09:00")
    page.get_by_role("button", name="Save campaign").click()

    expect(page.get_by_role("heading", name="Black Friday VIP")).to_be_visible()
    expect(
        page.get_by_text("Fri 27 Nov", exact=False).or_(page.get_by_text("Friday 27 November 2026"))
    ).to_be_visible()
    changes = page.locator("dl.targeting").nth(1)
    expect(changes).to_contain_text("Added exclusions")
    expect(changes).to_contain_text("Churn risk")
    expect(changes).to_contain_text("Removed from the audience")
    expect(changes).to_contain_text("Repeat buyers")
    expect(page.locator(".definition")).to_contain_text(
        "Contacts in VIP, except those in Churn risk or Unsubscribed 90d."
    )
    audience.refresh_from_db()
    assert audience.inclusion_segments.count() == 2  # the audience itself never changed

    # The audience changes: the campaign notices and re-applies it, keeping its own changes.
    audience.inclusion_segments.add(seg["Newsletter"])
    page.reload()
    expect(page.get_by_text("The audience changed after it was applied")).to_be_visible()
    expect(page.get_by_text("It now also includes: Newsletter")).to_be_visible()
    page.get_by_role("button", name="Re-apply the current audience").click()
    expect(page.get_by_text("Re-applied the current audience")).to_be_visible()
    expect(page.locator(".definition")).to_contain_text(
        "Contacts in Newsletter or VIP, except those in Churn risk or Unsubscribed 90d."
    )
    assert accept_dialogs and "Re-apply" in accept_dialogs[-1]
    campaign = Campaign.objects.get(name="Black Friday VIP")
    assert campaign.status == Campaign.Status.SCHEDULED


def test_changing_channel_reloads_audiences_and_sets_segments_aside(
    marketer_page, browser_channels, accept_dialogs
):
    page = marketer_page
    email, sms = browser_channels["email"], browser_channels["sms"]
    vip = make_segment(email, name="VIP")
    make_audience(email, name="VIP Customers", include=[vip])
    make_audience(sms, name="SMS Buyers", include=[make_segment(sms, name="SMS VIP")])
    page.goto("/campaigns/new/")
    page.get_by_label("Audience").select_option(label="VIP Customers")
    expect(page.locator("[data-picker-selected] [data-picker-row]")).to_have_count(1)
    wait_for_htmx(page)
    page.get_by_label("Channel").select_option(label="SMS")
    expect(page.get_by_label("Audience").locator("option")).to_have_text(
        ["No audience (pick segments by hand)", "SMS Buyers"]
    )
    expect(page.locator("#messages")).to_contain_text("Set aside 1 segment of Email")
    assert accept_dialogs and "Change the channel?" in accept_dialogs[-1]
    expect(page.locator("[data-picker-selected] [data-picker-row]")).to_have_count(0)
