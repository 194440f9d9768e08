"""Pages timed against an earlier revision of the code, on the same data, in the same run.

    python -m bench.compare REVISION [campaign_list] [segments] [picker]

Checks REVISION out beside this one (a temporary git worktree sharing this checkout's .venv, with
this checkout's bench/ copied in, so both sides fill the same data), starts one process on each
side that fills its own database and then times requests on demand, and asks them in turn: base,
head, base, for every round. Each round's ratio is head against the mean of the two base figures
around it, so a slow spell of a noisy machine weighs on both sides of a ratio alike. Prints the
median of the rounds' ratios and its quartiles:

    compare.campaign_list.list: 56.4 ms vs 55.9 ms (1.02x vs base, quartiles 0.91-1.12x)

With BENCH_DATABASE_URL naming a PostgreSQL database, each side gets its own database beside it
(`<name>_base`, `<name>_head`), created here and dropped at the end. COMPARE_ROUNDS (15) and
COMPARE_REQUESTS (5, the requests behind each figure) set the effort.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


def _fill_campaigns() -> None:
    from bench.bench_campaign_list import _fill
    from channels_app.models import Channel

    _fill(Channel.objects.get_or_create(slug="bench-list", defaults={"name": "List"})[0])


def _fill_segments() -> None:
    import random

    from bench.bench_segments import MAIN, _fill
    from channels_app.models import Channel

    channel = Channel.objects.get_or_create(slug="email", defaults={"name": "Email"})[0]
    _fill(channel, MAIN, random.Random(42), set())


def _fill_picker() -> None:
    from bench.bench_picker import _fill
    from channels_app.models import Channel

    _fill(Channel.objects.create(slug="bench-big", name="Bench 50k", position=91), 50_000)


_PICKER = "/channels/bench-big/segments/picker/"

# Per set: how its data is made, then (label, path, sent as htmx) for each page timed. Paths are
# written out rather than reversed: a URL name may differ between revisions, the path may not.
PAGE_SETS: dict[str, tuple[Callable[[], None], list[tuple[str, str, bool]]]] = {
    "campaign_list": (
        _fill_campaigns,
        [
            ("list", "/campaigns/", False),
            ("list_page_10", "/campaigns/?page=10", False),
            ("calendar", "/campaigns/calendar/?month=2026-12", False),
        ],
    ),
    "segments": (
        _fill_segments,
        [
            ("tab", "/channels/email/segments/", False),
            ("search_one_word", "/channels/email/segments/?q=vip", True),
            ("search_words", "/channels/email/segments/?q=lapsed%20buyers%20UK", True),
            ("by_updated", "/channels/email/segments/?order=-updated", True),
        ],
    ),
    "picker": (
        _fill_picker,
        [
            ("search_typed", f"{_PICKER}?field=segments&segments-q=winback", True),
            ("first_page", f"{_PICKER}?field=segments&segments-q=", True),
            ("audience_form", "/channels/bench-big/audiences/new/", False),
        ],
    ),
}


def worker(name: str) -> None:
    """One side: fill, then answer `INDEX COUNT` lines with the median ms of COUNT requests."""
    from bench.__main__ import prepare

    prepare(os.environ.get("COMPARE_DATABASE_URL"))
    from django.db import connection

    from bench.common import logged_in_client

    fill, pages = PAGE_SETS[name]
    fill()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a bulk load
    client = logged_in_client()
    print("ready", flush=True)
    for line in sys.stdin:
        index, count = (int(part) for part in line.split())
        _, path, htmx = pages[index]
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            response = client.get(path, headers=HTMX if htmx else {})
            samples.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
        print(statistics.median(samples) * 1000, flush=True)


class _Side:
    def __init__(self, checkout: Path, name: str, database_url: str | None):
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        if database_url:
            env["COMPARE_DATABASE_URL"] = database_url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.compare", "--worker", name],
            cwd=checkout,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> None:
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("A side did not start: see its error above.")

    def ms(self, index: int, count: int) -> float:
        self.process.stdin.write(f"{index} {count}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise SystemExit("A side stopped: see its error above.")
        return float(answer)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def _databases() -> tuple[str | None, str | None, Callable[[], None]]:
    """Each side's database URL (None: a SQLite file of its own), and how to drop them."""
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None, None, lambda: None
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    names = [f"{name}_base", f"{name}_head"]
    admin = urlunsplit(parts._replace(path="/postgres"))

    def run(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql)

    for db in names:
        run(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        run(f'CREATE DATABASE "{db}"')

    def drop() -> None:
        for db in names:
            run(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    base, head = (urlunsplit(parts._replace(path=f"/{db}")) for db in names)
    return base, head, drop


def _checkout(revision: str) -> Path:
    """The revision in a temporary worktree, with this checkout's .venv and bench/."""
    where = Path(tempfile.mkdtemp(prefix="aa-compare-")) / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(where), revision],
        cwd=ROOT,
        check=True,
    )
    (where / ".venv").symlink_to(ROOT / ".venv")
    for source in (ROOT / "bench").glob("*.py"):
        shutil.copy(source, where / "bench" / source.name)
    return where


def compare(revision: str, names: list[str]) -> None:
    rounds = int(os.environ.get("COMPARE_ROUNDS", "15"))
    count = int(os.environ.get("COMPARE_REQUESTS", "5"))
    base_dir = _checkout(revision)
    try:
        for name in names:
            base_db, head_db, drop = _databases()
            base, head = _Side(base_dir, name, base_db), _Side(ROOT, name, head_db)
            try:
                base.ready()
                head.ready()
                for index, (label, _, _) in enumerate(PAGE_SETS[name][1]):
                    base.ms(index, count), head.ms(index, count)  # warm-up
                    ratios, head_ms, base_ms = [], [], []
                    for _ in range(rounds):
                        before, now, after = (
                            base.ms(index, count),
                            head.ms(index, count),
                            base.ms(index, count),
                        )
                        base_ms.append((before + after) / 2)
                        head_ms.append(now)
                        ratios.append(now / base_ms[-1])
                    low, _, high = statistics.quantiles(ratios, n=4)
                    print(
                        f"compare.{name}.{label}: {statistics.median(head_ms):,.1f} ms vs "
                        f"{statistics.median(base_ms):,.1f} ms ({statistics.median(ratios):.2f}x"
                        f" vs {revision}, quartiles {low:.2f}-{high:.2f}x)",
                        flush=True,
                    )
            finally:
                base.stop()
                head.stop()
                drop()
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(base_dir)], cwd=ROOT, check=False
        )
        shutil.rmtree(base_dir.parent, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        worker(argv[1])
        return 0
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    revision, names = argv[0], argv[1:] or list(PAGE_SETS)
    unknown = set(names) - set(PAGE_SETS)
    if unknown:
        print(f"Unknown page set(s): {', '.join(sorted(unknown))}. Known: {', '.join(PAGE_SETS)}")
        return 2
    compare(revision, names)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
