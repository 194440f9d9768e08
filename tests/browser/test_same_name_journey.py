"""A second segment with a name the channel already has: added, with a warning that says how
to tell the two apart."""

import re

from playwright.sync_api import expect

from segments.models import Segment
from tests.factories import make_segment


def test_adding_and_renaming_onto_a_taken_name_warns_but_saves(marketer_page, browser_channels):
    page = marketer_page
    email = browser_channels["email"]
    make_segment(email, name="VIP buyers", external_id="KL-100")
    other = make_segment(email, name="Lapsed buyers")

    page.goto("/channels/email/segments/add/")
    page.get_by_label("Segment name").fill("VIP buyers")
    page.get_by_role("button", name="Add segment", exact=True).click()
    warning = page.locator(".message-warning")
    expect(warning).to_contain_text(
        "Another Email segment is also called “VIP buyers” (Segment ID KL-100). Both are kept"
    )
    assert Segment.objects.filter(channel=email, name="VIP buyers").count() == 2

    warning.get_by_role("link", name="See them side by side").click()
    expect(page.locator("#segment-results tbody tr")).to_have_count(2)

    page.goto(f"/channels/email/segments/{other.pk}/edit/")
    page.get_by_label("Segment name").fill("vip buyers")
    page.get_by_role("button", name=re.compile("Save")).click()
    expect(page.locator(".message-warning")).to_contain_text(
        "2 other Email segments are also called “vip buyers”"
    )
    other.refresh_from_db()
    assert other.name == "vip buyers"
    page.goto(f"/channels/email/segments/{other.pk}/edit/")
    expect(page.get_by_role("status").filter(has_text="also called")).to_contain_text(
        "2 other Email segments are also called “vip buyers”"
    )
