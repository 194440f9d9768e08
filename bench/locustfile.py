"""Logged-in marketers for the load benchmark (bench/bench_load.py runs this with locust).

Each simulated marketer logs in through the login form, then browses a channel's Segments tab,
searches as they type (the htmx partial), toggles segments, opens the audience and campaign
forms, searches in the segment picker and saves campaigns. Every response is checked: a 5xx,
an error page or a bounce to the login page is a failure. Every request's time, status and
failure go to `stats_path` (LOAD_CONFIG names a JSON file with the accounts, the channels and
their audiences), from which bench_load computes exact percentiles.

No Django here: this runs under gevent, in its own process, and speaks only HTTP.
"""

import itertools
import json
import os
import random
import re
import time
from collections import defaultdict
from pathlib import Path

from locust import HttpUser, between, events, task

CONFIG = json.loads(Path(os.environ["LOAD_CONFIG"]).read_text())
ACCOUNTS = CONFIG["accounts"]
CHANNELS = CONFIG["channels"]  # slug -> {"audiences": [ids], "toggle": bool}
TERMS = CONFIG["terms"]  # slug -> search terms (names and Segment IDs) for that channel
THINK = CONFIG.get("think", 1.0)  # scales the pauses between keystrokes and clicks (0: none)
HTMX = {"HX-Request": "true"}

_accounts = itertools.count()
_campaigns = itertools.count(1)

_CSRF_HEADER = re.compile(r"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""")
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_SUBMISSION = re.compile(r'name="submission" value="([0-9a-f]+)"')
_TOGGLE = re.compile(
    r'hx-post="(/channels/[\w-]+/segments/\d+/active/)" hx-vals=\'\{"active": "([01])"\}\''
)
_PICKED = re.compile(r'name="segments-(include|exclude)" value="(\d+)"[^>]*\bchecked\b')
_BASE = re.compile(r'name="segments-(base_include|base_exclude)" value="(\d+)"')
_PICKER_ROW = re.compile(r'name="segments-include" value="(\d+)" data-picker-mark="include">')
_CAMPAIGN_URL = re.compile(r"^/campaigns/(\d+)/$")


# -- what bench_load reads -----------------------------------------------------------------

RECORD: dict[str, dict] = defaultdict(
    lambda: {"ms": [], "status": defaultdict(int), "failures": 0, "errors": defaultdict(int)}
)
TIMES: dict[str, float] = {}
TASK_ERRORS: dict[str, int] = defaultdict(int)  # exceptions inside a task (a page changed?)


@events.request.add_listener
def _record(name, response_time, response=None, exception=None, **kwargs):
    row = RECORD[name]
    row["ms"].append(response_time)
    row["status"][str(getattr(response, "status_code", 0) or 0)] += 1
    if exception is not None:
        row["failures"] += 1
        row["errors"][str(exception)[:200]] += 1


@events.user_error.add_listener
def _task_error(user_instance, exception, tb, **kwargs):
    TASK_ERRORS[f"{type(exception).__name__}: {exception}"[:200]] += 1


@events.test_start.add_listener
def _started(**kwargs):
    TIMES["started"] = time.time()


@events.test_stop.add_listener
def _stopped(**kwargs):
    TIMES["stopped"] = time.time()


@events.quitting.add_listener
def _dump(**kwargs):
    Path(CONFIG["stats_path"]).write_text(
        json.dumps({"times": TIMES, "requests": RECORD, "task_errors": TASK_ERRORS})
    )


# -- the marketers -------------------------------------------------------------------------


def _check(response, *, must: str = "", status: int = 200) -> bool:
    """Mark the response failed unless it is the page we asked for."""
    if response.status_code != status:
        response.failure(f"HTTP {response.status_code}")
        return False
    if "/accounts/login/" in response.url and "/accounts/login/" not in response.request.url:
        response.failure("sent to the login page")
        return False
    if must and must not in response.text:
        response.failure(f"no {must!r} in the page")
        return False
    response.success()
    return True


def _typed(term: str) -> list[str]:
    """What a search box sends while someone types `term` (the input waits 250-300 ms)."""
    cuts = sorted({min(len(term), n) for n in (3, len(term) // 2 + 2, len(term))})
    return [term[:n] for n in cuts if n >= 2]


class Marketer(HttpUser):
    wait_time = between(1 * THINK, 3 * THINK)

    def on_start(self) -> None:
        self.username, self.password = ACCOUNTS[next(_accounts) % len(ACCOUNTS)]
        self.csrf = ""
        self.toggles: list[tuple[str, str]] = []
        self.log_in()
        if CONFIG.get("every_task_first"):
            # A smoke run: each kind of work once, whatever the weights would have drawn.
            for work in (
                self.browse_segments,
                self.search_as_you_type,
                self.toggle_segment,
                self.open_audience_form,
                self.open_campaign_form,
                self.save_campaign,
            ):
                work()

    def log_in(self) -> None:
        with self.client.get("/accounts/login/", name="login.form", catch_response=True) as r:
            if not _check(r, must="csrfmiddlewaretoken"):
                return
            token = _CSRF_INPUT.search(r.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": self.password,
                "csrfmiddlewaretoken": token,
            },
            name="login.post",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302 or "/accounts/login/" in r.headers.get("Location", ""):
                r.failure(f"login refused (HTTP {r.status_code})")
                return
            r.success()
        with self.client.get("/", name="home", catch_response=True) as r:
            self._remember_csrf(r.text)
            _check(r, must="X-CSRFToken")

    def _remember_csrf(self, html: str) -> None:
        found = _CSRF_HEADER.search(html)
        if found:
            self.csrf = found.group(1)

    def _channel(self, *, toggle: bool = False) -> str:
        slugs = [s for s, c in CHANNELS.items() if c["toggle"] or not toggle]
        return random.choice(slugs)

    @task(2)
    def open_home(self) -> None:
        # The start of the day: marketers come back to it between other work.
        with self.client.get("/", name="home", catch_response=True) as r:
            if _check(r, must="X-CSRFToken"):
                self._remember_csrf(r.text)

    @task(4)
    def browse_segments(self, slug: str = "") -> None:
        slug = slug or self._channel()
        url = f"/channels/{slug}/segments/?page={random.randint(1, 100)}"
        if random.random() < 0.3:
            url += "&order=-updated"
        with self.client.get(url, name="segments.page", catch_response=True) as r:
            if _check(r, must='id="segment-results"'):
                self._remember_csrf(r.text)
                if CHANNELS[slug]["toggle"]:
                    self.toggles = _TOGGLE.findall(r.text)

    @task(4)
    def search_as_you_type(self) -> None:
        slug = self._channel()
        for text in _typed(random.choice(TERMS[slug])):
            with self.client.get(
                f"/channels/{slug}/segments/",
                params={"q": text},
                headers=HTMX,
                name="segments.search (htmx)",
                catch_response=True,
            ) as r:
                if _check(r, must='id="segment-results"') and "<body" in r.text:
                    r.failure("a whole page for an htmx search")
            time.sleep(random.uniform(0.3, 0.7) * THINK)

    @task(2)
    def toggle_segment(self) -> None:
        if not self.toggles:
            self.browse_segments(self._channel(toggle=True))
        if not self.toggles or not self.csrf:
            return
        url, value = random.choice(self.toggles)
        headers = {**HTMX, "X-CSRFToken": self.csrf}
        # Make it inactive (or active), then put it back as it was.
        for active in (value, "0" if value == "1" else "1"):
            with self.client.post(
                url,
                data={"active": active},
                headers=headers,
                name="segments.toggle (htmx)",
                catch_response=True,
            ) as r:
                _check(r, must='<tr id="segment-')
            time.sleep(random.uniform(0.5, 1.0) * THINK)
        self.toggles = []

    @task(2)
    def open_audience_form(self) -> None:
        slug = self._channel()
        with self.client.get(
            f"/channels/{slug}/audiences/new/", name="audiences.form", catch_response=True
        ) as r:
            if _check(r, must='name="submission"'):
                self._remember_csrf(r.text)
        self._picker_search(slug)

    def _picker_search(self, slug: str) -> list[str]:
        ids: list[str] = []
        for text in _typed(random.choice(TERMS[slug])):
            with self.client.get(
                f"/channels/{slug}/segments/picker/",
                params={"field": "segments", "segments-q": text},
                headers=HTMX,
                name="picker.search (htmx)",
                catch_response=True,
            ) as r:
                if _check(r) and "data-picker-row" not in r.text and "picker-empty" not in r.text:
                    r.failure("no picker rows and no empty message")
                ids = _PICKER_ROW.findall(r.text)
            time.sleep(random.uniform(0.3, 0.7) * THINK)
        return ids

    @task(2)
    def open_campaign_form(self) -> None:
        slug = self._channel()
        with self.client.get(
            f"/campaigns/new/?channel={slug}", name="campaigns.form", catch_response=True
        ) as r:
            _check(r, must='name="submission"')

    @task(2)
    def save_campaign(self) -> None:
        """Start from an audience, add one segment found in the picker, schedule it, save."""
        slug = self._channel()
        audience = random.choice(CHANNELS[slug]["audiences"])
        with self.client.get(
            f"/campaigns/new/?channel={slug}&audience={audience}",
            name="campaigns.form",
            catch_response=True,
        ) as r:
            if not _check(r, must='name="submission"'):
                return
            html = r.text
        self._remember_csrf(html)
        data: dict[str, object] = {
            "csrfmiddlewaretoken": _CSRF_INPUT.search(html).group(1),
            "submission": _SUBMISSION.search(html).group(1),
            "name": f"Load test {self.username} {next(_campaigns)}",
            "channel": slug,
            "loaded_channel": slug,
            "audience": str(audience),
            "loaded_audience": str(audience),
            "status": "scheduled",
            "send_at": f"2027-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}T09:30",
            "notes": "Planned during the load test.",
            "link": "",
            "version": "",
        }
        picked: dict[str, list[str]] = defaultdict(list)
        for kind, pk in _PICKED.findall(html) + _BASE.findall(html):
            if pk not in picked[f"segments-{kind}"]:
                picked[f"segments-{kind}"].append(pk)
        taken = picked["segments-include"] + picked["segments-exclude"]
        extra = [pk for pk in self._picker_search(slug) if pk not in taken]
        if extra:
            picked["segments-include"].append(random.choice(extra))
        data.update(picked)
        with self.client.post(
            "/campaigns/new/",
            data=data,
            name="campaigns.save",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            location = r.headers.get("Location", "")
            if r.status_code != 302 or not _CAMPAIGN_URL.match(location):
                errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', r.text, re.S)
                r.failure(f"not saved (HTTP {r.status_code}): {' '.join(errors)[:150]}")
                return
            r.success()
        with self.client.get(location, name="campaigns.detail", catch_response=True) as r:
            _check(r, must=data["name"])
