"""The campaign form's dead ends, as a marketer meets them: channel change, removed segments,
clone."""

import re

from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.browser.conftest import wait_for_htmx
from tests.factories import make_audience, make_segment


def _email_audience(email):
    vip = make_segment(email, name="VIP")
    repeat = make_segment(email, name="Repeat buyers")
    make_segment(email, name="Churn risk")
    return make_audience(email, name="VIP Customers", include=[vip, repeat])


def test_changing_the_channel_asks_sets_aside_and_restores(marketer_page, browser_channels):
    page = marketer_page
    _email_audience(browser_channels["email"])
    make_segment(browser_channels["sms"], name="SMS VIP")
    dialogs = []
    answers = iter([False, True, True])

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto("/campaigns/new/")
    page.get_by_label("Audience").select_option(label="VIP Customers")
    wait_for_htmx(page)
    selected = page.locator("[data-picker-selected] [data-picker-row]")
    expect(selected).to_have_count(2)
    search = page.get_by_label(re.compile("Search Email segments"))
    search.fill("churn")
    wait_for_htmx(page)
    channel = page.get_by_label("Channel")

    # Cancel: nothing changes, and the channel box still says Email.
    channel.select_option(label="SMS")
    expect(channel).to_have_value("email")
    expect(selected).to_have_count(2)
    assert "Change the channel?" in dialogs[0]

    # OK: the SMS picker, its search empty, and a sentence with the right article.
    channel.select_option(label="SMS")
    wait_for_htmx(page)
    sms_search = page.get_by_label(re.compile("Search SMS segments"))
    expect(sms_search).to_have_value("")
    expect(page.locator(".picker-results")).to_contain_text("SMS VIP")
    expect(selected).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text(
        "Set aside 2 segments of Email: an SMS campaign uses SMS segments only."
    )

    # Back to Email: the audience and its segments come back.
    channel.select_option(label="Email")
    wait_for_htmx(page)
    expect(page.get_by_label("Audience")).to_have_value(re.compile(r"\d+"))
    expect(selected).to_have_count(2)
    expect(selected.first).to_contain_text("from audience")
    expect(page.locator("#messages")).to_contain_text("Brought back the 2 segments of Email")
    assert len(dialogs) == 2  # nothing was picked on SMS, so switching back did not ask
    assert not Campaign.objects.exists()


def test_removed_audience_segments_show_struck_through_and_restore(
    marketer_page, browser_channels, browser_marketer
):
    from campaigns import services

    page = marketer_page
    email = browser_channels["email"]
    audience = _email_audience(email)
    vip = audience.inclusion_segments.get(name="VIP")
    campaign = services.campaign_create(
        user=browser_marketer,
        channel=email,
        name="Spring",
        audience=audience,
        inclusion_ids=[vip.pk],
        exclusion_ids=[],
    )
    page.goto(f"/campaigns/{campaign.pk}/edit/")
    removed = page.locator("[data-picker-removed] [data-picker-row]")
    expect(removed).to_have_count(1)
    row = removed.first
    expect(row).to_contain_text("Repeat buyers")
    expect(row).to_contain_text("removed for this campaign")
    expect(row.locator(".picker-segment")).to_have_css("text-decoration-line", "line-through")

    row.get_by_role("button", name="Restore Repeat buyers").click()
    selected = page.locator("[data-picker-selected] [data-picker-row]", has_text="Repeat buyers")
    expect(selected).to_contain_text("from audience")
    expect(selected.get_by_label(re.compile("Include"))).to_be_checked()
    expect(selected.get_by_role("button", name="Restore Repeat buyers")).to_be_hidden()
    expect(page.locator("[data-picker-removed-section]")).to_be_hidden()

    # Unticking a pre-filled one strikes it through and offers Restore again.
    vip_row = page.locator("[data-picker-selected] [data-picker-row]", has_text="VIP")
    expect(vip_row.get_by_role("button", name="Restore VIP")).to_be_hidden()
    vip_row.get_by_label(re.compile("Include")).uncheck()
    expect(vip_row).to_contain_text("removed for this campaign")
    expect(vip_row.get_by_role("button", name="Restore VIP")).to_be_visible()
    vip_row.get_by_role("button", name="Restore VIP").click()
    expect(vip_row).to_contain_text("from audience")
    expect(vip_row.locator(".picker-segment")).not_to_have_css(
        "text-decoration-line", "line-through"
    )

    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("heading", name="Spring")).to_be_visible()
    assert set(campaign.inclusion_segments.values_list("name", flat=True)) == {
        "VIP",
        "Repeat buyers",
    }


def test_duplicate_a_campaign_creates_only_on_save(marketer_page, browser_channels):
    from campaigns import services

    page = marketer_page
    email = browser_channels["email"]
    audience = _email_audience(email)
    vip = audience.inclusion_segments.get(name="VIP")
    campaign = services.campaign_create(
        user=None, channel=email, name="Spring", audience=audience, inclusion_ids=[vip.pk]
    )
    page.goto(f"/campaigns/{campaign.pk}/")
    page.get_by_role("link", name="Duplicate").click()
    expect(page.get_by_role("heading", name="Duplicate “Spring”")).to_be_visible()
    expect(page.locator("#id_name")).to_have_value("Spring (copy)")
    expect(page.locator("[data-picker-selected] [data-picker-row]")).to_have_count(1)
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Spring", exact=True)).to_be_visible()
    assert Campaign.objects.count() == 1

    page.get_by_role("link", name="Duplicate").click()
    page.locator("#id_name").fill("Spring again")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("heading", name="Spring again")).to_be_visible()
    copy = Campaign.objects.get(name="Spring again")
    assert list(copy.inclusion_segments.all()) == [vip]
    assert Campaign.objects.count() == 2


def test_clone_an_audience_creates_only_on_save(marketer_page, browser_channels):
    from audiences.models import Audience

    page = marketer_page
    audience = _email_audience(browser_channels["email"])
    page.goto(f"/channels/email/audiences/{audience.pk}/")
    page.get_by_role("link", name="Clone").click()
    expect(page.get_by_role("heading", name="Clone “VIP Customers”")).to_be_visible()
    expect(page.locator("#id_name")).to_have_value("VIP Customers (copy)")
    expect(page.locator("[data-picker-selected] [data-picker-row]")).to_have_count(2)
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="VIP Customers")).to_be_visible()
    assert Audience.objects.count() == 1

    page.get_by_role("link", name="Clone").click()
    page.get_by_role("button", name="Create audience").click()
    expect(page.get_by_role("heading", name="VIP Customers (copy)")).to_be_visible()
    assert Audience.objects.count() == 2


def test_cancelling_another_audience_keeps_the_one_shown(marketer_page, browser_channels):
    page = marketer_page
    email = browser_channels["email"]
    _email_audience(email)
    make_audience(email, name="Newsletter readers", include=[make_segment(email, name="News")])
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto("/campaigns/new/")
    audience = page.get_by_label("Audience")
    audience.select_option(label="VIP Customers")
    wait_for_htmx(page)
    selected = page.locator("[data-picker-selected] [data-picker-row]")
    expect(selected).to_have_count(2)

    audience.select_option(label="Newsletter readers")
    expect(audience.locator("option:checked")).to_have_text("VIP Customers")
    expect(selected).to_have_count(2)
    assert dialogs and "Replace the segments" in dialogs[0]
