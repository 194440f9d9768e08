"""Loaded by pytest before Django (`-p tests.environment` in pyproject.toml).

Tests run with a known environment: no .env file, no real secrets, plain http, tasks run
immediately unless a test asks for the queue. DATABASE_URL is kept, so the same suite runs on
SQLite (default) and PostgreSQL.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ["DJANGO_DOTENV"] = "0"
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_SECRET_KEY"] = "tests-only-secret-key-that-is-long-enough-and-random-9f3k2"
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"
os.environ["DJANGO_SECURE_COOKIES"] = "false"
os.environ["DJANGO_STATIC_MANIFEST"] = "false"
os.environ["DJANGO_TASKS_BACKEND"] = "immediate"
os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
# A fixed test key: nothing real is ever encrypted with it.
os.environ["ENCRYPTION_KEYS"] = "hWq0sQ6xLZb1n9w0m1kqv3JvQx5m0S7yGfQe2o8b1dE="
os.environ["KLAVIYO_API_KEY"] = ""
os.environ["KLAVIYO_API_URL"] = "http://127.0.0.1:9"
# On SQLite the test database is a file, not memory, so that worker processes started by the
# fault tests (tests/faults/) share it. One folder per run: parallel runs do not collide.
if not os.environ.get("DJANGO_TEST_SQLITE_NAME"):
    _folder = tempfile.mkdtemp(prefix="aa-tests-")
    atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    os.environ["DJANGO_TEST_SQLITE_NAME"] = str(Path(_folder) / "test.sqlite3")
# Playwright's sync API runs an event loop in the test thread; the ORM calls in browser tests
# are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
