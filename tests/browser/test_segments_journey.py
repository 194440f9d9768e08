"""A marketer manages the Email channel's segments from the Segments tab."""

import re

from playwright.sync_api import expect

from segments.models import Segment
from tests.factories import make_audience


def _add(page, name: str, segment_id: str, *, another: bool) -> None:
    page.get_by_label("Segment name").fill(name)
    page.get_by_label("Segment ID").fill(segment_id)
    button = "Add and add another" if another else "Add segment"
    page.get_by_role("button", name=button, exact=True).click()


def test_marketer_manages_segments(marketer_page, browser_channels, accept_dialogs):
    page = marketer_page
    email = browser_channels["email"]

    page.goto("/channels/email/segments/")
    expect(page.get_by_role("heading", name="No segments in Email yet")).to_be_visible()
    page.get_by_role("link", name="Add segment").first.click()

    # Add three segments; a duplicate ID is refused with a link to the segment that has it.
    _add(page, "VIP buyers", "KL-100", another=True)
    expect(page.get_by_text("Added “VIP buyers” to Email.")).to_be_visible()
    _add(page, "Lapsed buyers", "KL-200", another=True)
    _add(page, "Newsletter openers", "KL-100", another=True)
    expect(page.get_by_text("This Segment ID is already used by")).to_be_visible()
    expect(page.get_by_role("link", name="VIP buyers")).to_be_visible()
    expect(page.get_by_label("Segment name")).to_have_value("Newsletter openers")
    page.get_by_label("Segment ID").fill("KL-300")
    page.get_by_label("Link").fill("https://www.klaviyo.com/list/KL-300")
    page.get_by_role("button", name="Add segment", exact=True).click()
    expect(page).to_have_url(re.compile(r"/channels/email/segments/\?q=KL-300$"))

    # Search as you type, by ID (the exact ID first) and by name; the URL follows.
    search = page.get_by_label("Search")
    search.fill("KL-200")
    expect(page).to_have_url(re.compile(r"q=KL-200"))
    rows = page.locator("#segment-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lapsed buyers")
    search.fill("buyers")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=buyers"))
    search.fill("no such segment")
    expect(page.get_by_role("heading", name="No segments match “no such segment”")).to_be_visible()
    page.get_by_role("link", name="Clear search").click()
    expect(rows).to_have_count(3)
    expect(search).to_have_value("")

    # Back returns to the previous search.
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=no\+such\+segment|q=no%20such%20segment"))

    page.goto("/channels/email/segments/")
    # Toggle one inactive from its row (htmx swaps just the row).
    row = page.locator("tr", has_text="Newsletter openers")
    row.get_by_role("button", name="Make Newsletter openers inactive").click()
    expect(row.get_by_text("Inactive", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="Make Newsletter openers active")).to_be_visible()
    expect(page.get_by_text("“Newsletter openers” is now inactive.")).to_be_visible()

    # Bulk-deactivate two.
    page.get_by_label("Select VIP buyers").check()
    page.get_by_label("Select Lapsed buyers").check()
    expect(page.get_by_text("2 selected on this page.")).to_be_visible()
    page.get_by_role("button", name="Deactivate", exact=True).click()
    expect(page.get_by_text("Deactivated 2 segments.")).to_be_visible()
    assert not Segment.objects.filter(channel=email, is_active=True).exists()

    # Copy one to SMS.
    page.get_by_label("Select VIP buyers").check()
    page.get_by_label("Copy to channel").select_option(label="SMS")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied 1 segment to SMS.")).to_be_visible()
    assert Segment.objects.filter(channel__slug="sms", external_id="KL-100").exists()

    # Try to delete one that an audience uses: refused, with the audience and a way out.
    vip = Segment.objects.get(channel=email, external_id="KL-100")
    make_audience(email, name="Big spenders", include=[vip])
    page.reload()
    page.locator("tr", has_text="VIP buyers").get_by_role("link", name="Delete VIP buyers").click()
    expect(page.get_by_role("heading", name="“VIP buyers” cannot be deleted")).to_be_visible()
    expect(page.get_by_text("Big spenders")).to_be_visible()
    expect(page.get_by_role("button", name="Delete segment")).to_have_count(0)
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="VIP buyers")).to_be_visible()
    expect(page.get_by_text("Big spenders")).to_be_visible()

    # Delete an unused one, after the warning about Klaviyo.
    page.goto("/channels/email/segments/")
    row = page.locator("tr", has_text="Newsletter openers")
    row.get_by_role("link", name="Delete Newsletter openers").click()
    expect(page.get_by_text("a Klaviyo sync may bring it back")).to_be_visible()
    page.get_by_role("button", name="Delete segment").click()
    expect(page.get_by_text("Deleted “Newsletter openers”.")).to_be_visible()
    expect(page.locator("#segment-results tbody tr")).to_have_count(2)
    assert not Segment.objects.filter(name="Newsletter openers").exists()


def test_search_works_without_javascript(browser, live_server, browser_channels, browser_marketer):
    from tests.browser.conftest import log_in

    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        Segment.objects.create(
            channel=browser_channels["email"], name="Plain one", external_id="P1"
        )
        Segment.objects.create(channel=browser_channels["email"], name="Other", external_id="O1")
        log_in(page, browser_marketer.username)
        page.goto("/channels/email/segments/")
        page.get_by_label("Search").fill("plain")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"q=plain"))
        expect(page.locator("#segment-results tbody tr")).to_have_count(1)
        # Toggle without JavaScript: a plain POST that comes back to the same search.
        page.get_by_role("button", name="Make Plain one inactive").click()
        expect(page).to_have_url(re.compile(r"q=plain"))
        expect(page.get_by_text("“Plain one” is now inactive.")).to_be_visible()
    finally:
        context.close()
