"""Helpers shared by the benchmarks: timing, reporting, a logged-in client, a gunicorn server.

Every figure is printed as `name: value unit (ratio x vs baseline)`, the baseline being measured
in the same run, because the machines are noisy and only ratios compare across runs.
"""

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timings(fn: Callable[[], object], *, repeat: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median_ms(fn: Callable[[], object], *, repeat: int = 200, warmup: int = 5) -> float:
    return statistics.median(timings(fn, repeat=repeat, warmup=warmup)) * 1000


def report(name: str, value: float, unit: str, baseline: float, baseline_name: str) -> None:
    ratio = value / baseline if baseline else float("nan")
    print(f"{name}: {value:,.3f} {unit} ({ratio:,.2f}x vs {baseline_name})", flush=True)


def logged_in_client(username: str = "bench-user"):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password("bench-password-not-secret")
        user.save()
        user.groups.add(Group.objects.get(name="Marketer"))
    client = Client()
    client.force_login(user)
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(*, workers: int = 2):
    """A gunicorn server on loopback running the bench settings; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def session_cookie_for(client) -> dict[str, str]:
    from django.conf import settings

    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


_floor_cache: dict[str, float] = {}


def floor_ms() -> float:
    """Median in-process latency of the floor view; later benchmarks compare against it."""
    if "ms" not in _floor_cache:
        client = logged_in_client()
        _floor_cache["ms"] = median_ms(lambda: client.get("/bench/floor/"), repeat=300)
    return _floor_cache["ms"]
