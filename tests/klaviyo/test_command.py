"""`manage.py sync_klaviyo`: foreground runs, exit codes, one-line reasons, --dry-run."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.klaviyo import services
from integrations.klaviyo.models import SyncRun
from segments.models import Segment
from tests.factories import make_segment
from tests.klaviyo.conftest import SENTINEL_KEY

pytestmark = pytest.mark.django_db


def sync(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("sync_klaviyo", *args, stdout=out, stderr=err)
    except CommandError as error:
        text = out.getvalue() + err.getvalue() + str(error)
        assert SENTINEL_KEY not in text
        assert "\n" not in str(error)  # one-line reason
        return error.returncode, text
    text = out.getvalue() + err.getvalue()
    assert SENTINEL_KEY not in text
    return 0, text


def test_syncs_the_given_channels_in_the_foreground_with_progress(connected, email, sms):
    for i in range(15):
        connected.set("segment", f"SEG{i:03}", f"Segment {i}")
    connected.set("list", "LST001", "Newsletter")
    code, out = sync("--channel", "email", "--channel", "sms")
    assert code == 0, out
    assert "page 1: 10 segments (10 fetched)" in out and "page 3: 1 lists (16 fetched)" in out
    assert "Email: 16 created, 0 updated" in out and "SMS: 16 created" in out
    assert connected.data_requests == 3  # fetched once for both channels
    run = SyncRun.objects.get()
    assert run.trigger == "command" and run.status == "succeeded"
    assert run.started_by_label == "Scheduled sync"


def test_without_options_it_syncs_the_channels_switched_on(connected, email, sms):
    code, out = sync()
    assert code == 2 and "No channel has sync from Klaviyo switched on" in out
    services.channel_sync_set(channel=sms, enabled=True)
    connected.set("segment", "SEG001", "VIP")
    code, out = sync()
    assert code == 0 and "SMS: 1 created" in out and "Email" not in out
    assert not Segment.objects.filter(channel=email).exists()


def test_all_syncs_every_channel(connected, channels):
    connected.set("segment", "SEG001", "VIP")
    code, _ = sync("--all")
    assert code == 0
    assert Segment.objects.count() == len(channels)


def test_dry_run_prints_changes_and_writes_nothing(connected, email):
    make_segment(
        email,
        name="Old",
        external_id="SEG001",
        source="klaviyo",
        kind="segment",
        link="https://www.klaviyo.com/segment/SEG001",
    )
    make_segment(email, name="Gone", external_id="GONE01", source="klaviyo", kind="segment")
    connected.set("segment", "SEG001", "New")
    connected.set("segment", "SEG002", "Fresh")
    before = list(Segment.objects.values_list("pk", "name", "klaviyo_missing_since"))
    code, out = sync("--channel", "email", "--dry-run")
    assert code == 0, out
    assert "Email would change: 1 created, 1 updated, 0 unchanged" in out
    assert "+ SEG002 Fresh (segment)" in out
    assert "~ SEG001: name 'Old' → 'New'" in out
    assert "! not in Klaviyo: Gone (GONE01)" in out
    assert list(Segment.objects.values_list("pk", "name", "klaviyo_missing_since")) == before
    assert not SyncRun.objects.exists()


def test_unknown_channel_and_conflicting_options(connected, email):
    assert sync("--channel", "nope")[0] == 2
    assert sync("--channel", "email", "--all")[0] == 2


def test_no_key(db, klaviyo_settings, email):
    code, out = sync("--channel", "email")
    assert code == 3 and "not connected" in out


@pytest.mark.parametrize(
    ("setup", "code", "reason"),
    [
        (lambda fake: setattr(fake, "api_key", "pk_other_0000000000"), 4, "rejected the API key"),
        (lambda fake: fake.scopes.discard("segments:read"), 4, "lacks the segments:read scope"),
        (lambda fake: fake.stop(), 5, "could not be reached"),
        (lambda fake: fake.fault("429", times=None, retry_after=900), 5, "try again in 900"),
    ],
    ids=["rejected", "scope", "unreachable", "throttled"],
)
def test_failures_exit_non_zero_with_a_reason(connected, email, setup, code, reason, monkeypatch):
    monkeypatch.setattr("integrations.klaviyo.client.BACKOFF_START", 0.01)
    setup(connected)
    got, out = sync("--channel", "email")
    assert got == code, out
    assert reason in out
    dry_code, dry_out = sync("--channel", "email", "--dry-run")
    assert dry_code == code and reason in dry_out


def test_a_sync_already_running(connected, email):
    running = services.sync_run_create(channels=[email])
    code, out = sync("--channel", "email")
    assert code == 6 and f"already running for one of these channels (run #{running.pk})" in out
