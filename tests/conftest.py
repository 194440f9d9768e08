import pytest
from django.test import Client

from tests.factories import ensure_default_channels, make_marketer, make_viewer


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
