"""Run the benchmarks: `python -m bench [name ...]` (names without the bench_ prefix).

The database is a fresh SQLite file in a temporary folder unless BENCH_DATABASE_URL names
another one (e.g. a PostgreSQL database to run the same figures there).
"""

import importlib
import os
import pkgutil
import sys
import tempfile
import time
from pathlib import Path


def prepare(database_url: str | None = None) -> None:
    """Bench settings on a fresh temporary folder, Django set up and the database migrated.
    The database is `database_url`, else BENCH_DATABASE_URL, else a SQLite file in the folder."""
    workdir = Path(tempfile.mkdtemp(prefix="aa-bench-"))
    (workdir / "static").mkdir()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DOTENV="0",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="bench-only-secret-key-that-is-long-enough-to-be-accepted-xyz",
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        DJANGO_STATIC_MANIFEST="false",
        DJANGO_TASKS_BACKEND="immediate",
        DJANGO_LOG_LEVEL="ERROR",
        DJANGO_DATA_DIR=str(workdir),
        DJANGO_STATIC_ROOT=str(workdir / "static"),
        ENCRYPTION_KEYS="hWq0sQ6xLZb1n9w0m1kqv3JvQx5m0S7yGfQe2o8b1dE=",
    )
    os.environ["DATABASE_URL"] = database_url or os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main(argv: list[str]) -> int:
    prepare()
    from django.db import connection

    print(f"# database: {connection.vendor}; python {sys.version.split()[0]}", flush=True)

    import bench

    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )
    wanted = argv or available
    unknown = set(wanted) - set(available)
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(sorted(unknown))}. Known: {', '.join(available)}")
        return 2
    for name in wanted:
        print(f"## {name}", flush=True)
        start = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").run()
        print(f"# {name} took {time.perf_counter() - start:,.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
