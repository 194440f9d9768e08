"""Every GET and POST route of the URL conf, driven by a logged-in Marketer with odd values in
every parameter it takes: huge and negative integers, NUL and other control characters, very
long strings, wrong types, dates out of range and repeated keys. No answer is a 5xx (an
exception fails the test with its traceback), a streamed CSV is read to its end, and a refused
request (4xx, or a form shown again) changes nothing in the database.

The parameters of a route are read from the app's own pages: every form, button, htmx
attribute and link that points at the route gives its field names and ordinary values, so a
new form field is fuzzed without listing it here. Each request runs in a savepoint rolled back
after it, so every request sees the same small world (tests/security/conftest.py).
"""

import json
import logging
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
# The odd values every parameter gets, one kind at a time (the deterministic sweep), and mixed
# by hypothesis. A list is a repeated key.
ODD = {
    "huge integer": HUGE,
    "huge negative integer": "-" + HUGE,
    "bigint edge": "9223372036854775808",
    "NUL": "vip\x00",
    "control characters": "\x01\x08\x1b[31m\x7f\x9f",
    "very long": "x" * 5000,
    "wrong type": "abc",
    "float": "1e309",
    "month out of range": "9999-12",
    "date out of range": "9999-12-31",
    "date too early": "0001-01-01",
    "repeated": ["1", HUGE, "x\x00"],
}
# Keys no page names that a hand-made request may still send.
EXTRA_KEYS = ["page", "q", "next", "month", "channel", "offset", "field", "run", "audience"]
# What a route's path parameters point at, and a huge value for each.
PATH_MODELS = {
    "segments": "segments.Segment",
    "audiences": "audiences.Audience",
    "campaigns": "campaigns.Campaign",
    "uploads": "uploads.Upload",
}
# A refused request writes nothing but the session's and the login throttling's bookkeeping.
ALLOWED_TABLES = ("django_session", "axes_")
WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO|COPY)\s+[\"`]?(\w+)",
    re.IGNORECASE,
)


def _routes(resolver: URLResolver, namespace: str = "", params: tuple = ()):
    for entry in resolver.url_patterns:
        found = params + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _routes(entry, ns, found)
        elif isinstance(entry, URLPattern) and entry.name:
            yield ":".join(filter(None, [namespace, entry.name])), found


# The admin is for staff: a Marketer is sent to its login before any parameter is read.
ROUTES = sorted({r for r in _routes(get_resolver()) if not r[0].startswith("admin:")})


class _Fields(HTMLParser):
    """Targets (form actions, formactions, hx-get/hx-post, links) and the fields sent to each."""

    def __init__(self, page: str):
        super().__init__()
        self.page = page
        self.forms: list[tuple[str, dict]] = []  # (action, fields) per form, in order
        self.loose: dict = {}  # fields outside any form
        self.targets: list[tuple[str, int | None, dict]] = []  # (url, form index, extra fields)
        self.current: int | None = None
        self.select: tuple[dict, str] | None = None
        self.ids: dict[str, int] = {}  # form id → index
        self.choices: set[str] = set()  # names whose values are the page's own choices

    def _fields(self, owner: str | None = None) -> dict:
        if owner in self.ids:
            return self.forms[self.ids[owner]][1]
        return self.forms[self.current][1] if self.current is not None else self.loose

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action") or self.page, {}))
            self.current = len(self.forms) - 1
            if a.get("id"):
                self.ids[a["id"]] = self.current
            self.targets.append((a.get("action") or self.page, self.current, {}))
        name = a.get("name")
        if tag in {"input", "textarea", "button"} and name:
            self._fields(a.get("form")).setdefault(name, a.get("value") or "")
            if tag == "button" or a.get("type") in {"radio", "submit"}:
                self.choices.add(name)
        if tag == "select" and name:
            self.choices.add(name)
            self.select = (self._fields(a.get("form")), name)
            self.select[0].setdefault(name, "")
        if tag == "option" and self.select and "value" in a:
            fields, key = self.select
            if not fields[key]:
                fields[key] = a["value"]
        for attr in ("formaction", "hx-get", "hx-post", "href"):
            if a.get(attr):
                extra = {}
                if a.get("hx-vals"):
                    extra = json.loads(a["hx-vals"])
                if name and attr != "href":
                    extra[name] = a.get("value") or ""
                self.targets.append((a[attr], self.current, extra))

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        if tag == "select":
            self.select = None


def _harvest(client: Client, urls: list[str]) -> dict[str, tuple[dict, set]]:
    """Route name → the fields (with an ordinary value each) the app's pages send to it, and
    which of them are the page's own choices (buttons, radios, selects)."""
    found: dict[str, tuple[dict, set]] = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _Fields(url)
        parser.feed(response.content.decode())
        for target, form, extra in parser.targets:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            try:
                name = resolve(parts.path).view_name
            except Resolver404:
                continue
            fields = dict(parser.forms[form][1]) if form is not None else dict(parser.loose)
            fields |= dict(parse_qsl(parts.query, keep_blank_values=True)) | extra
            known, choices = found.setdefault(name, ({}, set()))
            for key, value in fields.items():
                known.setdefault(key, value)
            choices |= parser.choices & set(fields)
    return found


def _path_values(name: str, params: tuple, world) -> list[dict]:
    """The route's path parameters pointing at real objects, then all of them huge."""
    app = name.split(":")[0]
    real = {}
    for param in params:
        if param == "channel_slug":
            real[param] = world.channels["email"].slug
        elif param == "run_id":
            real[param] = world.run.pk
        elif param == "campaign_id":
            real[param] = world.campaign.pk
        elif param == "pk" and app in PATH_MODELS:
            model = apps.get_model(PATH_MODELS[app])
            real[param] = model.objects.order_by("pk").values_list("pk", flat=True).first()
        else:
            real[param] = {"uidb64": "MQ", "token": "set-password"}.get(param, "x")
    huge = {k: (HUGE if isinstance(v, int) else v) for k, v in real.items()}
    return [real, huge] if huge != real else [real]


def _writes(queries) -> list[str]:
    return [
        q["sql"][:200]
        for q in queries
        for table in WRITE.findall(q["sql"])
        if not table.startswith(ALLOWED_TABLES)
    ]


def _send(client: Client, method: str, url: str, data: dict) -> int:
    """One request, rolled back; fails on a 5xx or on a refusal that wrote to the database."""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        send = client.get if method == "GET" else client.post
        response = send(url, data)
        if response.streaming:
            b"".join(response.streaming_content)  # a CSV that breaks mid-stream raises here
        status = response.status_code
        assert status < 500, (method, url, data, status)
        if status >= 400 or (method == "POST" and status == 200):
            assert _writes(queries) == [], ("a refused request wrote", method, url, data)
        transaction.set_rollback(True)
    return status


@pytest.fixture(autouse=True)
def quiet_request_log():
    """Thousands of expected 403s, 404s and 405s: their warnings only cost time here."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def marketer_client(shared_world) -> Client:
    client = Client()
    client.force_login(shared_world.users["marketer"])
    return client


_HARVESTED: dict = {}


@pytest.fixture
def harvested(shared_world, marketer_client) -> dict[str, tuple[dict, set]]:
    """Read once per module: the module's world does not change between its tests."""
    key = id(shared_world)
    if key not in _HARVESTED:
        urls = [reverse(n, kwargs=_path_values(n, p, shared_world)[0]) for n, p in ROUTES]
        _HARVESTED.clear()
        _HARVESTED[key] = _harvest(marketer_client, urls)
    return _HARVESTED[key]


def test_the_fields_of_the_forms_are_found(harvested):
    assert {"segment", "action", "q"} <= set(harvested["segments:bulk"][0])
    assert "estimated_volume" in harvested["audiences:create"][0]
    assert {"field", "segments-q"} <= set(harvested["segments:picker_search"][0])
    assert "month" in harvested["campaigns:calendar"][0]


@pytest.mark.parametrize(("name", "params"), ROUTES, ids=[r[0] for r in ROUTES])
def test_odd_values_never_break_a_route(name, params, shared_world, marketer_client, harvested):
    fields, choices = harvested.get(name, ({}, set()))
    fields = {k: v for k, v in fields.items() if k != "csrfmiddlewaretoken"}
    keys = sorted(set(fields) | set(EXTRA_KEYS))
    real, *huge_path = [
        reverse(name, kwargs=kwargs) for kwargs in _path_values(name, params, shared_world)
    ]
    # A repeated key whose last value (what .get() reads) is huge, the others not numbers.
    nasty = ["x\x00", "-1", HUGE]
    # A method the route refuses (405) is refused before any parameter is read.
    methods = [m for m in ("GET", "POST") if _send(marketer_client, m, real, fields) != 405]
    for method in methods:
        # The worst values, one field of the page at a time, the others as the page sends them.
        for key in sorted(set(fields) - choices):
            _send(marketer_client, method, real, fields | {key: nasty})
        # Every kind of odd value in every parameter at once, the page's own choices (the
        # action, the channel) kept so the odd values reach the code behind them; then in
        # the choices too.
        for value in ODD.values():
            data = fields | {k: value for k in keys if k not in choices}
            _send(marketer_client, method, real, data)
        _send(marketer_client, method, real, dict.fromkeys(keys, nasty))
        _send(marketer_client, method, real, dict.fromkeys(keys, ODD["NUL"]))
        for url in huge_path:
            _send(marketer_client, method, url, fields)

    # Then hypothesis mixes them: some parameters odd, the others as the page sends them.
    odd = (
        st.sampled_from([*ODD.values(), "", "0", "-1"])
        | st.text(max_size=30)
        | st.integers().map(str)
    )

    @settings(
        max_examples=4,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        method=st.sampled_from(methods),
        changes=st.dictionaries(st.sampled_from(keys), odd, max_size=4),
    )
    def mixed(method, changes):
        _send(marketer_client, method, real, fields | changes)

    mixed()
