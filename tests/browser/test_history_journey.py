"""Back and Forward after a live search or filter: always the whole page, and the search box,
filters and sort show what the address says."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import wait_for_htmx
from tests.factories import make_audience, make_campaign, make_segment


def _segments(channel):
    for name in ("Alpha buyers", "Alpine hikers", "Beta testers"):
        make_segment(channel, name=name)


def test_back_from_another_page_shows_the_whole_search_page(marketer_page, browser_channels):
    page = marketer_page
    _segments(browser_channels["email"])
    page.goto("/channels/email/segments/")
    page.get_by_label("Search", exact=True).fill("alp")
    expect(page).to_have_url(re.compile(r"q=alp"))
    wait_for_htmx(page)
    rows = page.locator("#segment-results tbody tr")
    expect(rows).to_have_count(2)

    page.get_by_role("link", name="Campaigns", exact=True).click()
    expect(page.get_by_role("heading", name="Campaigns", level=1)).to_be_visible()
    page.go_back()

    expect(page).to_have_url(re.compile(r"/channels/email/segments/\?q=alp"))
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.get_by_label("Search", exact=True)).to_have_value("alp")
    expect(rows).to_have_count(2)


def test_back_and_forward_between_two_searches_keep_box_and_results_together(
    marketer_page, browser_channels
):
    page = marketer_page
    _segments(browser_channels["email"])
    page.goto("/channels/email/segments/")
    box = page.get_by_label("Search", exact=True)
    rows = page.locator("#segment-results tbody tr")
    box.fill("alp")
    expect(page).to_have_url(re.compile(r"q=alp(&|$)"))
    wait_for_htmx(page)
    box.fill("beta")
    expect(page).to_have_url(re.compile(r"q=beta(&|$)"))
    wait_for_htmx(page)
    expect(rows).to_have_count(1)

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=alp(&|$)"))
    expect(box).to_have_value("alp")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Alp")

    page.go_forward()
    expect(page).to_have_url(re.compile(r"q=beta(&|$)"))
    expect(box).to_have_value("beta")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Beta testers")


def test_campaign_filters_follow_back_and_forward(marketer_page, browser_channels):
    page = marketer_page
    email, sms = browser_channels["email"], browser_channels["sms"]
    make_campaign(email, name="Email spring sale", status="draft")
    make_campaign(sms, name="SMS flash sale", status="draft")
    page.goto("/campaigns/")
    channel = page.locator("#id_channel")
    search = page.get_by_label("Search by name")
    results = page.locator("#campaign-results")

    channel.select_option(label="SMS")
    expect(page).to_have_url(re.compile(r"channel=sms"))
    wait_for_htmx(page)
    expect(results).not_to_contain_text("Email spring sale")
    search.fill("flash")
    expect(page).to_have_url(re.compile(r"q=flash"))
    wait_for_htmx(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"channel=sms(?!.*q=flash)"))
    expect(search).to_have_value("")
    expect(channel).to_have_value("sms")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    expect(channel).to_have_value("")
    expect(results).to_contain_text("Email spring sale")
    expect(results).to_contain_text("SMS flash sale")

    page.go_forward()
    expect(channel).to_have_value("sms")
    expect(results).not_to_contain_text("Email spring sale")

    # Another page, then Back: the whole list page with its filters, not the results alone.
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.go_back()
    expect(page.locator("header.topbar")).to_be_visible()
    expect(channel).to_have_value("sms")
    expect(results).to_contain_text("SMS flash sale")


def test_audience_search_follows_back(marketer_page, browser_channels):
    page = marketer_page
    email = browser_channels["email"]
    vip = make_segment(email, name="VIP")
    make_audience(email, name="Loyal fans", include=[vip])
    make_audience(email, name="Lapsed buyers", include=[vip])
    page.goto("/channels/email/audiences/")
    box = page.get_by_label("Search audiences by name")
    results = page.locator("#audience-results")
    box.fill("loyal")
    expect(page).to_have_url(re.compile(r"q=loyal"))
    wait_for_htmx(page)
    box.fill("lapsed")
    expect(page).to_have_url(re.compile(r"q=lapsed"))
    wait_for_htmx(page)
    expect(results).not_to_contain_text("Loyal fans")

    page.go_back()
    expect(box).to_have_value("loyal")
    expect(results).to_contain_text("Loyal fans")
    expect(results).not_to_contain_text("Lapsed buyers")


def test_back_when_htmx_has_no_snapshot_loads_the_whole_page(marketer_page, browser_channels):
    page = marketer_page
    _segments(browser_channels["email"])
    page.goto("/channels/email/segments/")
    box = page.get_by_label("Search", exact=True)
    box.fill("alp")
    expect(page).to_have_url(re.compile(r"q=alp(&|$)"))
    wait_for_htmx(page)
    box.fill("beta")
    expect(page).to_have_url(re.compile(r"q=beta(&|$)"))
    wait_for_htmx(page)
    page.evaluate("() => localStorage.clear()")  # htmx's history snapshots are gone

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=alp(&|$)"))
    wait_for_htmx(page)
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(box).to_have_value("alp")
    expect(page.locator("#segment-results tbody tr")).to_have_count(2)


def test_calendar_month_survives_another_page_and_back(marketer_page, browser_channels):
    page = marketer_page
    page.goto("/campaigns/calendar/?month=2026-11")
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"month=2026-12"))
    wait_for_htmx(page)
    page.get_by_label("Channel").select_option(label="SMS")
    expect(page).to_have_url(re.compile(r"channel=sms"))
    wait_for_htmx(page)
    page.get_by_role("link", name="Campaigns", exact=True).click()
    expect(page.get_by_role("heading", name="Campaigns", level=1)).to_be_visible()

    page.go_back()
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("December 2026"))).to_be_visible()
    expect(page.get_by_label("Channel")).to_have_value("sms")
    page.go_back()
    expect(page.get_by_label("Channel")).to_have_value("")
    expect(page.get_by_role("heading", name=re.compile("December 2026"))).to_be_visible()
