"""Counting segment and list sizes from Klaviyo, step by step on a virtual clock: the pace
Klaviyo's limits allow, the daily cap, faults mid-run and two refreshes at once."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from integrations.klaviyo import services, sizes
from integrations.klaviyo.models import SizeRun
from segments.bulk import SegmentRow, segment_bulk_upsert
from segments.models import Segment
from tests.klaviyo.conftest import SENTINEL_KEY
from tests.klaviyo_fake import FakeKlaviyo, object_id

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self) -> float:  # the fake's rate-limit windows run on this time
        return self.now.timestamp()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake(clock):
    with FakeKlaviyo(api_key=SENTINEL_KEY, segments=250, lists=3, clock=clock) as server:
        yield server


def klaviyo_segments(channel, *, segments=250, lists=3, **row):
    rows = [
        SegmentRow(name=f"Segment {i}", external_id=object_id("segment", i), kind="segment", **row)
        for i in range(segments)
    ] + [
        SegmentRow(name=f"List {i}", external_id=object_id("list", i), kind="list", **row)
        for i in range(lists)
    ]
    segment_bulk_upsert(channel=channel, rows=rows, source=Segment.Source.KLAVIYO)


def run_steps(run, clock, *, until=None, max_steps=500):
    """Play the task queue: run each step at the time the previous one asked for."""
    following = sizes.NextStep(at=clock.now, step=run.step)
    steps = 0
    while following is not None and steps < max_steps:
        if until and following.at >= until:
            break
        clock.now = max(clock.now, following.at)
        following = sizes.size_run_step(run_id=run.pk, step=following.step, now=clock.now)
        steps += 1
    run.refresh_from_db()
    return steps


def size_of(channel, kind, n):
    return Segment.objects.get(channel=channel, external_id=object_id(kind, n))


def test_a_run_counts_every_klaviyo_segment_and_list_at_klaviyo_pace(
    connected, email, sms, fake, clock, klaviyo_waits
):
    klaviyo_segments(email)
    klaviyo_segments(sms, segments=2, lists=0)
    Segment.objects.filter(channel=email, external_id=object_id("segment", 7)).update(
        is_active=False
    )
    run = sizes.size_run_create(channels=[email, sms])
    run_steps(run, clock)
    assert run.status == SizeRun.Status.SUCCEEDED, run.error
    # 249 active segments: 3 reports of at most 100; 3 lists one by one. Nothing throttled.
    assert (fake.count_requests, fake.throttled) == (
        {"report": 3, "list_count": 3},
        {"report": 0, "list_count": 0},
    )
    assert klaviyo_waits == []  # no client ever waited, let alone slept
    first = size_of(email, "segment", 0)
    assert (first.size, first.size_source) == (fake.size_of(first.external_id), "klaviyo")
    assert first.size_points.count() == 1
    assert size_of(email, "list", 2).size == fake.size_of(object_id("list", 2))
    assert size_of(email, "segment", 7).size is None  # inactive: skipped
    assert size_of(sms, "segment", 1).size == fake.size_of(object_id("segment", 1))
    counted = {r.channel.slug: (r.counted, r.cleared, r.in_progress) for r in run.results.all()}
    assert counted == {"email": (252, 0, False), "sms": (2, 0, False)}
    # Reports 30 s apart (2 a minute), so the whole run took a minute of Klaviyo's time.
    assert run.finished_at - START == timedelta(seconds=60)


def test_partial_results_keep_their_own_counted_at_time(connected, email, fake, clock):
    klaviyo_segments(email)
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock)
    first, last = size_of(email, "segment", 0), size_of(email, "segment", 249)
    assert first.size_counted_at == START
    assert last.size_counted_at == START + timedelta(seconds=60)


def test_the_daily_cap_says_how_many_are_done_and_when_the_rest_are_counted(
    connected, email, fake, clock
):
    fake.count_limits["report"] = [(1, 1.0), (2, 60.0), (2, 86400.0)]  # scaled down: 2 a day
    klaviyo_segments(email, lists=0)
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock, until=START + timedelta(hours=2))
    assert run.status == SizeRun.Status.WAITING and run.daily_cap_hit
    assert run.segments_done == 200
    midnight = datetime(2026, 12, 2, tzinfo=UTC)
    assert run.next_step_at == midnight
    assert run.waiting_reason == (
        "Klaviyo's daily limit for segment counts is reached: 200 of 250 segments counted; "
        "the rest will be counted from 2 Dec 00:00 UTC."
    )
    progress = sizes.size_run_progress(run, now=clock.now)
    assert (progress.counted, progress.total, progress.time_left) == (200, 250, None)
    assert progress.resumes_at == midnight
    assert size_of(email, "segment", 0).size is not None
    assert size_of(email, "segment", 249).size is None
    run_steps(run, clock)
    assert run.status == SizeRun.Status.SUCCEEDED
    assert size_of(email, "segment", 249).size_counted_at == midnight


@pytest.mark.parametrize("fault", ["429", "429_no_retry_after", "429_bare", "503", "500"])
def test_throttling_and_server_errors_are_waited_out_by_a_later_step(
    connected, email, fake, clock, fault, klaviyo_waits
):
    klaviyo_segments(email, segments=10, lists=1)
    fake.fault(fault, times=2, kind="report", retry_after=7)
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock)
    assert run.status == SizeRun.Status.SUCCEEDED
    assert fake.count_requests["report"] == 3 and klaviyo_waits == []
    assert size_of(email, "segment", 9).size is not None


def test_a_timeout_is_retried_later(connected, email, fake, clock, monkeypatch):
    monkeypatch.setattr(sizes, "STEP_TIMEOUT", (0.5, 0.05))
    klaviyo_segments(email, segments=0, lists=1)
    fake.fault("slow", times=1, kind="list_count", seconds=0.2)
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock)
    assert run.status == SizeRun.Status.SUCCEEDED and fake.count_requests["list_count"] == 2


def test_server_errors_that_do_not_end_stop_the_run_and_keep_earlier_counts(
    connected, email, fake, clock
):
    klaviyo_segments(email, lists=0)
    fake.fault("502", times=None, kind="report", after=1)
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock)
    assert run.status == SizeRun.Status.FAILED and run.error_kind == "klaviyo"
    assert "Stopped after 5 tries in a row" in run.error
    assert "Sizes counted before that are kept" in run.error
    assert Segment.objects.filter(channel=email, size__isnull=False).count() == 100
    assert not run.results.get().in_progress


@pytest.mark.parametrize("revoke", ["key", "scope"])
def test_a_revoked_key_or_missing_scope_mid_run_ends_it_and_never_shows_the_key(
    connected, email, fake, clock, revoke
):
    klaviyo_segments(email, lists=0)
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock, max_steps=1)
    if revoke == "key":
        fake.api_key = "pk_another_key"
    else:
        fake.scopes.discard("segments:read")
    run_steps(run, clock)
    assert run.status == SizeRun.Status.FAILED and run.error_kind == "key"
    assert SENTINEL_KEY not in run.error
    assert ("rejected the API key" if revoke == "key" else "segments:read") in run.error
    assert Segment.objects.filter(channel=email, size__isnull=False).count() == 100


def test_a_segment_or_list_klaviyo_no_longer_has_gets_no_size(connected, email, fake, clock):
    klaviyo_segments(email, segments=3, lists=2, size=999, size_source="klaviyo")
    fake.delete("segment", object_id("segment", 1))
    fake.delete("list", object_id("list", 0))
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock)
    assert run.status == SizeRun.Status.SUCCEEDED
    assert size_of(email, "segment", 1).size is None
    assert size_of(email, "list", 0).size is None
    assert size_of(email, "list", 1).size == fake.size_of(object_id("list", 1))
    assert run.results.get().cleared == 2


def test_a_typed_size_gives_way_to_the_klaviyo_count_and_its_source(connected, email, fake, clock):
    klaviyo_segments(email, segments=1, lists=0, size=5, size_source="manual")
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock)
    segment = size_of(email, "segment", 0)
    assert (segment.size, segment.size_source) == (fake.size_of(segment.external_id), "klaviyo")
    assert sorted(segment.size_points.values_list("source", flat=True)) == ["klaviyo", "manual"]


def test_two_refreshes_of_one_channel_at_once_one_runs(connected, email, sms, fake):
    first = sizes.size_run_create(channels=[email])
    with pytest.raises(sizes.SizesAlreadyRunning) as raised:
        sizes.size_run_create(channels=[sms, email])
    assert raised.value.run == first
    assert SizeRun.objects.count() == 1
    sizes.size_run_create(channels=[sms])  # another channel is free


def test_a_step_queued_twice_runs_once(connected, email, fake, clock):
    klaviyo_segments(email, segments=1, lists=2)
    run = sizes.size_run_create(channels=[email])
    following = sizes.size_run_step(run_id=run.pk, step=0, now=clock.now)
    assert following is not None
    assert sizes.size_run_step(run_id=run.pk, step=0, now=clock.now) is None
    assert fake.count_requests == {"report": 1, "list_count": 1}


def test_time_left_is_the_calls_still_to_make_at_klaviyo_pace(connected, email, fake, clock):
    klaviyo_segments(email, segments=250, lists=20)
    run = sizes.size_run_create(channels=[email])
    run_steps(run, clock, max_steps=1)
    progress = sizes.size_run_progress(run, now=clock.now)
    # Lists are the slower: 19 left at one every 4 s (the first in 4 s).
    assert progress.time_left == timedelta(seconds=76)
    assert (progress.counted, progress.total) == (101, 270)


def test_no_key_cannot_start(db, klaviyo_settings, email):
    with pytest.raises(services.NotConnected):
        sizes.size_run_create(channels=[email])


def test_a_run_whose_next_step_never_came_is_failed_by_the_next_refresh(
    connected, email, fake, settings
):
    run = sizes.size_run_create(channels=[email])
    SizeRun.objects.filter(pk=run.pk).update(
        status=SizeRun.Status.WAITING, next_step_at=START - timedelta(days=1)
    )
    run.refresh_from_db()
    assert run.is_stale and not run.is_in_progress
    again = sizes.size_run_create(channels=[email])
    run.refresh_from_db()
    assert run.status == SizeRun.Status.FAILED and "task worker" in run.error
    assert again.status == SizeRun.Status.QUEUED


# -- manage.py klaviyo_sizes -------------------------------------------------------------------

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def count_sizes(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("klaviyo_sizes", *args, stdout=out, stderr=err)
    except CommandError as error:
        text = out.getvalue() + err.getvalue() + str(error)
        assert SENTINEL_KEY not in text and "\n" not in str(error)
        return error.returncode, text
    text = out.getvalue() + err.getvalue()
    assert SENTINEL_KEY not in text
    return 0, text


def test_the_command_counts_a_small_account_at_once(connected, email, fake, settings):
    klaviyo_segments(email, segments=5, lists=1)
    code, out = count_sizes("--channel", "email")
    assert code == 0, out
    assert "Count #" in out and "5 segments and 1 lists" in out
    assert "Done: count" in out and "Email: 6 counted, 0 no longer in Klaviyo" in out
    assert SizeRun.objects.get().trigger == "command"


def test_the_command_queues_the_rest_for_the_worker(connected, email, fake, settings):
    settings.TASKS = DUMMY_TASKS
    klaviyo_segments(email, segments=150, lists=2)
    code, out = count_sizes("--all")
    assert code == 0, out
    assert "101 of 152 counted; the task worker counts the rest (about 1 minute left)" in out
    run = SizeRun.objects.get()
    assert run.status == SizeRun.Status.WAITING and run.step == 1


def test_the_command_exit_codes(db, klaviyo_settings, fake, email, monkeypatch):
    assert count_sizes("--channel", "nope")[0] == 2
    assert count_sizes("--all", "--channel", "email")[0] == 2
    assert count_sizes("--all")[0] == 3  # no key
    services.klaviyo_key_save(api_key="pk_wrong_key_0000000000", user=None)
    klaviyo_segments(email, segments=1, lists=0)
    code, out = count_sizes("--all")
    assert code == 4 and "rejected the API key" in out
    services.klaviyo_key_save(api_key=SENTINEL_KEY, user=None)
    fake.fault("500", times=None, kind="report")
    monkeypatch.setattr(sizes, "MAX_FAILURES", 0)
    code, out = count_sizes("--all")
    assert code == 5 and "server error" in out
    sizes.size_run_create(channels=[email])
    assert count_sizes("--channel", "email")[0] == 6


# -- the Segments tab's sizes panel ------------------------------------------------------------


def panel(client, channel, headers, **params):
    url = reverse("klaviyo:sizes-panel", args=[channel.slug])
    return client.get(url, params, headers=headers)


def test_refresh_sizes_queues_a_count_and_the_panel_shows_its_progress(
    marketer_client,
    connected,
    email,
    fake,
    clock,
    settings,
    htmx_headers,
    django_assert_num_queries,
):
    settings.TASKS = DUMMY_TASKS
    klaviyo_segments(email, segments=150, lists=20)
    tab = marketer_client.get(reverse("segments:list", args=[email.slug])).content.decode()
    assert reverse("klaviyo:sizes-panel", args=[email.slug]) in tab
    assert "Refresh sizes" in panel(marketer_client, email, htmx_headers).content.decode()
    url = reverse("klaviyo:sizes-refresh", args=[email.slug])
    html = marketer_client.post(url, headers=htmx_headers).content.decode()
    assert "Counting sizes from Klaviyo: queued…" in html and "0 of 170" in html
    assert 'hx-trigger="every 2s"' in html and "Refresh sizes" not in html
    run = SizeRun.objects.get()
    run_steps(run, clock, max_steps=1)  # the worker's first step, at the real time of day
    SizeRun.objects.filter(pk=run.pk).update(
        next_report_at=None, next_list_at=None, next_step_at=timezone.now()
    )
    # session, user, permissions x2, channel, the channel's latest count, the key
    with django_assert_num_queries(7):
        html = panel(marketer_client, email, htmx_headers, run=run.pk).content.decode()
    assert "101 of 170 segments and lists counted" in html
    # A second refresh while it runs: one runs.
    html = marketer_client.post(url, headers=htmx_headers).content.decode()
    assert "Sizes are already being counted for this channel." in html
    assert SizeRun.objects.count() == 1
    run_steps(run, clock)
    response = panel(marketer_client, email, htmx_headers, run=run.pk)
    assert "segments-changed" in response.headers["HX-Trigger"]
    # The fake has 3 lists: the 17 others are gone from Klaviyo and lose their size.
    assert (
        "153 of its segments and lists counted, 17 no longer in Klaviyo (size cleared)"
        in response.content.decode()
    )


def test_refresh_sizes_without_javascript_redirects_to_the_tab(
    marketer_client, connected, email, fake, settings
):
    settings.TASKS = DUMMY_TASKS
    response = marketer_client.post(reverse("klaviyo:sizes-refresh", args=[email.slug]))
    assert response.status_code == 302
    assert response.url == reverse("segments:list", args=[email.slug])


def test_the_daily_cap_and_a_failure_read_plainly_on_the_panel(
    marketer_client, connected, email, fake, clock, htmx_headers
):
    run = sizes.size_run_create(channels=[email])
    SizeRun.objects.filter(pk=run.pk).update(
        status=SizeRun.Status.WAITING,
        daily_cap_hit=True,
        next_step_at=timezone.now() + timedelta(hours=3),
        next_report_at=timezone.now() + timedelta(hours=3),
        waiting_reason="Klaviyo's daily limit for segment counts is reached: 200 of 250 …",
    )
    html = panel(marketer_client, email, htmx_headers).content.decode()
    assert "Klaviyo&#x27;s daily limit for segment counts is reached" in html
    assert "the rest from" in html
    sizes._finish(run.pk, error="Klaviyo rejected the API key (it is wrong or was revoked).")
    html = panel(marketer_client, email, htmx_headers).content.decode()
    assert "Size count failed" in html and "rejected the API key" in html
    assert "Refresh sizes" in html


def test_viewers_see_the_panel_but_cannot_refresh(viewer_client, connected, email, htmx_headers):
    html = panel(viewer_client, email, htmx_headers).content.decode()
    assert "Refresh sizes" not in html
    url = reverse("klaviyo:sizes-refresh", args=[email.slug])
    assert viewer_client.post(url).status_code == 403
    assert not SizeRun.objects.exists()


def test_refresh_without_a_key_says_so(marketer_client, db, klaviyo_settings, email, htmx_headers):
    url = reverse("klaviyo:sizes-refresh", args=[email.slug])
    html = marketer_client.post(url, headers=htmx_headers).content.decode()
    assert "Klaviyo is not connected" in html and not SizeRun.objects.exists()


def test_cleanup_fails_a_count_whose_next_step_never_ran(connected, email, fake):
    run = sizes.size_run_create(channels=[email])
    SizeRun.objects.filter(pk=run.pk).update(
        status=SizeRun.Status.WAITING, next_step_at=timezone.now() - timedelta(days=1)
    )
    out = StringIO()
    call_command("cleanup", stdout=out)
    assert "Failed 1 Klaviyo size count whose next step never ran." in out.getvalue()
    run.refresh_from_db()
    assert run.status == SizeRun.Status.FAILED and not run.results.get().in_progress


def test_the_client_asks_for_at_most_100_segments_a_report_and_reads_answers_defensively(
    connected, fake
):
    from integrations.klaviyo.client import KlaviyoClient

    fake.sizes[object_id("segment", 1)] = None  # Klaviyo gives no figure
    with KlaviyoClient(SENTINEL_KEY, base_url=fake.url) as client:
        with pytest.raises(ValueError):
            client.segment_sizes([f"S{i}" for i in range(101)])
        answer = client.segment_sizes([object_id("segment", 0), object_id("segment", 1), "NOPE"])
    first = object_id("segment", 0)
    assert answer == {first: fake.size_of(first), object_id("segment", 1): None}
    request = next(r for r in fake.requests if r["path"] == "/api/segment-values-reports")
    assert request["headers"]["revision"] == "2026-07-15"


def test_a_count_failed_as_stale_during_its_step_stays_failed(
    connected, email, fake, clock, monkeypatch
):
    klaviyo_segments(email, segments=1, lists=2)
    run = sizes.size_run_create(channels=[email])
    real_write = sizes._Step.write

    def write_then_fail_as_stale(step, ids, counted):
        real_write(step, ids, counted)
        sizes._finish(run.pk, error=SizeRun.STALE_ERROR, kind="unexpected")

    monkeypatch.setattr(sizes._Step, "write", write_then_fail_as_stale)
    assert sizes.size_run_step(run_id=run.pk, step=0, now=clock.now) is None
    run.refresh_from_db()
    assert run.status == SizeRun.Status.FAILED and run.error == SizeRun.STALE_ERROR


def test_with_the_database_queue_each_step_queues_the_next_for_later(
    connected, email, fake, settings
):
    from django_tasks_db.models import DBTaskResult

    from integrations.klaviyo import background
    from integrations.klaviyo.tasks import klaviyo_sizes_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    klaviyo_segments(email, segments=120, lists=0)
    run = background.sizes_start(channels=[email])
    first = DBTaskResult.objects.get()
    assert first.args_kwargs["args"] == [run.pk, 0]
    # The worker runs it: it counts what is due and queues the next step, 30 s on.
    assert klaviyo_sizes_task.call(run.pk, 0).startswith("next step at")
    following = DBTaskResult.objects.exclude(pk=first.pk).get()
    assert following.args_kwargs["args"] == [run.pk, 1]
    assert following.run_after - timezone.now() > timedelta(seconds=25)
    assert klaviyo_sizes_task.call(run.pk, 0) == "done"  # a stale duplicate does nothing
