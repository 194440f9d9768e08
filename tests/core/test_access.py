"""Every page needs a login, every write needs CSRF, and htmx gets whole-page redirects."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

pytestmark = pytest.mark.django_db

# Pages anyone may open.
PUBLIC = {
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "healthz",
    "admin:login",
}
SAMPLE_VALUES = {"int": "1", "slug": "email", "str": "x", "path": "x", "uuid": str(uuid.uuid4())}


def _route_patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # the admin's regex catch-alls are covered through its own pages
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _route_patterns(entry, route, ns)
        elif isinstance(entry, URLPattern):
            name = ":".join(filter(None, [namespace, entry.name or ""]))
            yield name, route


def _concrete(route: str) -> str:
    """The route with a sample value in each <converter:name>."""

    def sample(match: re.Match) -> str:
        return SAMPLE_VALUES.get(match.group(1) or "str", "1")

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", sample, route)


ALL_ROUTES = sorted(set(_route_patterns(get_resolver())), key=lambda r: r[1])


def test_the_walk_sees_the_project_urls():
    names = {name for name, _ in ALL_ROUTES}
    assert {"home", "segments:list", "audiences:list", "campaigns:list"} <= names


@pytest.mark.parametrize(("name", "route"), ALL_ROUTES, ids=[r[1] or "/" for r in ALL_ROUTES])
def test_anonymous_visitors_are_sent_to_log_in(client, name, route):
    url = _concrete(route)
    response = client.get(url)
    if name in PUBLIC:
        assert response.status_code in {200, 302}
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("login"))
        return
    if url.startswith("/admin/") and response["Location"].startswith(reverse("admin:login")):
        return
    assert response.status_code == 302, url
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_htmx_request_without_session_redirects_the_whole_page(client, htmx_headers):
    headers = {**htmx_headers, "HX-Current-URL": "http://testserver/channels/email/segments/?q=vip"}
    response = client.get("/channels/email/segments/?q=vip", headers=headers)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/channels/email/segments/%3Fq%3Dvip"
    assert b"Log in" not in response.content


def test_post_without_csrf_token_is_refused(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    assert b"This form expired" in response.content
    # Still logged in: the refused request changed nothing.
    assert client.get(reverse("home")).status_code == 200


def test_post_with_csrf_token_from_the_page_is_accepted(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    page = client.get(reverse("home"))
    token = page.context["csrf_token"]
    assert f'"X-CSRFToken": "{token}"'.encode() in page.content  # htmx sends it from <body>
    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_logged_in_user_sees_a_styled_404(marketer_client):
    response = marketer_client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"We can't find that page" in response.content


def test_unknown_channel_is_a_404(marketer_client, channels):
    response = marketer_client.get("/channels/nope/segments/")
    assert response.status_code == 404
    assert b"We can't find that page" in response.content
