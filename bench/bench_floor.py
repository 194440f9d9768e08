"""The floor: a minimal login-required view through the full middleware stack.

Baseline: the same view with no middleware at all, so the ratio is what the stack
(sessions, auth, CSRF, htmx, CSP, security headers) costs per request.
"""

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.test import Client, override_settings

from bench.common import (
    floor_ms,
    gunicorn,
    logged_in_client,
    median_ms,
    report,
    session_cookie_for,
)


def run() -> None:
    with override_settings(MIDDLEWARE=[]):
        bare = Client()
        bare_ms = median_ms(lambda: bare.get("/bench/floor/"), repeat=300)
    floor = floor_ms()
    print(f"floor.bare_view: {bare_ms:,.3f} ms (1.00x vs bare view)")
    report("floor.in_process_median", floor, "ms", bare_ms, "bare view")
    report("floor.in_process_rps", 1000 / floor, "req/s", 1000 / bare_ms, "bare view")

    client = logged_in_client()
    cookies = session_cookie_for(client)
    with gunicorn(workers=2) as base:
        session = requests.Session()
        session.cookies.update(cookies)
        assert session.get(f"{base}/bench/floor/", allow_redirects=False).status_code == 200
        latency = median_ms(lambda: session.get(f"{base}/bench/floor/"), repeat=300)
        report("floor.gunicorn_median", latency, "ms", floor, "in-process floor")

        total = 1200

        def worker(n: int) -> list[float]:
            s = requests.Session()
            s.cookies.update(cookies)
            out = []
            for _ in range(n):
                start = time.perf_counter()
                s.get(f"{base}/bench/floor/")
                out.append(time.perf_counter() - start)
            return out

        start = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            results = [x for chunk in pool.map(worker, [total // 4] * 4) for x in chunk]
        elapsed = time.perf_counter() - start
        rps = total / elapsed
        report("floor.gunicorn_rps_4_clients", rps, "req/s", 1000 / floor, "in-process floor")
        p95 = statistics.quantiles(results, n=20)[-1] * 1000
        report("floor.gunicorn_p95_4_clients", p95, "ms", floor, "in-process floor")
