"""Two syncs of one channel started at the same moment: the database lets exactly one in."""

import threading

import pytest
from django.db import connection

from integrations.klaviyo import services
from integrations.klaviyo.models import SyncRun, SyncRunChannel
from tests.factories import ensure_default_channels


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_syncs_of_a_channel_one_runs():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections: run with DATABASE_URL=postgres://…")
    email = ensure_default_channels()["email"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start():
        try:
            barrier.wait()
            services.sync_run_create(channels=[email])
            outcomes.append("started")
        except services.SyncAlreadyRunning as error:
            outcomes.append(f"already running #{error.run.pk if error.run else '?'}")
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    run = SyncRun.objects.get()
    assert sorted(outcomes) == sorted(["started", f"already running #{run.pk}"])
    assert SyncRunChannel.objects.filter(channel=email, in_progress=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_size_refreshes_of_a_channel_one_runs(settings):
    from integrations.klaviyo import sizes
    from integrations.klaviyo.models import SizeRun, SizeRunChannel

    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections: run with DATABASE_URL=postgres://…")
    settings.KLAVIYO_API_KEY = "pk_concurrency_test_key_000000"
    email = ensure_default_channels()["email"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start():
        try:
            barrier.wait()
            sizes.size_run_create(channels=[email])
            outcomes.append("started")
        except sizes.SizesAlreadyRunning as error:
            outcomes.append(f"already running #{error.run.pk if error.run else '?'}")
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    run = SizeRun.objects.get()
    assert sorted(outcomes) == sorted(["started", f"already running #{run.pk}"])
    assert SizeRunChannel.objects.filter(channel=email, in_progress=True).count() == 1
