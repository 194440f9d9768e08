"""Benchmark settings: the app's own settings plus a floor view (bench/urls.py)."""

from access_audience.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
