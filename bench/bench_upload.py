"""CSV upload of segments: our streaming import vs django-import-export and raw sqlite3.

- 100,000 rows, four mapped columns (name, Segment ID, link, status), into an empty channel
  (create path) and then a changed file into the same channel (update path). Baselines in the
  same run: django-import-export in bulk mode (its documented fastest configuration:
  use_bulk, batch_size, skip_diff, force_init_instance for creates, CachedInstanceLoader for
  updates) importing the same rows into the same model, and the raw floor of the database: a
  `sqlite3` executemany of the same rows read with the csv module, or on PostgreSQL a `COPY`
  of them into a table with the same indexes (goals: at least 5x import-export, within 2x of
  the raw floor).
- 1,000,000 rows in a subprocess: peak resident memory of the import (goal: < 250 MB).
"""

import csv
import importlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, report

ROWS = 100_000
BIG_ROWS = 1_000_000
MAPPING = {
    "name": {"column": "Segment name"},
    "external_id": {"column": "Segment ID"},
    "link": {"column": "Link"},
    "is_active": {"column": "Status"},
}


def write_csv(path: Path, rows: int, *, version: str = "") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Segment name", "Segment ID", "Link", "Status"])
        for i in range(rows):
            writer.writerow(
                [
                    f"Segment {i}{version}",
                    f"seg-{i}",
                    f"https://example.com/segments/{i}{version.strip().replace(' ', '-')}",
                    "active" if i % 3 else "inactive",
                ]
            )
    return path


def ours(channel, path: Path) -> tuple[float, object]:
    from integrations.uploads.services import segments_import

    start = time.perf_counter()
    result = segments_import(
        channel=channel, path=path, encoding="utf-8", delimiter=",", mapping=MAPPING
    )
    elapsed = time.perf_counter() - start
    result.errors.close()
    assert result.written and not result.invalid, result
    return elapsed, result


def import_export(channel, path: Path, *, creating: bool) -> float:
    import tablib
    from import_export import fields, resources
    from import_export.instance_loaders import CachedInstanceLoader
    from import_export.widgets import Widget

    from segments.models import Segment

    class StatusWidget(Widget):
        def clean(self, value, row=None, **kwargs):
            return str(value).strip().lower() in {"true", "yes", "y", "1", "active"}

    class SegmentResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="Segment name")
        external_id = fields.Field(attribute="external_id", column_name="Segment ID")
        link = fields.Field(attribute="link", column_name="Link")
        is_active = fields.Field(attribute="is_active", column_name="Status", widget=StatusWidget())

        class Meta:
            model = Segment
            fields = ("name", "external_id", "link", "is_active")
            import_id_fields = ("external_id",)
            use_bulk = True
            batch_size = 2000
            skip_diff = True
            skip_html_diff = True
            force_init_instance = creating
            instance_loader_class = CachedInstanceLoader

        def get_queryset(self):
            return Segment.objects.filter(channel=channel)

        def before_save_instance(self, instance, row, **kwargs):
            instance.channel_id = channel.pk
            if not instance.pk:
                instance.source = Segment.Source.CSV

    start = time.perf_counter()
    dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
    result = SegmentResource().import_data(dataset, raise_errors=True)
    elapsed = time.perf_counter() - start
    assert not result.has_errors()
    return elapsed


def _search_index_sql(names: str, table: str) -> list[str]:
    """Migration segments 0002's statements (SQLITE_CREATE or PG_COLUMN + PG_CREATE), for
    another table: a floor with the search index writes what the app's table writes."""
    migration = importlib.import_module("segments.migrations.0002_search_index")
    statements = [getattr(migration, name) for name in names.split()]
    flat = [sql for item in statements for sql in ([item] if isinstance(item, str) else item)]
    return [sql.replace("segments_segment", table) for sql in flat]


def raw_sqlite(path: Path, update_path: Path, *, search_index: bool = False) -> tuple[float, float]:
    """The same rows read with csv and written with sqlite3 executemany: the floor (with
    `search_index`, into a table that also has the FTS5 index and triggers of migration 0002)."""
    workdir = Path(tempfile.mkdtemp(prefix="aa-raw-"))
    db = sqlite3.connect(workdir / "raw.sqlite3")
    db.executescript(
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE segment (id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL,"
        " name TEXT NOT NULL, external_id TEXT NOT NULL, link TEXT NOT NULL,"
        " is_active BOOL NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,"
        " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
        "CREATE UNIQUE INDEX seg_ext ON segment (channel_id, external_id) WHERE external_id != '';"
        # The same indexes as segments_segment, so the floor writes what we write.
        "CREATE INDEX seg_channel ON segment (channel_id);"
        "CREATE INDEX seg_name ON segment (channel_id, name);"
        "CREATE INDEX seg_lower_name ON segment (lower(name), channel_id);"
        "CREATE INDEX seg_updated ON segment (channel_id, updated_at DESC);"
        "CREATE INDEX seg_active ON segment (channel_id, is_active, name);"
    )
    if search_index:
        for sql in _search_index_sql("SQLITE_CREATE", "segment"):
            db.execute(sql)
    now = "2026-01-01 00:00:00"

    def rows(p):
        with open(p, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for name, ext, link, status in reader:
                yield name, ext, link, status == "active"

    start = time.perf_counter()
    with db:
        db.executemany(
            "INSERT INTO segment (channel_id, name, external_id, link, is_active, source, kind,"
            " created_at, updated_at) VALUES (1, ?, ?, ?, ?, 'csv', '', ?, ?)",
            ((n, e, link, a, now, now) for n, e, link, a in rows(path)),
        )
    create = time.perf_counter() - start
    start = time.perf_counter()
    with db:
        db.executemany(
            "UPDATE segment SET name = ?, link = ?, is_active = ?, updated_at = ?"
            " WHERE channel_id = 1 AND external_id = ? AND external_id != ''",
            ((n, link, a, now, e) for n, e, link, a in rows(update_path)),
        )
    update = time.perf_counter() - start
    db.close()
    return create, update


def raw_copy(path: Path, update_path: Path, *, search_index: bool = False) -> tuple[float, float]:
    """PostgreSQL: the same rows read with csv and written with COPY (the update: COPY into a
    temporary table and one UPDATE … FROM), into a scratch table with segments' indexes (with
    `search_index`, also migration 0002's generated column and trigram index)."""
    from django.db import connection

    def rows(p):
        with open(p, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for name, ext, link, status in reader:
                yield name, ext, link, status == "active"

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_segment")
        cursor.execute(
            "CREATE TABLE bench_raw_segment (id bigserial PRIMARY KEY, channel_id bigint NOT NULL,"
            " name varchar(255) NOT NULL, external_id varchar(255) NOT NULL,"
            " link varchar(2000) NOT NULL, is_active boolean NOT NULL, source varchar(10) NOT NULL,"
            " kind varchar(10) NOT NULL, created_at timestamptz NOT NULL,"
            " updated_at timestamptz NOT NULL)"
        )
        for sql in (
            "CREATE UNIQUE INDEX ON bench_raw_segment (channel_id, external_id)"
            " WHERE external_id <> ''",
            "CREATE INDEX ON bench_raw_segment (channel_id)",
            "CREATE INDEX ON bench_raw_segment (channel_id, name)",
            "CREATE INDEX ON bench_raw_segment (lower(name), channel_id)",
            "CREATE INDEX ON bench_raw_segment (channel_id, updated_at DESC)",
            "CREATE INDEX ON bench_raw_segment (channel_id, is_active, name)",
        ):
            cursor.execute(sql)
        if search_index:
            for sql in _search_index_sql("PG_COLUMN PG_CREATE", "bench_raw_segment"):
                cursor.execute(sql)
    columns = "channel_id, name, external_id, link, is_active, source, kind, created_at, updated_at"
    now = "2026-01-01 00:00:00+00"
    try:
        start = time.perf_counter()
        copy_sql = f"COPY bench_raw_segment ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for n, e, link, a in rows(path):
                copy.write_row((1, n, e, link, a, "csv", "", now, now))
        create = time.perf_counter() - start
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_raw_changes (name text, external_id text, link text,"
                " is_active boolean)"
            )
            with cursor.cursor.copy("COPY bench_raw_changes FROM STDIN") as copy:
                for row in rows(update_path):
                    copy.write_row(row)
            cursor.execute(
                "UPDATE bench_raw_segment AS s SET name = v.name, link = v.link,"
                " is_active = v.is_active, updated_at = %s FROM bench_raw_changes AS v"
                " WHERE s.channel_id = 1 AND s.external_id = v.external_id",
                [now],
            )
        update = time.perf_counter() - start
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_raw_changes")
            cursor.execute("DROP TABLE IF EXISTS bench_raw_segment")
    return create, update


MEMORY_SCRIPT = r"""
import resource, sys, time
import django
django.setup()
from channels_app.models import Channel
from integrations.uploads.services import segments_import
from bench.bench_upload import MAPPING
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
channel, _ = Channel.objects.get_or_create(slug="bench-million", defaults={"name": "Million"})
start = time.perf_counter()
result = segments_import(channel=channel, path=sys.argv[1], encoding="utf-8", delimiter=",",
                         mapping=MAPPING, dry_run=sys.argv[2] == "dry")
elapsed = time.perf_counter() - start
assert not result.invalid and result.total == int(sys.argv[3]), result
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# VmHWM is this program's own peak; ru_maxrss also carries the parent's peak across exec.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(base, peak, hwm, elapsed)
"""


def peak_memory(
    path: Path, rows: int, mode: str, database_url: str
) -> tuple[float, float, float, float]:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(path), mode, str(rows)],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": database_url,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    base, peak, hwm, elapsed = done.stdout.split()
    return int(base) / 1024, int(peak) / 1024, int(hwm) / 1024, float(elapsed)


def run() -> None:
    from django.conf import settings
    from django.db import connection

    from channels_app.models import Channel

    workdir = Path(tempfile.mkdtemp(prefix="aa-bench-upload-"))

    # The million rows first, while this (parent) process is still small: Linux carries a
    # parent's peak RSS into a child's ru_maxrss across fork and exec.
    big = write_csv(workdir / "million.csv", BIG_ROWS)
    database_url = os.environ["DATABASE_URL"]
    if connection.vendor == "sqlite":
        # A copy of the (migrated, empty) database, so the million rows and their WAL do not
        # slow down the 100,000-row comparisons below.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        copy = workdir / "million.sqlite3"
        shutil.copyfile(settings.DATABASES["default"]["NAME"], copy)
        database_url = f"sqlite:///{copy}"
    for mode in ("write", "dry"):
        base, peak, hwm, elapsed = peak_memory(big, BIG_ROWS, mode, database_url)
        report(f"upload.1m_{mode}_peak_rss", peak, "MB", 250, "250 MB goal")
        print(
            f"upload.1m_{mode}: {BIG_ROWS / elapsed:,.0f} rows/s; own peak (VmHWM) {hwm:,.0f} MB;"
            f" ru_maxrss after django.setup() {base:,.0f} MB",
            flush=True,
        )
    big.unlink()
    first = write_csv(workdir / "segments.csv", ROWS)
    second = write_csv(workdir / "segments-v2.csv", ROWS, version=" v2")

    if connection.vendor == "postgresql":
        raw_name, raw = "raw COPY", raw_copy
    else:
        raw_name, raw = "raw sqlite3", raw_sqlite
    raw_create, raw_update = raw(first, second)
    raw_create_rps, raw_update_rps = ROWS / raw_create, ROWS / raw_update
    indexed_create, indexed_update = raw(first, second, search_index=True)
    indexed_name = f"{raw_name} with the search index"
    indexed_create_rps, indexed_update_rps = ROWS / indexed_create, ROWS / indexed_update

    from segments.models import Segment

    # A PostgreSQL bench database persists between runs: start from nothing of ours.
    Segment.objects.filter(channel__slug__in=["bench-ours", "bench-ie"]).delete()
    Channel.objects.filter(slug__in=["bench-ours", "bench-ie"]).delete()
    ours_channel = Channel.objects.create(slug="bench-ours", name="Ours")
    ie_channel = Channel.objects.create(slug="bench-ie", name="import-export")

    elapsed, result = ours(ours_channel, first)
    assert result.created == ROWS
    ours_create_rps = ROWS / elapsed
    ie_create_rps = ROWS / import_export(ie_channel, first, creating=True)
    report("upload.create_100k_rps", ours_create_rps, "rows/s", ie_create_rps, "import-export")
    report("upload.create_100k_rps_vs_raw", ours_create_rps, "rows/s", raw_create_rps, raw_name)
    report(
        "upload.create_100k_rps_vs_raw_indexed",
        ours_create_rps,
        "rows/s",
        indexed_create_rps,
        indexed_name,
    )

    elapsed, result = ours(ours_channel, second)
    assert result.updated == ROWS
    ours_update_rps = ROWS / elapsed
    ie_update_rps = ROWS / import_export(ie_channel, second, creating=False)
    report("upload.update_100k_rps", ours_update_rps, "rows/s", ie_update_rps, "import-export")
    report("upload.update_100k_rps_vs_raw", ours_update_rps, "rows/s", raw_update_rps, raw_name)
    report(
        "upload.update_100k_rps_vs_raw_indexed",
        ours_update_rps,
        "rows/s",
        indexed_update_rps,
        indexed_name,
    )

    elapsed, result = ours(ours_channel, second)
    assert result.unchanged == ROWS
    report(
        "upload.reimport_unchanged_100k_rps",
        ROWS / elapsed,
        "rows/s",
        ours_update_rps,
        "update path",
    )
