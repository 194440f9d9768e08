"""Two Marketers edit the same audience or campaign: the second save from an old form is refused,
shows the other person's version and keeps what was typed; saving again is a knowing decision.
A double click on Save is one person saving once, never a conflict with themselves."""

import re

import pytest
from playwright.sync_api import expect

from audiences.models import Audience
from campaigns import services as campaign_services
from campaigns.models import Campaign
from tests.browser.conftest import PageProblems, checked_page, log_in, wait_for_htmx
from tests.factories import make_audience, make_marketer, make_segment

SOMEONE_ELSE = re.compile("was changed by someone else meanwhile")
SAVED_ONCE = "your changes were saved once"


@pytest.fixture
def second_page(browser, live_server, browser_channels):
    """A second Marketer in a browser context of their own, checked like the `page` fixture."""
    marketer = make_marketer("second-marketer")
    with checked_page(browser, live_server.url, PageProblems()) as page:
        log_in(page, marketer.username)
        yield page


@pytest.fixture
def email_segments(browser_channels):
    email = browser_channels["email"]
    names = ["VIP", "Repeat buyers", "Unsubscribed 90d", "Bounced", "Churn risk"]
    return {
        name: make_segment(email, name=name, external_id=f"e-{i}") for i, name in enumerate(names)
    }


@pytest.fixture
def vip_audience(browser_channels, email_segments):
    return make_audience(
        browser_channels["email"],
        name="VIP Customers",
        estimated_volume=12_500,
        include=[email_segments["VIP"], email_segments["Repeat buyers"]],
        exclude=[email_segments["Unsubscribed 90d"]],
    )


def pick(page, query: str, label: str) -> None:
    """Search the picker for one segment and tick one of its choices ("Exclude Bounced")."""
    page.get_by_role("searchbox", name=re.compile("Search Email segments")).fill(query)
    results = page.locator(".picker-results [data-picker-row]")
    expect(results).to_have_count(1)  # the search answered: only the segment searched for
    results.get_by_role("checkbox", name=label).check()
    selected = page.locator("[data-picker-selected]")
    expect(selected.get_by_role("checkbox", name=label)).to_be_checked()
    wait_for_htmx(page)


def names(segments) -> set[str]:
    return set(segments.values_list("name", flat=True))


def test_second_audience_save_from_an_old_form_is_refused_and_keeps_the_input(
    marketer_page, second_page, vip_audience
):
    ann, ben = marketer_page, second_page
    edit_url = f"/channels/email/audiences/{vip_audience.pk}/edit/"
    ann.goto(edit_url)
    ben.goto(edit_url)
    expect(ben.get_by_role("textbox", name="Name")).to_have_value("VIP Customers")

    ann.get_by_role("textbox", name="Name").fill("VIP Customers spring")
    ann.get_by_role("button", name="Save audience").click()
    expect(ann.get_by_text("Audience “VIP Customers spring” saved.")).to_be_visible()

    # Ben still has the form as it was before Ann saved; he changes other things.
    ben.get_by_role("textbox", name="Estimated volume").fill("14,000")
    pick(ben, "bounc", "Exclude Bounced")
    ben.get_by_role("button", name="Save audience").click()

    conflict = ben.locator(".conflict")
    expect(conflict).to_contain_text(
        "“VIP Customers spring” was changed by someone else meanwhile (browser-marketer"
    )
    expect(conflict).to_contain_text("It is now version 2; your changes were not saved.")
    expect(conflict.locator(".definition")).to_have_text(
        "Contacts in Repeat buyers or VIP, except those in Unsubscribed 90d"
    )
    expect(conflict).to_contain_text("Estimated volume: 12,500.")
    # What Ben typed and picked is all still in his form.
    expect(ben.get_by_role("textbox", name="Name")).to_have_value("VIP Customers")
    expect(ben.get_by_role("textbox", name="Estimated volume")).to_have_value("14,000")
    selected = ben.locator("[data-picker-selected]")
    for label in ("Include VIP", "Include Repeat buyers", "Exclude Unsubscribed 90d"):
        expect(selected.get_by_role("checkbox", name=label)).to_be_checked()
    expect(selected.get_by_role("checkbox", name="Exclude Bounced")).to_be_checked()
    expect(ben.locator('[data-picker-count="include"]')).to_have_text("2")
    expect(ben.locator('[data-picker-count="exclude"]')).to_have_text("2")

    # Ann's change stands; nothing of Ben's was written.
    audience = Audience.objects.get(pk=vip_audience.pk)
    assert (audience.name, audience.estimated_volume, audience.version) == (
        "VIP Customers spring",
        12_500,
        2,
    )
    assert names(audience.exclusion_segments) == {"Unsubscribed 90d"}

    # Ben reviews their version, takes Ann's name, keeps his own changes and saves again.
    ben.get_by_role("textbox", name="Name").fill("VIP Customers spring")
    ben.get_by_role("button", name="Save audience").click()
    expect(ben.get_by_text("Audience “VIP Customers spring” saved.")).to_be_visible()
    expect(ben.locator(".definition")).to_have_text(
        "Contacts in Repeat buyers or VIP, except those in Bounced or Unsubscribed 90d"
    )
    expect(ben.get_by_text("14,000 contacts")).to_be_visible()
    audience.refresh_from_db()
    assert (audience.name, audience.estimated_volume, audience.version) == (
        "VIP Customers spring",
        14_000,
        3,
    )
    assert audience.updated_by.username == "second-marketer"
    assert names(audience.exclusion_segments) == {"Bounced", "Unsubscribed 90d"}

    # Ann sees the result of Ben's decision.
    ann.reload()
    expect(ann.locator(".definition")).to_have_text(
        "Contacts in Repeat buyers or VIP, except those in Bounced or Unsubscribed 90d"
    )


@pytest.fixture
def spring_campaign(browser_channels, email_segments, vip_audience, browser_marketer):
    return campaign_services.campaign_create(
        user=browser_marketer,
        channel=browser_channels["email"],
        name="Spring sale",
        audience=vip_audience,
        inclusion_ids=[email_segments["VIP"].pk, email_segments["Repeat buyers"].pk],
        exclusion_ids=[email_segments["Unsubscribed 90d"].pk],
    )


def test_second_campaign_save_from_an_old_form_is_refused_and_keeps_the_input(
    marketer_page, second_page, spring_campaign
):
    ann, ben = marketer_page, second_page
    edit_url = f"/campaigns/{spring_campaign.pk}/edit/"
    ann.goto(edit_url)
    ben.goto(edit_url)
    expect(ben.locator("#id_name")).to_have_value("Spring sale")

    ann.get_by_label("Status").select_option(label="Scheduled")
    ann.get_by_label("Send time").fill("2026-12-04T09:00")
    ann.locator("[data-picker-selected]").get_by_role(
        "checkbox", name="Include Repeat buyers"
    ).uncheck()
    ann.get_by_role("button", name="Save campaign").click()
    expect(ann.get_by_text("Campaign “Spring sale” saved.")).to_be_visible()

    # Ben, on the form opened before Ann saved, writes notes and adds an exclusion.
    ben.get_by_label("Notes").fill("Subject line approved by legal.")
    pick(ben, "churn", "Exclude Churn risk")
    ben.get_by_role("button", name="Save campaign").click()

    conflict = ben.locator(".conflict")
    expect(conflict).to_contain_text(
        "“Spring sale” was changed by someone else meanwhile (browser-marketer)"
    )
    expect(conflict).to_contain_text("Your changes were not saved and are still below.")
    expect(conflict).to_contain_text(
        "Their version: Scheduled, send time 4 Dec 2026, 09:00 UTC, audience “VIP Customers”."
    )
    expect(conflict).to_contain_text(
        "Their targeting: Contacts in VIP, except those in Unsubscribed 90d."
    )
    expect(conflict).to_contain_text("Their notes: none.")
    expect(ben.get_by_label("Notes")).to_have_value("Subject line approved by legal.")
    expect(ben.get_by_label("Status")).to_have_value("draft")
    expect(ben.get_by_label("Send time")).to_have_value("")
    selected = ben.locator("[data-picker-selected]")
    expect(selected.get_by_role("checkbox", name="Exclude Churn risk")).to_be_checked()
    expect(selected.get_by_role("checkbox", name="Include VIP")).to_be_checked()
    expect(selected.get_by_role("checkbox", name="Include Repeat buyers")).to_be_checked()
    expect(selected.locator("[data-picker-row]", has_text="VIP")).to_contain_text("from audience")
    expect(ben.locator('[data-picker-count="include"]')).to_have_text("2")
    expect(ben.locator('[data-picker-count="exclude"]')).to_have_text("2")

    campaign = Campaign.objects.get(pk=spring_campaign.pk)
    assert campaign.status == Campaign.Status.SCHEDULED and campaign.send_at is not None
    assert campaign.notes == "" and campaign.version == 2
    assert names(campaign.inclusion_segments) == {"VIP"}
    assert names(campaign.exclusion_segments) == {"Unsubscribed 90d"}

    # Ben decides to take Ann's schedule and removal as well as his own changes, and saves.
    ben.get_by_label("Status").select_option(label="Scheduled")
    ben.get_by_label("Send time").fill("2026-12-04T09:00")
    selected.get_by_role("checkbox", name="Include Repeat buyers").uncheck()
    ben.get_by_role("button", name="Save campaign").click()
    expect(ben.get_by_text("Campaign “Spring sale” saved.")).to_be_visible()
    expect(ben.locator(".details").first).to_contain_text("Subject line approved by legal.")
    expect(ben.locator(".definition")).to_contain_text(
        "Contacts in VIP, except those in Churn risk or Unsubscribed 90d."
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED and campaign.version == 3
    assert campaign.notes == "Subject line approved by legal."
    assert campaign.updated_by.username == "second-marketer"
    assert names(campaign.inclusion_segments) == {"VIP"}
    assert names(campaign.exclusion_segments) == {"Churn risk", "Unsubscribed 90d"}


def form_fields(page, form) -> str:
    """The form exactly as the browser would send it, url-encoded."""
    return form.evaluate("f => new URLSearchParams(new FormData(f)).toString()")


def send_again(page, form) -> None:
    """Send a copy of the form's POST outside the page, as a first click whose answer the
    browser never showed (the page's click guard had not caught it)."""
    response = page.request.post(
        page.url,
        data=form_fields(page, form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        max_redirects=0,
    )
    assert response.status == 302, response.status


def test_double_click_on_save_audience_is_one_save(marketer_page, vip_audience):
    page = marketer_page
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"/channels/email/audiences/{vip_audience.pk}/edit/")
    page.get_by_role("textbox", name="Estimated volume").fill("13000")
    page.get_by_role("button", name="Save audience").dblclick()
    expect(page.get_by_text("Audience “VIP Customers” saved.")).to_be_visible()
    expect(page.get_by_text("13,000 contacts")).to_be_visible()
    expect(page.get_by_text(SOMEONE_ELSE)).to_have_count(0)
    assert len(posts) == 1, posts
    assert Audience.objects.get(pk=vip_audience.pk).version == 2

    # Two identical POSTs that both reach the app: the second is not a conflict with oneself.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_role("textbox", name="Estimated volume").fill("13500")
    send_again(page, page.locator("form.audience-form"))
    page.get_by_role("button", name="Save audience").click()
    expect(page.get_by_role("heading", name="VIP Customers")).to_be_visible()
    expect(page.get_by_text(SAVED_ONCE)).to_be_visible()
    expect(page.get_by_text("13,500 contacts")).to_be_visible()
    expect(page.get_by_text(SOMEONE_ELSE)).to_have_count(0)
    assert Audience.objects.get(pk=vip_audience.pk).version == 3


def test_double_click_on_save_campaign_is_one_save(marketer_page, spring_campaign):
    page = marketer_page
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"/campaigns/{spring_campaign.pk}/edit/")
    page.get_by_label("Notes").fill("First draft of the copy.")
    page.get_by_role("button", name="Save campaign").dblclick()
    expect(page.get_by_text("Campaign “Spring sale” saved.")).to_be_visible()
    expect(page.get_by_text(SOMEONE_ELSE)).to_have_count(0)
    assert len(posts) == 1, posts
    assert Campaign.objects.get(pk=spring_campaign.pk).version == 2

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Notes").fill("Second draft of the copy.")
    send_again(page, page.locator("form.campaign-form"))
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("heading", name="Spring sale")).to_be_visible()
    expect(page.get_by_text(SAVED_ONCE)).to_be_visible()
    expect(page.locator(".details").first).to_contain_text("Second draft of the copy.")
    expect(page.get_by_text(SOMEONE_ELSE)).to_have_count(0)
    campaign = Campaign.objects.get(pk=spring_campaign.pk)
    assert campaign.version == 3 and campaign.notes == "Second draft of the copy."
