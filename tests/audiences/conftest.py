import pytest

from tests.factories import make_segment


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
