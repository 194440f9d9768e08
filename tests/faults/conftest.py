"""Real worker processes against the test database, and killing them.

The worker is a separate process (`manage.py db_worker` with the database task backend) that
shares the test database, so these tests commit (`django_db(transaction=True)`) and need a
database another process can open: PostgreSQL, or SQLite in a file (tests/environment.py).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(django_settings.BASE_DIR)
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Generous for a busy machine: each step takes a second or two on an idle one.
WAIT_SECONDS = 30


def worker_database_url() -> str:
    """DATABASE_URL of the database this test runs on, for a worker process to use."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(db["USER"] or "", safe="")
        password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
        host = db["HOST"] or "localhost"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"
    name = str(db["NAME"])
    assert connection.vendor == "sqlite" and not connection.is_in_memory_db(), (
        f"A worker process cannot share the {connection.vendor} test database {name!r}: "
        "use PostgreSQL or a SQLite file (DJANGO_TEST_SQLITE_NAME, see tests/environment.py)."
    )
    return f"sqlite:///{Path(name).resolve()}"


class Workers:
    """Starts worker processes with the tests' environment; kills whatever is left at the end."""

    def __init__(self, tmp_path: Path, data_dir: Path):
        self.tmp_path = tmp_path
        self.data_dir = data_dir
        self.temp = tmp_path / "tmp"
        self.temp.mkdir()
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "DJANGO_TASKS_BACKEND": "database",
            "DJANGO_DATA_DIR": str(self.data_dir),
            "KLAVIYO_API_URL": django_settings.KLAVIYO_API_URL,
            # A killed import leaves its scratch files here, not in the machine's /tmp.
            "TMPDIR": str(self.temp),
            "PYTHONUNBUFFERED": "1",
        }

    def _start(self, args: list[str], name: str) -> tuple[subprocess.Popen, Path]:
        log = self.tmp_path / f"{name}-{len(self.processes)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append((process, log))
        return process, log

    def start_pausing(self, marker: Path) -> subprocess.Popen:
        """A worker that stops inside the first write transaction (tests/faults/pausing_worker)."""
        process, _ = self._start(
            ["-m", "tests.faults.pausing_worker", str(marker), *self.worker_options()], "paused"
        )
        return process

    def run_batch(self) -> None:
        """A normal worker that runs every queued task, then exits."""
        process, log = self._start(
            ["manage.py", "db_worker", "--batch", *self.worker_options()], "batch"
        )
        try:
            code = process.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"The worker did not finish in {WAIT_SECONDS} s:\n{self.tail(log)}")
        assert code == 0, f"The worker exited with {code}:\n{self.tail(log)}"

    @staticmethod
    def worker_options() -> list[str]:
        return ["--interval", "0.1", "--no-startup-delay", "--no-reload"]

    def wait_for(self, what: str, condition: Callable[[], bool], process=None) -> None:
        """Poll `condition` for at most WAIT_SECONDS; fail saying what did not happen."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if process is not None and process.poll() is not None:
                pytest.fail(
                    f"The worker exited ({process.returncode}) before {what}:\n"
                    f"{self.tail(self.log_of(process))}"
                )
            if time.monotonic() > deadline:
                logs = "\n".join(self.tail(log) for _, log in self.processes)
                pytest.fail(f"Waited {WAIT_SECONDS} s for {what}, in vain:\n{logs}")
            time.sleep(0.05)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL, as when the machine runs out of memory or the container is stopped."""
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=WAIT_SECONDS)
        assert process.returncode == -signal.SIGKILL

    def log_of(self, process: subprocess.Popen) -> Path:
        return next(log for p, log in self.processes if p is process)

    @staticmethod
    def tail(log: Path) -> str:
        text = log.read_text(errors="replace") if log.exists() else ""
        return f"--- {log.name} ---\n{text[-3000:]}"

    def close(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_SECONDS)


@pytest.fixture
def data_dir(tmp_path, settings):
    """DJANGO_DATA_DIR for the workers; uploaded files go to its uploads/ folder, as in
    settings.py, so this process and the workers find the same files."""
    path = tmp_path / "data"
    settings.UPLOAD_DIR = path / "uploads"
    return path


@pytest.fixture
def workers(tmp_path, data_dir, settings):
    """Worker processes with the tests' environment (tests/environment.py) and the test
    database; this process queues tasks in that database too."""
    settings.TASKS = DATABASE_TASKS
    pool = Workers(tmp_path, data_dir)
    try:
        yield pool
    finally:
        pool.close()
