"""Every text field of every model holds an XSS payload; every page, partial and admin page
is rendered: the payload only ever comes out escaped.

One payload breaks out of every HTML context at once (attribute quotes, <textarea>, <title>,
a tag, a template expression), so a single unescaped output anywhere shows. A second one,
`javascript:alert(1)`, goes into every field too: no link, image or form may point at it.
The rows are written directly, past the forms' validation, as an import or a sync could.
"""

import re

import pytest
from django.db import transaction
from django.test import Client

from tests.core.test_access import ALL_ROUTES
from tests.security.conftest import build_world
from tests.security.test_permission_matrix import concrete_url

pytestmark = pytest.mark.django_db

HTML_PAYLOAD = "'\"><script>alert(1)</script></textarea></title><img src=x onerror=alert(1)>{{7*7}}"
# What shows when the payload (or any part of it) came out unescaped.
UNESCAPED = ['"><script>', "<script>alert(1)", "</textarea></title>", "<img src=x onerror"]
URL_PAYLOAD = "javascript:alert(1)"
URL_SINK = re.compile(
    r"""(?:href|src|action|formaction|hx-get|hx-post|data-url)\s*=\s*["']?\s*javascript:""",
    re.IGNORECASE,
)
# The query string is reflected too (search boxes, filters, pagination links).
REFLECTED = dict.fromkeys(
    ("q", "status", "order", "page", "channel", "month", "audience", "next", "run"), HTML_PAYLOAD
)

# The payload as Django escapes it: proof the sweep looks at pages that show the data.
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
MUST_SHOW_THE_DATA = [
    "channels/<slug:channel_slug>/segments/",
    "channels/<slug:channel_slug>/segments/<int:pk>/",
    "channels/<slug:channel_slug>/audiences/",
    "channels/<slug:channel_slug>/audiences/<int:pk>/",
    "channels/<slug:channel_slug>/audiences/<int:pk>/edit/",
    "campaigns/",
    "campaigns/<int:pk>/",
    "campaigns/<int:pk>/edit/",
    "campaigns/calendar/",
    "data/",
    "data/uploads/<int:pk>/map/",
    "integrations/klaviyo/",
    "integrations/klaviyo/runs/<int:run_id>/",
    "integrations/klaviyo/campaigns/<int:campaign_id>/",
    "admin/segments/segment/",
    "admin/segments/segment/<path:object_id>/change/",
    "admin/campaigns/campaign/<path:object_id>/change/",
    "admin/auth/user/",
    "admin/axes/accessattempt/",
]
ROUTES = sorted({route for _, route in ALL_ROUTES})
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html") and not getattr(
        response, "streaming", False
    )


def _problems(html: str, payload: str, where: str) -> list[str]:
    if payload == URL_PAYLOAD:
        return [f"{where}: {m.group(0)!r}" for m in URL_SINK.finditer(html)]
    found = []
    for token in UNESCAPED:
        at = html.find(token)
        if at >= 0:
            found.append(f"{where}: unescaped {token!r} in …{html[max(0, at - 120) : at + 40]!r}")
    return found


def _sweep(client: Client, world, payload: str) -> tuple[list[str], set[str]]:
    problems, showing = [], set()
    for route in ROUTES:
        url = concrete_url(route, world)
        requests = [("GET", url, {}, {}), ("GET", url, REFLECTED, {}), ("GET", url, {}, HTMX)]
        for method, path, data, headers in requests:
            with transaction.atomic():
                response = client.get(path, data, headers=headers)
                transaction.set_rollback(True)
            where = f"{method} {path}{' (htmx)' if headers else ''}{' ?…' if data else ''}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
            if not _is_html(response):
                continue
            html = response.content.decode()
            problems += _problems(html, payload, where)
            if not data and not headers and ESCAPED in html:
                showing.add(route)
    return problems, showing


# Partials that only a POST renders (htmx swaps after a write).
def _htmx_posts(world) -> list[tuple[str, dict]]:
    slug, segment = "email", world.segment
    return [
        (f"/channels/{slug}/segments/{segment.pk}/active/", {"active": "0"}),
        (f"/integrations/klaviyo/channels/{slug}/switch/", {"enabled": "on"}),
        (f"/integrations/klaviyo/channels/{slug}/sync/", {}),
        ("/integrations/klaviyo/key/", {"api_key": HTML_PAYLOAD}),
        (f"/data/uploads/{world.upload.pk}/read/", {"encoding": "utf-8", "delimiter": ","}),
    ]


@pytest.mark.parametrize("payload", [HTML_PAYLOAD, URL_PAYLOAD], ids=["html", "javascript-url"])
def test_no_page_partial_or_admin_page_renders_a_payload_unescaped(payload):
    world = build_world(text=payload)
    client = Client()
    client.force_login(world.users["superuser"])
    problems, showing = _sweep(client, world, payload)
    # The routes' sample upload is still being mapped; a failed one offers "Start again".
    failed = f"/data/uploads/{world.failed_upload.pk}/"
    for headers in ({}, HTMX):
        html = client.get(failed, headers=headers).content.decode()
        assert "Start again</button>" in html
        problems += _problems(html, payload, f"GET {failed}{' (htmx)' if headers else ''}")
        if payload == HTML_PAYLOAD:
            assert ESCAPED in html, f"{failed} no longer shows the data, the sweep is blind"
    for url, data in _htmx_posts(world):
        with transaction.atomic():
            response = client.post(url, data, headers=HTMX)
            transaction.set_rollback(True)
        assert response.status_code < 500, url
        if _is_html(response):
            problems += _problems(response.content.decode(), payload, f"POST {url} (htmx)")
    assert not problems, "\n".join(problems)
    if payload == HTML_PAYLOAD:
        missing = set(MUST_SHOW_THE_DATA) - showing
        assert not missing, f"These pages no longer show the data, the sweep is blind: {missing}"


def test_a_template_expression_in_data_stays_text(client):
    world = build_world(text=HTML_PAYLOAD)
    client.force_login(world.users["superuser"])
    html = client.get(f"/channels/email/segments/{world.segment.pk}/").content.decode()
    assert "{{7*7}}" in html
    assert "onerror=alert(1)&gt;{{7*7}}" in html
