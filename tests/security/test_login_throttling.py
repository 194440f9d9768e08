"""Login throttling (django-axes): guessing passwords gets a username locked out for a while
from that address, on the app's login and the admin's alike, without telling who exists."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, make_marketer, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")


@pytest.fixture(autouse=True)
def known_limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def log_in(client, username, password, url=LOGIN, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(client, username, times, url=LOGIN, ip="10.0.0.1"):
    """Wrong passwords: the form again with its error, until the limit's failure locks out."""
    for attempt in range(1, times + 1):
        response = log_in(client, username, "wrong password", url=url, ip=ip)
        assert response.status_code == (429 if attempt >= 5 else 200), attempt


def is_logged_in(client) -> bool:
    return client.get(reverse("home")).status_code == 200


def test_a_few_typos_do_not_lock_anyone_out(client):
    make_marketer()
    fail(client, "marketer", 4)
    response = log_in(client, "marketer", PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)
    # A success forgets the failures: four more typos later are still fine.
    client.post(reverse("logout"))
    fail(client, "marketer", 4)
    assert log_in(client, "marketer", PASSWORD).status_code == 302


def test_repeated_failures_lock_out_even_the_right_password(client):
    make_marketer()
    fail(client, "marketer", 5)
    response = log_in(client, "marketer", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    page = response.content.decode()
    assert "Too many failed attempts" in page
    assert "Try again in 15 minutes, after" in page
    assert 'href="/accounts/password_reset/"' in page
    assert "Content-Security-Policy" in response  # the app's own styled page
    assert not is_logged_in(client)


def test_the_lockout_ends_after_the_cool_off(client):
    make_marketer()
    fail(client, "marketer", 5)
    assert log_in(client, "marketer", PASSWORD).status_code == 429
    # Sixteen minutes later (the attempts are what the cool-off is counted from).
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert log_in(client, "marketer", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_the_cool_off_comes_from_the_settings(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    make_marketer()
    assert log_in(client, "marketer", "wrong").status_code == 200
    assert log_in(client, "marketer", "wrong").status_code == 429
    response = log_in(client, "marketer", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 1 minute, after" in response.content.decode()


def test_the_admin_login_is_throttled_too(client):
    make_user("root", is_staff=True, is_superuser=True)
    fail(client, "root", 5, url=ADMIN_LOGIN)
    response = log_in(client, "root", PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302  # still not in
    # Failures on one login page count on the other: same account, same address.
    assert log_in(client, "root", PASSWORD).status_code == 429


def test_the_lockout_is_per_username_and_address(client):
    make_marketer()
    make_user("colleague")
    fail(client, "marketer", 5, ip="10.0.0.1")
    assert log_in(client, "marketer", PASSWORD, ip="10.0.0.1").status_code == 429
    # A colleague behind the same address, and the same user elsewhere, are not locked out.
    assert log_in(Client(), "colleague", PASSWORD, ip="10.0.0.1").status_code == 302
    assert log_in(Client(), "marketer", PASSWORD, ip="10.0.0.2").status_code == 302


def _visible_text(response) -> str:
    html = response.content.decode()
    html = re.sub(r'nonce="[^"]*"', "", html)
    html = re.sub(r"<time [^>]*>[^<]*</time>", "", html)  # when to try again: a clock time
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)


def test_a_lockout_does_not_tell_whether_the_account_exists(client):
    make_marketer()
    fail(client, "marketer", 5)
    fail(client, "nobody-by-this-name", 5)
    real = log_in(client, "marketer", PASSWORD)
    ghost = log_in(client, "nobody-by-this-name", PASSWORD)
    assert real.status_code == ghost.status_code == 429
    assert _visible_text(real) == _visible_text(ghost)
    assert "marketer" not in real.content.decode()


def test_force_login_is_not_throttled(client):
    """Tests, benchmarks and the browser fixture log in without a password; axes ignores that."""
    user = make_marketer()
    fail(client, "marketer", 5)
    other = Client()
    other.force_login(user)
    assert is_logged_in(other)


def test_behind_proxies_the_address_comes_from_x_forwarded_for(client, settings):
    settings.LOGIN_PROXY_COUNT = 1
    make_marketer()
    # The client's own X-Forwarded-For entries (left) are ignored; the proxy's (right) counts.
    for spoofed in range(5):
        client.post(
            LOGIN,
            {"username": "marketer", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{spoofed}, 203.0.113.7",
        )
    response = client.post(
        LOGIN,
        {"username": "marketer", "password": PASSWORD},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7",
    )
    assert response.status_code == 429
    other = client.post(
        LOGIN,
        {"username": "marketer", "password": PASSWORD},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302


@pytest.mark.parametrize(
    ("env", "limit", "minutes"),
    [({}, 5, 15), ({"AXES_FAILURE_LIMIT": "3", "AXES_COOLOFF_MINUTES": "60"}, 3, 60)],
)
def test_limit_and_cool_off_come_from_the_environment(env, limit, minutes):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AXES_")}
    environ.update(DJANGO_DOTENV="0", DJANGO_DEBUG="true", **env)
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds() // 60),"
        " s.AXES_LOCKOUT_PARAMETERS, s.AUTHENTICATION_BACKENDS[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "access_audience.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(maxsplit=2)
    assert out[:2] == [str(limit), str(minutes)]
    assert "[['username', 'ip_address']] axes.backends.AxesStandaloneBackend" in out[2]
