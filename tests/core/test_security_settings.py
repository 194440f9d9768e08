import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_pages_carry_security_headers(marketer_client, channels):
    response = marketer_client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    directives = dict(
        ([*part.strip().split(" ", 1), ""])[:2] for part in csp.split(";") if part.strip()
    )
    assert directives["default-src"] == "'self'"
    # Scripts only from this site (a nonce appears only on pages that use one).
    assert re.fullmatch(r"'self'( 'nonce-[\w+/=-]+')?", directives["script-src"])
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_load_no_third_party_assets(marketer_client, channels):
    body = marketer_client.get(reverse("home")).content.decode()
    assert "/static/vendor/htmx/htmx-2.min.js" in body
    assert "https://" not in body.split("<body")[0]  # nothing in <head> comes from elsewhere


def _production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        DJANGO_DOTENV="0",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="audience.example.com",
        DJANGO_SETTINGS_MODULE="access_audience.settings",
        **extra,
    )
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_is_a_clear_error():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_a_rotated_secret_key_keeps_people_logged_in_through_the_fallbacks(marketer, settings):
    from django.test import Client

    old = settings.SECRET_KEY
    kept, dropped = Client(), Client()
    kept.force_login(marketer)
    dropped.force_login(marketer)
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    settings.SECRET_KEY_FALLBACKS = [old]
    assert kept.get(reverse("home")).status_code == 200  # and its session moves to the new key
    settings.SECRET_KEY_FALLBACKS = []
    assert kept.get(reverse("home")).status_code == 200
    assert dropped.get(reverse("home")).status_code == 302  # never seen during the rotation
