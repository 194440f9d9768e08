import re

from playwright.sync_api import expect

from tests.factories import PASSWORD, make_segment


def _segments(channels):
    email = channels["email"]
    for name in ("VIP", "Repeat buyers", "Unsubscribed 90d", "Bounced", "Newsletter"):
        make_segment(email, name=name)
    for i in range(30):
        make_segment(email, name=f"Other segment {i:02d}")
    make_segment(channels["sms"], name="SMS only VIP")


def definition(page):
    return page.locator(".definition").first


def test_build_clone_adjust_and_delete_an_audience(marketer_page, browser_channels, accept_dialogs):
    page = marketer_page
    _segments(browser_channels)
    page.goto("/channels/email/audiences/")
    expect(page.get_by_role("heading", name="No Email audiences yet")).to_be_visible()
    page.get_by_role("link", name="New audience").click()

    page.get_by_role("textbox", name="Name").fill("VIP Customers")
    page.get_by_role("textbox", name="Estimated volume").fill("12500")
    search = page.get_by_role("searchbox", name=re.compile("Search Email segments"))
    results = page.locator("#picker-segments-results")
    selected = page.locator("#picker-segments-selected")

    search.fill("vip")
    expect(results.get_by_text("Other segment 00")).to_have_count(0)
    expect(results.get_by_text("SMS only VIP")).to_have_count(0)  # another channel
    results.get_by_role("checkbox", name="Include VIP").check()
    expect(selected.get_by_role("checkbox", name="Include VIP")).to_be_checked()

    # Keyboard only: type, Enter searches (and does not submit), Tab to the row, Space marks it.
    search.fill("")
    search.type("repeat")
    search.press("Enter")
    expect(results.locator("[data-picker-row]")).to_have_count(1)
    results.get_by_role("checkbox", name="Include Repeat buyers").focus()
    page.keyboard.press("Space")
    expect(selected.get_by_role("checkbox", name="Include Repeat buyers")).to_be_checked()

    search.fill("unsub")
    results.get_by_role("checkbox", name="Exclude Unsubscribed 90d").check()
    expect(page.locator('[data-picker-count="include"]')).to_have_text("2")
    expect(page.locator('[data-picker-count="exclude"]')).to_have_text("1")
    expect(page).to_have_url(re.compile(r"/audiences/new/$"))  # nothing submitted so far

    page.get_by_role("button", name="Create audience").click()
    expect(page.get_by_role("heading", name="VIP Customers")).to_be_visible()
    expect(definition(page)).to_have_text(
        "Contacts in Repeat buyers or VIP, except those in Unsubscribed 90d"
    )
    expect(page.get_by_text("12,500 contacts")).to_be_visible()

    page.get_by_role("link", name="Clone").click()
    expect(page.get_by_role("heading", name="Clone “VIP Customers”")).to_be_visible()
    expect(page.get_by_role("textbox", name="Name")).to_have_value("VIP Customers (copy)")
    # Swap the exclusion: drop Unsubscribed 90d, exclude Bounced instead.
    page.get_by_role("checkbox", name="Exclude Unsubscribed 90d").uncheck()
    search.fill("bounc")
    results.get_by_role("checkbox", name="Exclude Bounced").check()
    page.get_by_role("textbox", name="Name").fill("VIP Customers without bounces")
    page.get_by_role("button", name="Create audience").click()
    expect(definition(page)).to_have_text(
        "Contacts in Repeat buyers or VIP, except those in Bounced"
    )

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_text("No campaign uses this audience.")).to_be_visible()
    page.get_by_role("button", name="Delete audience").click()
    expect(page.get_by_text("Audience “VIP Customers without bounces” deleted.")).to_be_visible()
    rows = page.locator(".audience-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("VIP Customers")
    expect(rows.first).to_contain_text("12,500")

    # The list search narrows with htmx and keeps the query in the URL.
    page.get_by_role("searchbox", name="Search audiences by name").fill("zzz")
    expect(page.get_by_text("No audience matches “zzz”")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?q=zzz$"))


def test_the_picker_works_without_javascript(
    browser, live_server, browser_channels, browser_marketer
):
    _segments(browser_channels)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(browser_marketer.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/channels/email/audiences/new/")
        page.get_by_role("textbox", name="Name").fill("No script")
        search = page.get_by_role("searchbox", name=re.compile("Search Email segments"))
        search.fill("vip")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.get_by_role("textbox", name="Name")).to_have_value("No script")
        page.get_by_role("checkbox", name="Include VIP").check()
        search.fill("newsl")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.get_by_role("checkbox", name="Include VIP")).to_be_checked()
        page.get_by_role("checkbox", name="Exclude Newsletter").check()
        page.get_by_role("button", name="Create audience").click()
        expect(page.locator(".definition")).to_have_text(
            "Contacts in VIP, except those in Newsletter"
        )
    finally:
        context.close()
