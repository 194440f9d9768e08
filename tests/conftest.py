import time

import pytest
from django.test import Client, override_settings

from integrations.klaviyo import client as klaviyo_client
from tests.factories import ensure_default_channels, make_marketer, make_segment, make_viewer

FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher():
    """MD5 for every password a test sets or checks: PBKDF2 costs over half a second a user.
    Production keeps Django's default hashers; nothing here is ever a real password."""
    with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        yield


class Waits(list):
    """The waits, in seconds, a Klaviyo client asked for; none of them is slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    def clock(self) -> float:
        """The time as it would be had every wait been slept (a fake Klaviyo's rate limit)."""
        return time.monotonic() + sum(self)


@pytest.fixture(autouse=True)
def klaviyo_waits(monkeypatch) -> Waits:
    """Every Klaviyo client a test builds, directly or through a service, view or task, records
    its retry and slow-down waits here instead of sleeping."""
    waits = Waits()
    monkeypatch.setattr(klaviyo_client, "default_sleep", waits)
    return waits


@pytest.fixture
def channels(db):
    """Email, SMS and Meta, as the data migration creates them."""
    return ensure_default_channels()


@pytest.fixture
def email(channels):
    return channels["email"]


@pytest.fixture
def sms(channels):
    return channels["sms"]


@pytest.fixture
def meta(channels):
    return channels["meta"]


@pytest.fixture
def marketer(db):
    return make_marketer()


@pytest.fixture
def viewer(db):
    return make_viewer()


@pytest.fixture
def marketer_client(marketer):
    client = Client()
    client.force_login(marketer)
    return client


@pytest.fixture
def viewer_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def htmx_headers():
    """Headers htmx sends with a request that swaps a region of the page."""
    return {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


# Segments of the picker's tests (segments/, audiences/).
@pytest.fixture
def vip(email):
    return make_segment(email, name="VIP", external_id="seg-vip")


@pytest.fixture
def repeat(email):
    return make_segment(email, name="Repeat buyers")


@pytest.fixture
def unsub(email):
    return make_segment(email, name="Unsubscribed 90d")


@pytest.fixture
def sms_segment(sms):
    return make_segment(sms, name="SMS VIP")
