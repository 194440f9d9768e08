import pytest

from integrations.klaviyo import services
from tests.klaviyo_fake import FakeKlaviyo

# A key that must never show up anywhere but in the Authorization header.
SENTINEL_KEY = "pk_SENTINEL_never_show_me_7f3a9b2c4d"


@pytest.fixture
def fake(klaviyo_waits):
    """A running fake Klaviyo (empty; tests add data) with the app pointed at it. Its rate-limit
    window moves with the waits the clients record, as if they had slept."""
    with FakeKlaviyo(api_key=SENTINEL_KEY, clock=klaviyo_waits.clock) as server:
        yield server


@pytest.fixture
def klaviyo_settings(settings, fake):
    settings.KLAVIYO_API_URL = fake.url
    settings.KLAVIYO_TIMEOUT = (1.0, 1.0)
    settings.KLAVIYO_API_KEY = ""
    settings.KLAVIYO_SEGMENT_URL_TEMPLATE = "https://www.klaviyo.com/segment/{id}"
    settings.KLAVIYO_LIST_URL_TEMPLATE = "https://www.klaviyo.com/list/{id}"
    return settings


@pytest.fixture
def connected(db, klaviyo_settings, fake):
    """Klaviyo connected with the sentinel key, saved encrypted like a user would."""
    services.klaviyo_key_save(api_key=SENTINEL_KEY, user=None)
    return fake


def run_sync(*channels, user=None):
    """Queue and execute a run for these channels (in the foreground)."""
    run = services.sync_run_create(channels=list(channels), user=user)
    return services.sync_run_execute(run_id=run.pk)
