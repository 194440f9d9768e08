"""The load benchmark's users (bench/locustfile.py) against the live server, on small data.

One simulated marketer does each kind of work once (log in, browse, search, toggle, audience
form and picker, campaign form, save a campaign) and then whatever it draws for a few seconds:
no request may fail. This keeps the scenario in step with the pages it parses.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from campaigns.models import Campaign
from tests.factories import (
    PASSWORD,
    ensure_default_channels,
    make_audience,
    make_marketer,
    make_segment,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
WORK = [
    "login.post",
    "segments.page",
    "segments.search (htmx)",
    "segments.toggle (htmx)",
    "audiences.form",
    "picker.search (htmx)",
    "campaigns.form",
    "campaigns.save",
    "campaigns.detail",
]


def test_one_marketer_does_every_kind_of_work_without_a_failure(live_server, tmp_path):
    marketer = make_marketer()
    channels = ensure_default_channels()
    audiences = {}
    for slug, channel in channels.items():
        segments = [make_segment(channel, name=f"VIP {slug} {n}") for n in range(30)]
        audiences[slug] = [make_audience(channel, include=segments[:2]).pk]
    config = {
        "accounts": [[marketer.username, PASSWORD]],
        "channels": {
            slug: {"audiences": ids, "toggle": slug != "sms"} for slug, ids in audiences.items()
        },
        "terms": {slug: ["vip"] for slug in channels},
        "stats_path": str(tmp_path / "requests.json"),
        "think": 0.1,
        "every_task_first": True,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))

    subprocess.run(
        [
            *(sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")),
            # One user, one request at a time: on SQLite the live server's threads share a
            # database connection.
            *("--headless", "--users", "1", "--spawn-rate", "1", "--run-time", "3s"),
            # Time for the first round of work to finish even on a busy machine.
            *("--stop-timeout", "20", "--host", live_server.url, "--only-summary"),
            *("--loglevel", "WARNING", "--exit-code-on-error", "0"),
        ],
        cwd=ROOT,
        env={**os.environ, "LOAD_CONFIG": str(tmp_path / "config.json")},
        check=True,
        timeout=60,
        capture_output=True,
    )

    stats = json.loads((tmp_path / "requests.json").read_text())
    assert not stats["task_errors"]
    requests = stats["requests"]
    assert set(WORK) <= set(requests), f"never sent: {set(WORK) - set(requests)}"
    failed = {name: row["errors"] for name, row in requests.items() if row["failures"]}
    assert not failed
    assert Campaign.objects.filter(name__startswith="Load test").exists()
