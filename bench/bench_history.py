"""The CSV import of 100,000 segments with and without its history entries (goal: at most 1.3x).

Each round imports a file of new segments into a fresh channel, then a changed version of it
(every row updated), once with the history written (one entry per segment, in the import's
transaction) and once with it switched off; the variants alternate so load on the machine hits
both. Prints the median of each and the median of the per-round ratios.
"""

import statistics
import tempfile
from pathlib import Path
from unittest import mock

from bench.bench_upload import ROWS, ours, write_csv
from bench.common import report

ROUNDS = 3


def _import(channel, path: Path, *, history: bool) -> float:
    if history:
        return ours(channel, path)[0]
    with mock.patch("segments.bulk.BulkHistory", lambda **kwargs: None):
        return ours(channel, path)[0]


def run() -> None:
    from channels_app.models import Channel
    from history.models import Change
    from segments.models import Segment

    workdir = Path(tempfile.mkdtemp(prefix="aa-bench-history-"))
    first = write_csv(workdir / "segments.csv", ROWS)
    second = write_csv(workdir / "segments-v2.csv", ROWS, version=" v2")
    samples: dict[tuple[str, bool], list[float]] = {}
    for n in range(ROUNDS):
        for history in (n % 2 == 0, n % 2 == 1):
            slug = f"bench-history-{n}-{int(history)}"
            Segment.objects.filter(channel__slug=slug).delete()
            Channel.objects.filter(slug=slug).delete()
            channel = Channel.objects.create(slug=slug, name=slug)
            before = Change.objects.count()
            samples.setdefault(("create", history), []).append(
                _import(channel, first, history=history)
            )
            samples.setdefault(("update", history), []).append(
                _import(channel, second, history=history)
            )
            written = Change.objects.count() - before
            assert written == (2 * ROWS if history else 0), written
    for step in ("create", "update"):
        with_history = statistics.median(samples[(step, True)])
        without = statistics.median(samples[(step, False)])
        report(f"history.{step}_100k_s", with_history, "s", without, "the import without history")
        paired = statistics.median(
            a / b for a, b in zip(samples[(step, True)], samples[(step, False)], strict=True)
        )
        print(f"history.{step}_100k: median of per-round ratios {paired:,.2f}x", flush=True)
