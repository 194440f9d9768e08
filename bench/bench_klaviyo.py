"""Klaviyo sync: 10,000 segments + 2,000 lists from the local fake, into one channel, then three.

Baseline: the time to only fetch the same pages (same client, same fake, no database), so the
ratio is what applying the data costs on top of the HTTP (goals: at most 1.2x into one
channel, 1.5x into three). Queries per 100
items should stay flat as the data grows (a fixed number of queries per batch).
"""

import statistics
import subprocess
import sys
import time

from bench.common import ROOT, free_port, report

SEGMENTS, LISTS = 10_000, 2_000
KEY = "pk_bench_not_a_real_key_0000000000"
REPEATS = 3


def _start_fake(segments: int, lists: int):
    import socket

    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.klaviyo_fake",
            "--port",
            str(port),
            "--segments",
            str(segments),
            "--lists",
            str(lists),
            "--key",
            KEY,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the fake Klaviyo server did not start")


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from channels_app.models import Channel
    from integrations.klaviyo import services
    from integrations.klaviyo.client import KlaviyoClient
    from integrations.klaviyo.models import SyncRun
    from segments.models import Segment

    def clean():
        # A PostgreSQL bench database persists between runs: start from nothing of ours.
        SyncRun.objects.filter(results__channel__slug__startswith="bench-k").delete()
        Segment.objects.filter(channel__slug__startswith="bench-k").delete()
        Channel.objects.filter(slug__startswith="bench-k").delete()

    def new_channel(name):
        return Channel.objects.create(slug=f"bench-k{name}", name=f"Bench {name}", position=900)

    clean()
    process, url = _start_fake(SEGMENTS, LISTS)
    try:
        with override_settings(KLAVIYO_API_URL=url, KLAVIYO_API_KEY=""):
            services.klaviyo_key_save(api_key=KEY, user=None)

            def fetch_only():
                with KlaviyoClient(KEY) as client:
                    return services.klaviyo_fetch_all(client)

            def sync(channels):
                run = services.sync_run_create(channels=channels)
                with CaptureQueriesContext(connection) as queries:
                    seconds, done = _timed(lambda: services.sync_run_execute(run_id=run.pk))
                assert done.status == "succeeded", done.error
                return seconds, len(queries.captured_queries)

            # The machine is shared and noisy: interleave the measurements, report medians.
            items = SEGMENTS + LISTS
            samples = {name: [] for name in ("fetch", "new1", "same1", "new3", "same3")}
            queries = {}
            for repeat in range(REPEATS):
                seconds, objects = _timed(fetch_only)
                assert len(objects) == items
                samples["fetch"].append(seconds)

                one = new_channel(f"one-{repeat}")
                seconds, queries["new1"] = sync([one])
                assert Segment.objects.filter(channel=one).count() == items
                samples["new1"].append(seconds)
                samples["same1"].append(sync([one])[0])

                three = [new_channel(f"three-{repeat}-{n}") for n in range(3)]
                seconds, queries["new3"] = sync(three)
                samples["new3"].append(seconds)
                samples["same3"].append(sync(three)[0])

            fetch_s = statistics.median(samples["fetch"])
            print(f"klaviyo.fetch_only: {fetch_s:,.3f} s (1.00x vs fetch only)", flush=True)
            for key, name in [
                ("new1", "sync_1_channel_new"),
                ("same1", "sync_1_channel_unchanged"),
                ("new3", "sync_3_channels_new"),
                ("same3", "sync_3_channels_unchanged"),
            ]:
                report(
                    f"klaviyo.{name}", statistics.median(samples[key]), "s", fetch_s, "fetch only"
                )
            print(
                "klaviyo.queries_per_100_items: "
                f"{queries['new1'] * 100 / items:,.2f} (1 channel), "
                f"{queries['new3'] * 100 / (3 * items):,.2f} (3 channels)",
                flush=True,
            )

        # Queries per 100 items for the apply step alone, at two sizes: should not grow.
        from django.utils import timezone

        from integrations.klaviyo.client import KlaviyoObject
        from integrations.klaviyo.sync import channel_apply, unique_objects

        per_100 = {}
        for n in (1_200, 12_000):
            channel = new_channel(f"q{n}")
            objects = unique_objects(
                KlaviyoObject(id=f"Q{i:06}", kind="segment", name=f"S {i}") for i in range(n)
            )
            with CaptureQueriesContext(connection) as queries:
                now = timezone.now()
                channel_apply(channel=channel, objects=objects, now=now)
            per_100[n] = len(queries.captured_queries) * 100 / n
            print(
                f"klaviyo.apply_{n}_items: {len(queries.captured_queries)} queries "
                f"({per_100[n]:,.3f} per 100 items)"
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
        clean()
