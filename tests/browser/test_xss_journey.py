"""The main pages in Chromium with an XSS payload in every text field: no dialog opens, no
script runs, and the Content Security Policy never has to block anything (the `page`
fixture fails the test on a CSP violation or a script error)."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.security.conftest import build_world
from tests.security.test_xss import HTML_PAYLOAD, URL_PAYLOAD


@pytest.fixture
def dialogs(page):
    """Every alert/confirm/prompt that opens: a payload that ran."""
    opened: list[str] = []

    def on_dialog(dialog):
        opened.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


def _log_in_as(page, live_server, user) -> None:
    """The superuser's session, made server-side (its username is the payload too)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.parametrize("payload", [HTML_PAYLOAD, URL_PAYLOAD], ids=["html", "javascript-url"])
def test_main_pages_with_payloads_run_no_script(
    page, dialogs, live_server, transactional_db, settings, tmp_path, payload
):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    world = build_world(text=payload)
    _log_in_as(page, live_server, world.users["superuser"])
    segment, audience, campaign = world.segment, world.audience, world.campaign
    pages = [
        "/",
        "/channels/email/segments/",
        f"/channels/email/segments/{segment.pk}/",
        f"/channels/email/segments/{segment.pk}/edit/",
        "/channels/email/audiences/",
        f"/channels/email/audiences/{audience.pk}/",
        f"/channels/email/audiences/{audience.pk}/edit/",
        "/campaigns/",
        "/campaigns/calendar/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/edit/",
        "/data/",
        f"/data/uploads/{world.upload.pk}/",
        "/integrations/klaviyo/",
        f"/integrations/klaviyo/runs/{world.run.pk}/",
        "/admin/segments/segment/",
        f"/admin/segments/segment/{segment.pk}/change/",
        f"/admin/campaigns/campaign/{campaign.pk}/change/",
        "/admin/auth/user/",
        "/admin/axes/accessattempt/",
    ]
    for url in pages:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("load")
    # The search box (htmx swaps the results region) with the payload typed in.
    page.goto("/channels/email/segments/")
    page.get_by_role("searchbox").first.fill(payload)
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text(payload).first).to_be_attached()
    assert not dialogs, dialogs
