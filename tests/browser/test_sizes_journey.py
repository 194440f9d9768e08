"""Sizes, as a marketer sees them: refresh them from Klaviyo and watch the count go on, then
import a CSV with a Size column and sort the Segments tab by size."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.klaviyo import services, sizes
from integrations.klaviyo.models import SizeRun
from segments.bulk import SegmentRow, segment_bulk_upsert
from segments.models import Segment
from tests.klaviyo_fake import FakeKlaviyo, object_id

KEY = "pk_browser_sizes_key_3c9d1f"


class Clock:
    """The fake's rate-limit windows run on the steps' time, not the wall clock."""

    def __init__(self):
        self.now = timezone.now()

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake_klaviyo(settings, clock):
    with FakeKlaviyo(api_key=KEY, segments=150, lists=2, clock=clock) as fake:
        settings.KLAVIYO_API_URL = fake.url
        settings.KLAVIYO_API_KEY = ""
        settings.KLAVIYO_TIMEOUT = (2.0, 5.0)
        # Queue without running, so the test plays the worker and the page shows progress.
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        yield fake


def test_refresh_sizes_and_watch_the_count_then_import_sizes_from_a_csv(
    marketer_page, fake_klaviyo, clock, settings, tmp_path
):
    page = marketer_page
    services.klaviyo_key_save(api_key=KEY, user=None)
    email = Segment._meta.get_field("channel").related_model.objects.get(slug="email")
    rows = [
        SegmentRow(name=f"Segment {i:03d}", external_id=object_id("segment", i), kind="segment")
        for i in range(150)
    ] + [
        SegmentRow(name=f"List {i}", external_id=object_id("list", i), kind="list") for i in (0, 1)
    ]
    segment_bulk_upsert(channel=email, rows=rows, source=Segment.Source.KLAVIYO)

    page.goto("/channels/email/segments/")
    expect(page.locator("tr", has_text="Segment 000").locator(".cell-size")).to_have_text("—")
    page.get_by_role("button", name="Refresh sizes").click()
    expect(page.get_by_text("Counting sizes from Klaviyo: queued…")).to_be_visible()
    run = SizeRun.objects.get()

    # The worker's first step: one report of 100 segments and one list.
    following = sizes.size_run_step(run_id=run.pk, step=run.step, now=clock.now)
    expect(page.get_by_test_id("sizes-progress")).to_contain_text(
        "101 of 152 segments and lists counted · less than a minute left"
    )
    expect(page.get_by_role("button", name="Refresh sizes")).to_have_count(0)

    # The next steps, each when Klaviyo's limits allow it (no one waits for real).
    while following is not None:
        clock.now = following.at
        following = sizes.size_run_step(run_id=run.pk, step=following.step, now=clock.now)
    expect(page.get_by_test_id("sizes-summary")).to_contain_text(
        "152 of its segments and lists counted"
    )
    # The table reloads with the counts.
    first = fake_klaviyo.size_of(object_id("segment", 0))
    expect(page.locator("tr", has_text="Segment 000").locator(".cell-size")).to_have_text(
        f"{first:,}"
    )

    # A CSV with a Size column, for segments of no Klaviyo origin.
    csv_path = tmp_path / "sizes.csv"
    csv_path.write_text("Segment name;Size\nNewsletter fans;1 250 000\nLapsed;12,345\n", "utf-8")
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    page.goto("/data/upload/?channel=email")
    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Read the file").click()
    page.get_by_role("link", name="Next: map the columns").click()
    expect(page.locator("#id_size_source")).to_have_value("column:Size")
    expect(page.locator("#mapped-sample")).to_contain_text("1 250 000")
    page.get_by_role("button", name="Next: check the file (dry run)").click()
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    page.get_by_role("button", name="Upload and Import").click()
    expect(page.get_by_role("status").filter(has_text="Import finished")).to_contain_text(
        "2 created"
    )

    # Biggest first: the CSV's figure leads; its detail page says where it came from.
    page.goto("/channels/email/segments/")
    page.get_by_role("link", name="Size", exact=True).click()
    expect(page.locator("tbody tr").first.locator(".cell-name")).to_have_text("Newsletter fans")
    expect(page.locator("tbody tr").first.locator(".cell-size")).to_have_text("1,250,000")
    page.get_by_role("link", name="Newsletter fans", exact=True).click()
    expect(page.get_by_test_id("segment-size")).to_contain_text("1,250,000 contacts")
    expect(page.get_by_test_id("segment-size")).to_contain_text("CSV upload")
    expect(page.locator(".size-chart-svg circle")).to_have_count(1)
    assert Segment.objects.get(name="Lapsed").size == 12345
    assert timezone.now() - Segment.objects.get(name="Lapsed").size_counted_at < timedelta(hours=1)
