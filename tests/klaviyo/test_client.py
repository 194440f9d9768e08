"""The HTTP client against the real fake server: pagination, headers, retries, error types.

The client's waits are recorded, never slept (the `klaviyo_waits` fixture in tests/conftest.py).
"""

import pytest

from integrations.klaviyo.client import (
    REVISION,
    KlaviyoAuthError,
    KlaviyoBadResponse,
    KlaviyoBlocked,
    KlaviyoClient,
    KlaviyoPaginationError,
    KlaviyoRequestError,
    KlaviyoScopeError,
    KlaviyoServerError,
    KlaviyoThrottled,
    KlaviyoUnreachable,
)
from tests.klaviyo.conftest import SENTINEL_KEY
from tests.klaviyo_fake import FakeKlaviyo, object_id


def fetch(fake, kind="segment", **kwargs):
    kwargs.setdefault("timeout", (1.0, 1.0))
    with KlaviyoClient(SENTINEL_KEY, base_url=fake.url, **kwargs) as client:
        return [obj for page in client.iter_pages(kind) for obj in page.objects]


def test_follows_next_links_to_the_end_with_pinned_headers_and_sparse_fields(fake):
    for i in range(25):
        fake.set("segment", object_id("segment", i), f"Segment {i}")
    objects = fetch(fake)
    assert [o.name for o in objects] == [f"Segment {i}" for i in range(25)]
    assert {o.kind for o in objects} == {"segment"}
    assert fake.data_requests == 3  # pages of 10, 10, 5
    first = fake.requests[0]
    assert first["headers"]["revision"] == REVISION
    assert first["headers"]["Authorization"] == f"Klaviyo-API-Key {SENTINEL_KEY}"
    assert "fields[segment]=name" in first["query"].replace("%5B", "[").replace("%5D", "]")
    assert "page[cursor]" in fake.requests[1]["query"].replace("%5B", "[").replace("%5D", "]")


def test_lists_have_their_own_endpoint_and_kind(fake):
    fake.set("list", "L00001", "Newsletter")
    fake.set("list", "L00002", None)  # Klaviyo allows a null name
    objects = fetch(fake, "list")
    assert [(o.id, o.kind, o.name) for o in objects] == [
        ("L00001", "list", "Newsletter"),
        ("L00002", "list", "Unnamed Klaviyo list L00002"),
    ]


def test_a_bad_key_is_an_auth_error(fake):
    client = KlaviyoClient("pk_wrong_key_123456", base_url=fake.url)
    with pytest.raises(KlaviyoAuthError, match="rejected the API key"):
        list(client.iter_pages("segment"))


def test_a_missing_scope_says_which(db):
    with FakeKlaviyo(api_key=SENTINEL_KEY, scopes={"lists:read"}) as fake:
        with pytest.raises(KlaviyoScopeError) as caught:
            fetch(fake, "segment")
        assert caught.value.scope == "segments:read"
        assert "segments:read" in str(caught.value)
        assert fetch(fake, "list") == []


def test_check_access_names_both_scopes_when_both_are_missing():
    with FakeKlaviyo(api_key=SENTINEL_KEY, scopes=set()) as fake:
        client = KlaviyoClient(SENTINEL_KEY, base_url=fake.url)
        with pytest.raises(KlaviyoScopeError, match="segments:read and lists:read"):
            client.check_access()


def test_page_size_above_ten_is_a_clear_400(fake):
    client = KlaviyoClient(SENTINEL_KEY, base_url=fake.url)
    with pytest.raises(KlaviyoRequestError, match=r"HTTP 400.*page\[size\]"):
        client._get(client.first_url("segment", page_size=11), kind="segment")
    assert fake.data_requests == 1  # a 400 is not retried


def test_429_with_retry_after_is_retried_after_waiting(fake, klaviyo_waits):
    fake.set("segment", "S00001", "VIP")
    fake.fault("429", times=1, retry_after=1)
    assert [o.name for o in fetch(fake)] == ["VIP"]
    # The second it was told, and a little slack (retrying too early always fails).
    assert len(klaviyo_waits) == 1 and 1.0 <= klaviyo_waits[0] <= 1.1
    assert fake.data_requests == 2


def test_429_without_retry_after_reads_the_expected_available_detail(fake, klaviyo_waits):
    fake.set("segment", "S00001", "VIP")
    fake.fault("429_no_retry_after", times=1, retry_after=1)
    assert len(fetch(fake)) == 1
    assert len(klaviyo_waits) == 1 and 1.0 <= klaviyo_waits[0] <= 1.1


def test_429_with_no_hint_backs_off_with_jitter():
    waits = []
    with FakeKlaviyo(api_key=SENTINEL_KEY, segments=3) as fake:
        fake.fault("429_bare", times=2)
        assert len(fetch(fake, sleep=waits.append)) == 3
    assert len(waits) == 2
    assert 0.25 <= waits[0] <= 0.75 and 0.375 <= waits[1] <= 1.125


def test_429_past_the_wait_budget_says_when_to_try_again(fake):
    fake.fault("429", times=None, retry_after=30)
    with pytest.raises(KlaviyoThrottled, match="try again in 30 seconds") as caught:
        fetch(fake, wait_budget=5)
    assert caught.value.retry_after >= 30
    assert fake.data_requests == 1


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_server_errors_are_retried_a_bounded_number_of_times(fake, status):
    fake.set("segment", "S00001", "VIP")
    fake.fault(status, times=2)
    assert len(fetch(fake, sleep=lambda s: None)) == 1
    fake.clear_faults()
    fake.fault(status, times=None)
    with pytest.raises(KlaviyoServerError, match=f"HTTP {status}"):
        fetch(fake, sleep=lambda s: None)
    assert fake.data_requests == 3 + 4  # two failures + success, then 1 try + 3 retries


def test_a_response_slower_than_the_read_timeout_is_retried_then_reported(fake):
    fake.set("segment", "S00001", "VIP")
    fake.fault("slow", times=1, seconds=0.6)
    assert len(fetch(fake, timeout=(1.0, 0.3), sleep=lambda s: None)) == 1
    fake.fault("slow", times=None, seconds=0.6)
    with pytest.raises(KlaviyoUnreachable, match="did not answer in time"):
        fetch(fake, timeout=(1.0, 0.3), sleep=lambda s: None)


def test_nothing_listening_is_unreachable():
    client = KlaviyoClient(SENTINEL_KEY, base_url="http://127.0.0.1:9", sleep=lambda s: None)
    with pytest.raises(KlaviyoUnreachable, match="could not be reached"):
        list(client.iter_pages("segment"))


def test_malformed_json_is_a_bad_response(fake):
    fake.fault("malformed_json", times=1)
    with pytest.raises(KlaviyoBadResponse, match="not valid JSON"):
        fetch(fake)


def test_an_html_403_is_not_mistaken_for_a_scope_problem(fake):
    fake.fault("html_403", times=1)
    with pytest.raises(KlaviyoBlocked, match="web page instead of an API answer"):
        fetch(fake)


def test_a_looping_cursor_is_stopped(fake):
    for i in range(30):
        fake.set("segment", object_id("segment", i), f"Segment {i}")
    fake.fault("cursor_loop", times=None, after=1)
    with pytest.raises(KlaviyoPaginationError, match="cursor loop"):
        fetch(fake)
    assert fake.data_requests <= 3


def test_the_page_count_is_bounded(fake):
    for i in range(30):
        fake.set("segment", object_id("segment", i), f"Segment {i}")
    with pytest.raises(KlaviyoPaginationError, match="past 2"):
        fetch(fake, max_pages=2)


def test_a_next_link_to_another_host_is_never_followed(fake):
    for i in range(15):
        fake.set("segment", object_id("segment", i), f"Segment {i}")
    fake.fault("foreign_next", times=1)
    with pytest.raises(KlaviyoPaginationError, match="outside"):
        fetch(fake)


def test_the_ratelimit_headers_slow_the_client_down_before_klaviyo_throttles(klaviyo_waits):
    # The fake's window moves with the recorded waits, as if the client had slept them.
    with FakeKlaviyo(api_key=SENTINEL_KEY, segments=60, clock=klaviyo_waits.clock) as fake:
        fake.rate_limit(limit=3, window=0.5)
        assert len(fetch(fake)) == 60
        throttled = [r for r in fake.requests if r["path"] == "/api/segments"]
    assert klaviyo_waits, "the client never slowed down"
    # It paused on RateLimit-Remaining instead of running into many 429s.
    assert len(throttled) <= 6 + 2


def test_404_and_410_are_not_retried_and_say_what_is_wrong(fake):
    client = KlaviyoClient(SENTINEL_KEY, base_url=fake.url + "/nowhere")
    with pytest.raises(KlaviyoRequestError, match="does not know the segments endpoint"):
        list(client.iter_pages("segment"))
    fake.fault("410", times=None)
    with pytest.raises(KlaviyoRequestError, match=f"no longer serves API revision {REVISION}"):
        fetch(fake)
    assert fake.data_requests == 1  # the 404 never reached a data path; the 410 was tried once
