"""Connect Klaviyo, test the connection, sync the Email channel while watching its progress,
make a segment inactive, rename it in Klaviyo, sync again: it stays as it was."""

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from integrations.klaviyo import services
from integrations.klaviyo.models import SyncRun
from segments.models import Segment
from tests.browser.conftest import log_in
from tests.klaviyo_fake import FakeKlaviyo, object_id

KEY = "pk_browser_journey_key_5a8c1e"


@pytest.fixture
def fake_klaviyo(settings):
    with FakeKlaviyo(api_key=KEY, segments=45, lists=5) as fake:
        settings.KLAVIYO_API_URL = fake.url
        settings.KLAVIYO_API_KEY = ""
        settings.KLAVIYO_TIMEOUT = (2.0, 5.0)
        # Queue without running, so the test plays the worker and the page shows progress.
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        yield fake


def test_connect_sync_and_resync_keeps_an_inactive_segment(
    page, browser_channels, browser_marketer, fake_klaviyo, monkeypatch
):
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 0)
    browser_marketer.user_permissions.add(Permission.objects.get(codename="manage_klaviyo_key"))
    log_in(page, browser_marketer.username)

    # Connect and test.
    page.get_by_role("link", name="Integrations").click()
    expect(page.get_by_text("Not connected")).to_be_visible()
    page.get_by_label("Private API key").fill(KEY)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("Klaviyo key saved")).to_be_visible()
    expect(page.get_by_test_id("key-mask")).to_have_text("pk_…8c1e")
    expect(page.get_by_label("Private API key")).to_have_value("")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Key works: it can read segments and lists")).to_be_visible()
    expect(page.get_by_role("switch", name="Sync Email from Klaviyo")).to_have_attribute(
        "aria-checked", "false"
    )

    # Sync the Email channel from its Segments tab and watch the progress.
    page.goto("/channels/email/segments/")
    page.get_by_role("button", name="Sync from Klaviyo").click()
    expect(page.get_by_text("Sync from Klaviyo queued…")).to_be_visible()
    run = SyncRun.objects.get()
    seen_progress = []

    def watch(klaviyo_page, pages, items):
        if pages == 3:  # pages 1-2 are reported; the tab polls and shows them
            expect(page.get_by_test_id("sync-progress")).to_have_text(
                "2 pages, 20 segments and lists fetched"
            )
            seen_progress.append(page.get_by_test_id("sync-progress").inner_text())

    services.sync_run_execute(run_id=run.pk, on_page=watch)
    assert seen_progress
    summary = page.get_by_test_id("sync-summary")
    expect(summary).to_contain_text("50 new")
    expect(summary).to_contain_text("0 updated")
    summary.get_by_role("link", name="View run").click()
    expect(page.locator('[data-count="created"]')).to_have_text("50")
    assert Segment.objects.filter(channel__slug="email", source="klaviyo").count() == 50

    # The switch for Email is on now.
    page.get_by_role("link", name="Klaviyo").first.click()
    expect(page.get_by_role("switch", name="Sync Email from Klaviyo")).to_have_attribute(
        "aria-checked", "true"
    )

    # Make one inactive (the Segments table is built on another branch), rename it in Klaviyo.
    hidden_id = object_id("segment", 7)
    Segment.objects.filter(channel__slug="email", external_id=hidden_id).update(is_active=False)
    fake_klaviyo.set("segment", hidden_id, "Renamed in Klaviyo")
    fake_klaviyo.set("segment", object_id("segment", 8), "Also renamed")

    page.goto("/channels/email/segments/")
    page.get_by_role("button", name="Sync from Klaviyo").click()
    expect(page.get_by_text("Sync from Klaviyo queued…")).to_be_visible()
    services.sync_run_execute(run_id=SyncRun.objects.first().pk)
    summary = page.get_by_test_id("sync-summary")
    expect(summary).to_contain_text("0 new, 1 updated, 48 unchanged, 1 inactive skipped")
    summary.get_by_role("link", name="View run").click()
    expect(page.locator('[data-count="skipped_inactive"]')).to_have_text("1")
    expect(page.locator('[data-count="updated"]')).to_have_text("1")
    hidden = Segment.objects.get(channel__slug="email", external_id=hidden_id)
    assert (hidden.name, hidden.is_active) == ("Segment 7", False)

    # The history lists both runs.
    page.goto("/integrations/klaviyo/")
    expect(page.locator(".klaviyo-history tbody tr")).to_have_count(2)
