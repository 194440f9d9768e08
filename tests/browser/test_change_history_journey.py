"""Two Marketers change one audience; the second puts back the first's version from the
History tab; a Viewer reads the history and has no Restore button."""

import re

import pytest
from playwright.sync_api import expect

from audiences.models import Audience
from tests.browser.conftest import PageProblems, checked_page, log_in
from tests.browser.test_two_users import pick
from tests.factories import make_audience, make_marketer, make_segment, make_viewer


@pytest.fixture
def vip_audience(browser_channels):
    email = browser_channels["email"]
    segments = {
        name: make_segment(email, name=name)
        for name in ["VIP", "Unsubscribed 90d", "Bounced", "Churn risk"]
    }
    return make_audience(
        email,
        name="VIP Customers",
        include=[segments["VIP"]],
        exclude=[segments["Unsubscribed 90d"]],
    )


@pytest.fixture
def second_page(browser, live_server, browser_channels):
    marketer = make_marketer("second-marketer")
    with checked_page(browser, live_server.url, PageProblems()) as page:
        log_in(page, marketer.username)
        yield page


def test_the_second_marketer_restores_the_first_ones_version(
    marketer_page,
    second_page,
    vip_audience,
    browser,
    live_server,
):
    ann, ben = marketer_page, second_page
    edit_url = f"/channels/email/audiences/{vip_audience.pk}/edit/"
    ann.goto(edit_url)
    pick(ann, "bounc", "Exclude Bounced")
    ann.get_by_role("button", name="Save audience").click()
    expect(ann.get_by_text("Audience “VIP Customers” saved.")).to_be_visible()

    ben.goto(edit_url)
    pick(ben, "churn", "Exclude Churn risk")
    ben.get_by_role("button", name="Save audience").click()
    expect(ben.get_by_text("Audience “VIP Customers” saved.")).to_be_visible()

    ben.get_by_role("link", name="History").click()
    entries = ben.locator(".history-entry")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("Exclusions: added Churn risk")
    expect(entries.first).to_contain_text("second-marketer")
    anns = entries.filter(has_text="Exclusions: added Bounced")
    expect(anns).to_contain_text("browser-marketer")
    ben.on("dialog", lambda dialog: dialog.accept())
    anns.get_by_role("button", name="Restore this targeting").click()
    expect(ben.get_by_text("Restored the targeting of “VIP Customers”.")).to_be_visible()
    expect(entries).to_have_count(3)
    expect(entries.first).to_contain_text("Restored")
    expect(entries.first).to_contain_text("Exclusions: removed Churn risk")
    audience = Audience.objects.get(pk=vip_audience.pk)
    assert set(audience.exclusion_segments.values_list("name", flat=True)) == {
        "Unsubscribed 90d",
        "Bounced",
    }

    viewer = make_viewer("history-viewer")
    with checked_page(browser, live_server.url, PageProblems()) as page:
        log_in(page, viewer.username)
        page.goto(f"/channels/email/audiences/{vip_audience.pk}/")
        page.get_by_role("link", name="History").click()
        expect(page.locator(".history-entry")).to_have_count(3)
        expect(page.locator(".history-entry").first).to_contain_text(
            re.compile(r"Restored the targeting saved .* by browser-marketer")
        )
        expect(page.get_by_role("button", name="Restore this targeting")).to_have_count(0)
        page.get_by_label("Person").select_option("browser-marketer")
        expect(page.locator(".history-entry")).to_have_count(1)
        expect(page).to_have_url(re.compile(r"person=browser-marketer"))
