import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in


def test_log_in_switch_channel_and_log_out(page, browser_channels, browser_marketer):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    log_in(page, browser_marketer.username)
    expect(page.get_by_role("heading", name="Channels")).to_be_visible()
    for name in ("Email", "SMS", "Meta"):
        expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_text("No segments yet").first).to_be_visible()

    page.locator("summary", has_text="Channels").click()
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="SMS", exact=True).click()
    expect(page).to_have_url(re.compile(r"/channels/sms/segments/$"))
    expect(page.locator(".channelbar-name")).to_have_text("SMS")

    page.locator("summary", has_text="Channel: SMS").click()
    nav.get_by_role("link", name="Meta", exact=True).click()
    expect(page).to_have_url(re.compile(r"/channels/meta/segments/$"))

    page.locator("summary", has_text=browser_marketer.username).click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_wrong_password_shows_a_message(page, browser_channels, browser_marketer):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(browser_marketer.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
