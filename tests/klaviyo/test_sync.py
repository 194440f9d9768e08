"""The sync rules, run against the real database with Klaviyo served by the fake."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.klaviyo import services
from integrations.klaviyo.client import KlaviyoObject
from integrations.klaviyo.models import SyncRun, SyncRunChannel
from integrations.klaviyo.sync import channel_apply, channel_plan, unique_objects
from segments.models import Segment
from tests.factories import make_segment
from tests.klaviyo.conftest import run_sync

pytestmark = pytest.mark.django_db


def counts(run, channel):
    result = SyncRunChannel.objects.get(run=run, channel=channel)
    return {
        k: getattr(result, k)
        for k in ("created", "updated", "unchanged", "skipped_inactive", "marked_missing")
    }


def snapshot(channel):
    return list(
        Segment.objects.filter(channel=channel)
        .order_by("pk")
        .values_list(
            "pk",
            "name",
            "external_id",
            "link",
            "is_active",
            "kind",
            "klaviyo_missing_since",
            "updated_at",
        )
    )


def test_new_segments_and_lists_are_created_active_with_kind_and_link(connected, email):
    connected.set("segment", "SEG001", "Engaged 30 days")
    connected.set("list", "LST001", "Newsletter")
    run = run_sync(email)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    segments = {s.external_id: s for s in Segment.objects.filter(channel=email)}
    assert set(segments) == {"SEG001", "LST001"}
    seg, lst = segments["SEG001"], segments["LST001"]
    assert (seg.name, seg.kind, seg.source, seg.is_active) == (
        "Engaged 30 days",
        "segment",
        "klaviyo",
        True,
    )
    assert seg.link == "https://www.klaviyo.com/segment/SEG001"
    assert (lst.kind, lst.link) == ("list", "https://www.klaviyo.com/list/LST001")
    assert seg.last_synced_at is not None
    assert counts(run, email) == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped_inactive": 0,
        "marked_missing": 0,
    }
    assert (run.pages_fetched, run.items_fetched, run.segments_fetched, run.lists_fetched) == (
        2,
        2,
        1,
        1,
    )
    assert not SyncRunChannel.objects.filter(in_progress=True).exists()


def test_active_segments_are_renamed_and_a_second_run_changes_nothing(connected, email):
    connected.set("segment", "SEG001", "Old name")
    connected.set("segment", "SEG002", "Stays")
    run_sync(email)
    connected.set("segment", "SEG001", "New name")
    run = run_sync(email)
    assert Segment.objects.get(external_id="SEG001").name == "New name"
    assert counts(run, email)["updated"] == 1 and counts(run, email)["unchanged"] == 1

    before = snapshot(email)
    again = run_sync(email)
    assert snapshot(email) == before
    assert counts(again, email) == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "skipped_inactive": 0,
        "marked_missing": 0,
    }


def test_inactive_segments_are_never_touched(connected, email):
    make_segment(
        email,
        name="Hidden on purpose",
        external_id="SEG001",
        is_active=False,
        source="klaviyo",
        kind="segment",
        link="https://example.com/old",
    )
    connected.set("segment", "SEG001", "Renamed in Klaviyo")
    before = snapshot(email)
    run = run_sync(email)
    assert snapshot(email) == before
    assert counts(run, email)["skipped_inactive"] == 1
    # Not re-added as a second copy either.
    assert Segment.objects.filter(channel=email, external_id="SEG001").count() == 1

    connected.delete("segment", "SEG001")
    run = run_sync(email)
    assert snapshot(email) == before  # not even marked missing
    assert counts(run, email)["marked_missing"] == 0


def test_a_deleted_segment_comes_back(connected, email):
    connected.set("segment", "SEG001", "VIP")
    run_sync(email)
    Segment.objects.filter(external_id="SEG001").delete()
    run = run_sync(email)
    assert Segment.objects.get(channel=email, external_id="SEG001").is_active
    assert counts(run, email)["created"] == 1


def test_segments_klaviyo_no_longer_has_are_marked_then_unmarked(connected, email):
    connected.set("segment", "SEG001", "VIP")
    connected.set("segment", "SEG002", "Lapsed")
    run_sync(email)
    connected.delete("segment", "SEG002")
    run = run_sync(email)
    gone = Segment.objects.get(external_id="SEG002")
    assert gone.klaviyo_missing_since is not None and gone.is_active  # kept, never deleted
    assert counts(run, email)["marked_missing"] == 1
    marked_at = gone.klaviyo_missing_since

    run = run_sync(email)  # still missing: the date stays, nothing counted again
    assert Segment.objects.get(external_id="SEG002").klaviyo_missing_since == marked_at
    assert counts(run, email)["marked_missing"] == 0

    connected.set("segment", "SEG002", "Lapsed")
    run = run_sync(email)
    assert Segment.objects.get(external_id="SEG002").klaviyo_missing_since is None
    assert counts(run, email)["updated"] == 1


def test_manual_and_csv_segments_klaviyo_does_not_have_are_left_alone(connected, email):
    make_segment(email, name="No ID")
    make_segment(email, name="Manual with ID", external_id="MANUAL1")
    make_segment(email, name="From CSV", external_id="CSV0001", source="csv")
    connected.set("segment", "SEG001", "VIP")
    before = snapshot(email)
    run = run_sync(email)
    assert snapshot(email) == before + snapshot(email)[len(before) :]
    assert Segment.objects.filter(channel=email, klaviyo_missing_since__isnull=False).count() == 0
    assert counts(run, email)["created"] == 1


def test_one_fetch_serves_several_channels_and_channels_stay_independent(
    connected, email, sms, meta
):
    for i in range(25):
        connected.set("segment", f"SEG{i:03}", f"Segment {i}")
    connected.set("list", "LST001", "Newsletter")
    make_segment(sms, name="SMS only", external_id="SEG003", is_active=False)
    run = run_sync(email, sms, meta)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert connected.data_requests == 3 + 1  # 3 pages of segments, 1 of lists: fetched once
    assert Segment.objects.filter(channel=email).count() == 26
    assert Segment.objects.filter(channel=meta).count() == 26
    assert counts(run, sms)["skipped_inactive"] == 1
    assert Segment.objects.get(channel=sms, external_id="SEG003").name == "SMS only"


def test_an_item_repeated_across_pages_is_created_once(connected, email):
    for i in range(25):
        connected.set("segment", f"SEG{i:03}", f"Segment {i}")
    connected.fault("repeat_item", times=None)
    run = run_sync(email)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Segment.objects.filter(channel=email).count() == 25


@pytest.mark.parametrize(
    ("fault", "params", "message"),
    [
        ("500", {"times": None}, "server error (HTTP 500)"),
        ("503", {"times": None}, "server error (HTTP 503)"),
        ("malformed_json", {}, "not valid JSON"),
        ("html_403", {}, "web page instead of an API answer"),
        ("cursor_loop", {"times": None}, "cursor loop"),
        ("429", {"times": None, "retry_after": 600}, "try again in 600 seconds"),
    ],
)
def test_a_fault_while_fetching_fails_the_run_and_writes_nothing(
    connected, email, fault, params, message, monkeypatch
):
    monkeypatch.setattr("integrations.klaviyo.client.BACKOFF_START", 0.01)
    for i in range(25):
        connected.set("segment", f"SEG{i:03}", f"Segment {i}")
    make_segment(email, name="Old", external_id="SEG001", source="klaviyo", kind="segment")
    make_segment(email, name="Gone", external_id="GONE01", source="klaviyo", kind="segment")
    before = snapshot(email)
    connected.fault(fault, after=1 if fault != "429" else 0, **params)
    run = run_sync(email)
    assert run.status == SyncRun.Status.FAILED
    assert message in run.error
    assert snapshot(email) == before
    assert counts(run, email)["created"] == 0
    assert not SyncRunChannel.objects.filter(in_progress=True).exists()


def test_a_response_past_the_read_timeout_fails_the_run_and_writes_nothing(
    connected, email, settings, monkeypatch
):
    monkeypatch.setattr("integrations.klaviyo.client.BACKOFF_START", 0.01)
    settings.KLAVIYO_TIMEOUT = (1.0, 0.2)
    for i in range(15):
        connected.set("segment", f"SEG{i:03}", f"Segment {i}")
    connected.fault("slow", times=None, after=1, seconds=0.4)
    run = run_sync(email)
    assert run.status == "failed" and "did not answer in time" in run.error
    assert not Segment.objects.exists()


def test_throttling_and_an_enforced_rate_limit_end_in_success(connected, email):
    for i in range(40):
        connected.set("segment", f"SEG{i:03}", f"Segment {i}")
    connected.fault("429_no_retry_after", times=1, retry_after=1)
    connected.rate_limit(limit=3, window=0.5)
    run = run_sync(email)
    assert run.status == "succeeded", run.error
    assert Segment.objects.filter(channel=email).count() == 40


def test_a_fault_that_clears_up_on_retry_ends_in_success(connected, email, monkeypatch):
    monkeypatch.setattr("integrations.klaviyo.client.BACKOFF_START", 0.01)
    connected.set("segment", "SEG001", "VIP")
    connected.fault("502", times=2)
    connected.fault("429", times=1, retry_after=1, kind="list")
    run = run_sync(email)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Segment.objects.filter(channel=email).count() == 1


def test_a_rejected_key_fails_the_run_with_a_clear_message(connected, email, settings):
    settings.KLAVIYO_API_KEY = "pk_environment_key_is_wrong_0000"
    run = run_sync(email)
    assert run.status == SyncRun.Status.FAILED
    assert run.error == "Klaviyo rejected the API key (it is wrong or was revoked)."
    assert run.error_kind == "key"


def test_without_a_key_the_run_says_so(db, klaviyo_settings, email):
    run = run_sync(email)
    assert run.status == SyncRun.Status.FAILED and "not connected" in run.error


def test_queries_per_batch_are_fixed_whatever_the_number_of_items(db, email, sms):
    def measure(channel, n):
        objects = unique_objects(
            KlaviyoObject(id=f"K{n}-{i}", kind="segment", name=f"S {i}") for i in range(n)
        )
        with CaptureQueriesContext(connection) as ctx:
            now = timezone.now()
            channel_apply(channel=channel, objects=objects, now=now)
        return len(ctx.captured_queries)

    assert measure(email, 20) == measure(sms, 600)


def test_at_most_one_sync_per_channel(db, email, sms):
    first = services.sync_run_create(channels=[email])
    with pytest.raises(services.SyncAlreadyRunning) as caught:
        services.sync_run_create(channels=[sms, email])
    assert caught.value.run == first
    assert services.sync_run_create(channels=[sms])  # another channel is free
    assert SyncRun.objects.count() == 2


def test_a_run_whose_worker_died_is_failed_and_frees_the_channel(db, email, settings):
    settings.SYNC_STALE_AFTER_SECONDS = 60
    stale = services.sync_run_create(channels=[email])
    SyncRun.objects.filter(pk=stale.pk).update(
        status="running", heartbeat_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    fresh = services.sync_run_create(channels=[email])
    stale.refresh_from_db()
    assert stale.status == "failed" and "stopped reporting progress" in stale.error
    assert fresh.status == "queued"
    # The dead worker's run is not picked up again.
    assert services.sync_run_execute(run_id=stale.pk).status == "failed"


def test_a_worker_that_was_given_up_on_writes_nothing_and_keeps_the_failure(connected, email):
    for i in range(15):
        connected.set("segment", f"SEG{i:03}", f"Segment {i}")
    run = services.sync_run_create(channels=[email])

    def given_up(page, pages, items):
        SyncRun.objects.filter(pk=run.pk).update(status="failed", error="stopped reporting")

    done = services.sync_run_execute(run_id=run.pk, on_page=given_up)
    assert (done.status, done.error) == ("failed", "stopped reporting")
    assert not Segment.objects.exists()


def test_a_segment_made_inactive_between_plan_and_write_is_not_marked_or_counted(connected, email):
    connected.set("segment", "SEG001", "VIP")
    connected.set("segment", "SEG002", "Lapsed")
    run_sync(email)
    connected.delete("segment", "SEG002")
    objects = unique_objects([KlaviyoObject(id="SEG001", kind="segment", name="VIP")])
    plan = channel_plan(channel=email, objects=objects, now=timezone.now())
    assert len(plan.to_mark_missing) == 1
    Segment.objects.filter(external_id="SEG002").update(is_active=False)  # a user, meanwhile
    counts = channel_apply(channel=email, objects=objects, now=timezone.now())
    assert counts["marked_missing"] == 0
    assert Segment.objects.get(external_id="SEG002").klaviyo_missing_since is None


def test_a_database_error_that_is_not_a_lost_connection_is_not_reported_as_one(
    connected, email, monkeypatch
):
    """Only a lost connection says "the database connection was lost … run the sync again";
    a statement the database refused is an unexpected error, logged for the operator."""
    from django.db import OperationalError

    def refused(**kwargs):
        raise OperationalError("no such function: unaccent")

    connected.set("segment", "SEG001", "VIP")
    monkeypatch.setattr(services, "channel_apply", refused)
    run = services.sync_run_execute(run_id=services.sync_run_create(channels=[email]).pk)
    assert run.status == "failed"
    assert "Unexpected error (OperationalError)" in run.error
    assert "connection was lost" not in run.error
