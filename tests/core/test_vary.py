"""Every URL says its answer varies with `HX-Request`, so Back never shows a partial as the page."""

import pytest
from django.urls import reverse
from django.utils.cache import has_vary_header

from tests.core.test_access import ALL_ROUTES, _concrete
from tests.factories import make_audience, make_campaign, make_segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize(("name", "route"), ALL_ROUTES, ids=[r[1] or "/" for r in ALL_ROUTES])
def test_every_url_varies_on_hx_request(staff_client, channels, htmx_headers, name, route):
    url = _concrete(route)
    for headers in ({}, htmx_headers):
        response = staff_client.get(url, headers=headers)
        assert has_vary_header(response, "HX-Request"), (url, headers, response.status_code)


def test_redirects_to_log_in_vary_too(client, htmx_headers):
    for headers in ({}, htmx_headers):
        response = client.get(reverse("campaigns:list"), headers=headers)
        assert has_vary_header(response, "HX-Request")


def _pages(email):
    vip = make_segment(email, name="VIP")
    make_audience(email, name="Loyal", include=[vip])
    make_campaign(email, name="Spring", include=[vip])
    return [
        (reverse("segments:list", args=["email"]), "segment-results"),
        (reverse("audiences:list", args=["email"]), "audience-results"),
        (reverse("campaigns:list"), "campaign-results"),
        (reverse("campaigns:calendar"), "calendar"),
        (reverse("klaviyo:settings"), "klaviyo-history"),
        (reverse("uploads:history"), "upload-history"),
    ]


def test_a_page_and_its_partial_share_a_url_and_both_say_so(staff_client, email, htmx_headers):
    for url, region in _pages(email):
        page = staff_client.get(url)
        partial = staff_client.get(url, headers=htmx_headers)
        assert page.status_code == partial.status_code == 200, url
        # The two answers really differ: only the page has the header and navigation.
        assert b'class="topbar"' in page.content, url
        assert b'class="topbar"' not in partial.content, url
        for response in (page, partial):
            assert has_vary_header(response, "HX-Request"), (url, region)


def test_a_history_restore_gets_the_whole_page(staff_client, email, htmx_headers):
    headers = {**htmx_headers, "HX-History-Restore-Request": "true"}
    response = staff_client.get(
        reverse("segments:list", args=["email"]) + "?q=vip", headers=headers
    )
    assert b'class="topbar"' in response.content
    assert has_vary_header(response, "HX-Request")
