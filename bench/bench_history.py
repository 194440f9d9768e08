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
from bench.common import median_ms, report

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
            Change.objects.filter(channel_id__in=Channel.objects.filter(slug=slug)).delete()
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
    _run_page(first, workdir)


def _run_page(path: Path, workdir: Path) -> None:
    """The upload page's list of changed segments: its count and a page, first and last, for a
    run of 100,000 entries against one of 1,000."""
    from access_audience.pagination import paginate
    from channels_app.models import Channel
    from history.actor import acting_as, run_actor
    from history.models import Change
    from history.selectors import run_change_list
    from segments.models import Segment

    small = write_csv(workdir / "small.csv", 1000)
    figures = {}
    for rows, csv_path, run_id in ((ROWS, path, 990_001), (1000, small, 990_002)):
        slug = f"bench-history-run-{rows}"
        Segment.objects.filter(channel__slug=slug).delete()
        Channel.objects.filter(slug=slug).delete()
        Change.objects.filter(run_kind="upload", run_id=run_id).delete()
        channel = Channel.objects.create(slug=slug, name=slug)
        with acting_as(run_actor(kind="upload", run_id=run_id, label="Upload #bench")):
            ours(channel, csv_path)
        for where in ("1", "last"):
            number = "1" if where == "1" else str(10**9)  # the last page (paginate clamps)

            def read(number=number, run_id=run_id):
                page = paginate(run_change_list(run_kind="upload", run_id=run_id), number)
                return [change.lines for change in page.object_list]

            figures[(rows, where)] = median_ms(read, repeat=20, warmup=2)
    for where in ("1", "last"):
        report(
            f"history.run_page_{where}_at_100k_ms",
            figures[(ROWS, where)],
            "ms",
            figures[(1000, where)],
            "the same page at 1,000",
        )
