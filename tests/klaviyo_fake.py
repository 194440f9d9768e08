"""A fake Klaviyo API: a real HTTP server on 127.0.0.1 serving /api/segments and /api/lists.

It checks the key, the scopes and the revision header, paginates by opaque cursor (page size at
most 10, 400 above), honours sparse fieldsets and can be told to misbehave:

    fake.fault("429", times=2)                     # 429 with Retry-After
    fake.fault("429_no_retry_after", times=1)      # 429 whose detail says "Expected available in N"
    fake.fault("429_bare", times=1)                # 429 with neither (client backs off)
    fake.fault("500"|"502"|"503", times=3)
    fake.fault("410")                              # the pinned revision was retired
    fake.fault("slow", times=1, seconds=2)         # answer after `seconds` (past the read timeout)
    fake.fault("malformed_json", times=1)          # a cut-off JSON page
    fake.fault("html_403", times=1)                # a CDN bot-check page
    fake.fault("cursor_loop")                      # next link points back at the current page
    fake.fault("repeat_item")                      # each page repeats the previous page's last item
    fake.fault("foreign_next")                     # next link to another host
    fake.rate_limit(limit=5, window=1.0)           # enforced fixed window with RateLimit-* headers

A fault may be limited to one endpoint (`kind="segment"` or `"list"`) and start after some
successful pages (`after=3`). Campaigns (create, get, find, patch while Draft, statuses,
deletion, the recipient estimate) and their own faults (`kind="campaign"`, `op=...`) are
described in FakeCampaigns.

Member counts (sizes): `POST /api/segment-values-reports` (at most 100 ids; limits 1/s, 2/min
and a daily cap) and `GET /api/lists/{id}?additional-fields[list]=profile_count` (1/s, 15/min;
404 for a list it does not have). Windows are fixed and run on the fake's clock. Faults limited
to `kind="report"` or `kind="list_count"` hit those calls:

    fake.sizes["S00001"] = 4821                    # a segment's or list's count (else derived)
    fake.count_limits["report"] = [(1, 1), (2, 60), (3, 86400)]   # a scaled-down daily cap

Run it by hand:

    python -m tests.klaviyo_fake --port 8765 --segments 5000 --lists 500 [--key pk_...]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEFAULT_KEY = "pk_fake_0123456789abcdef0123456789ab"
REVISION = "2026-07-15"
PATHS = {"/api/segments": "segment", "/api/lists": "list"}
SCOPES = {"segment": "segments:read", "list": "lists:read"}
CAMPAIGN_SCOPES = {"campaigns:read", "campaigns:write"}
ALL_FIELDS = {
    "segment": [
        "name",
        "created",
        "updated",
        "is_active",
        "is_processing",
        "is_starred",
        "definition",
    ],
    "list": ["name", "created", "updated", "opt_in_process"],
}
FAULTS = {
    "429",
    "429_no_retry_after",
    "429_bare",
    "410",
    "500",
    "502",
    "503",
    "slow",
    "malformed_json",
    "html_403",
    "cursor_loop",
    "repeat_item",
    "foreign_next",
    # Campaign endpoints only (kind="campaign", optionally op="create"|"get"|"find"|"patch"|
    # "estimate_start"|"estimate_job"|"estimate"):
    "400",  # a validation error with a detail and a pointer
    "401",
    "403",  # permission_denied for the endpoint's scope
    "404",
    "409",
    "timeout_after_create",  # creates the campaign, then answers after `seconds`
}


def object_id(kind: str, n: int) -> str:
    """Six characters, like Klaviyo's: S0000a for segment 10, L0001b for list 47."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(5):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return ("S" if kind == "segment" else "L") + out


@dataclass
class Fault:
    name: str
    times: int | None  # None: forever
    kind: str | None
    after: int
    params: dict


# -- campaigns (the push) ---------------------------------------------------------------------

CAMPAIGN_STATUSES = {
    "Draft",
    "Scheduled",
    "Sending",
    "Sent",
    "Cancelled",
    "Adding Recipients",
    "Preparing to schedule",
    "Preparing to send",
    "Queued without Recipients",
    "Sending Segments",
    "Variations Sent",
    "Unknown",
}
MAX_CAMPAIGN_AUDIENCES = 15  # lists and segments per side, as Klaviyo's help centre says
_CONTAINS = re.compile(r"contains\(name,['\"]([^'\"]*)['\"]\)")
_CHANNEL = re.compile(r"equals\(messages\.channel,['\"](\w+)['\"]\)")


class FakeCampaigns:
    """Campaigns for FakeKlaviyo: create, get, find by name, patch the audiences of a Draft,
    statuses, deletion and the recipient estimation job.

        fake.campaign_set_status(campaign_id, "Scheduled")   # as if scheduled in Klaviyo
        fake.campaign_delete(campaign_id)                     # as if deleted in Klaviyo
        fake.recipients["S00001"] = 48_000                    # members counted per list/segment
        fake.estimate_polls = 2                               # job polls before "complete"
        fake.fault("500", kind="campaign", op="create")       # faults for campaign calls only
    """

    def _init_campaigns(self) -> None:
        self.campaigns: dict[str, dict] = {}
        self.recipients: dict[str, int] = {}
        self.estimate_polls = 1
        self.estimate_jobs: dict[str, dict] = {}
        self._campaign_seq = 0

    # -- control

    def campaign_set_status(self, campaign_id: str, status: str) -> None:
        if status not in CAMPAIGN_STATUSES and not status.startswith("Cancelled"):
            raise ValueError(f"Unknown campaign status {status!r}")
        self.campaigns[campaign_id]["status"] = status

    def campaign_delete(self, campaign_id: str) -> None:
        self.campaigns.pop(campaign_id, None)
        self.estimate_jobs.pop(campaign_id, None)

    def campaign_requests(self, method: str | None = None) -> list[dict]:
        return [
            r
            for r in self.requests
            if r["path"].startswith("/api/campaign") and method in (None, r.get("method"))
        ]

    # -- serving

    def _campaign_resource(self, campaign_id: str) -> dict:
        c = self.campaigns[campaign_id]
        return {
            "type": "campaign",
            "id": campaign_id,
            "attributes": {
                "name": c["name"],
                "status": c["status"],
                "archived": False,
                "audiences": {"included": list(c["included"]), "excluded": list(c["excluded"])},
                "send_options": {"use_smart_sending": True},
                "tracking_options": {},
                "send_strategy": c["send_strategy"],
                "created_at": c["created_at"],
                "scheduled_at": None,
                "updated_at": c["updated_at"],
                "send_time": None,
            },
            "relationships": {},
            "links": {"self": f"/api/campaigns/{campaign_id}"},
        }

    def _take_campaign_fault(self, op: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.kind != "campaign" or fault.params.get("op") not in (None, op):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def _audience_errors(self, audiences: object) -> list[tuple[str, str]]:
        if not isinstance(audiences, dict):
            return [("audiences", "This field is required.")]
        errors = []
        known = set(self.objects["segment"]) | set(self.objects["list"])
        for key in ("included", "excluded"):
            ids = audiences.get(key, [])
            if not isinstance(ids, list):
                errors.append((f"audiences/{key}", "Must be a list."))
                continue
            if len(ids) > MAX_CAMPAIGN_AUDIENCES:
                errors.append(
                    (
                        f"audiences/{key}",
                        f"A campaign can use at most {MAX_CAMPAIGN_AUDIENCES} lists and segments.",
                    )
                )
            unknown = [i for i in ids if i not in known]
            if unknown:
                errors.append((f"audiences/{key}", f"Unknown list or segment {unknown[0]}."))
        if not audiences.get("included"):
            errors.append(("audiences/included", "A campaign needs at least one audience."))
        return errors

    def handle_campaigns(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        path = split.path.rstrip("/") or "/"
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.requests.append(
            {"path": path, "query": split.query, "headers": dict(handler.headers), "method": method}
        )
        parts = path.split("/")[2:]  # after /api/
        route = {
            ("POST", "campaigns", 1): ("create", "campaigns:write"),
            ("GET", "campaigns", 1): ("find", "campaigns:read"),
            ("GET", "campaigns", 2): ("get", "campaigns:read"),
            ("PATCH", "campaigns", 2): ("patch", "campaigns:write"),
            ("POST", "campaign-recipient-estimation-jobs", 1): (
                "estimate_start",
                "campaigns:write",
            ),
            ("GET", "campaign-recipient-estimation-jobs", 2): ("estimate_job", "campaigns:read"),
            ("GET", "campaign-recipient-estimations", 2): ("estimate", "campaigns:read"),
        }.get((method, parts[0] if parts else "", len(parts)))
        if route is None:
            return _send_json(
                handler, 404, _errors(404, "not_found", "Not found", "No such endpoint.")
            )
        op, scope = route
        if handler.headers.get("Authorization", "") != f"Klaviyo-API-Key {self.api_key}":
            return _send_json(
                handler,
                401,
                _errors(401, "not_authenticated", "Not authenticated.", "Invalid private key."),
            )
        if scope not in self.scopes:
            return _send_json(
                handler,
                403,
                _errors(
                    403,
                    "permission_denied",
                    "You do not have permission to perform this action.",
                    f"This key is missing the {scope} scope.",
                ),
            )
        fault = self._take_campaign_fault(op)
        if fault is not None and self._apply_campaign_fault(handler, fault, scope):
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _send_json(handler, 400, _errors(400, "invalid", "Invalid input.", "Bad JSON."))
        object_id = parts[1] if len(parts) > 1 else ""
        with self._lock:
            answer = getattr(self, f"_campaign_{op}")(object_id, body, split.query)
        status, payload = answer
        if fault is not None and fault.name == "timeout_after_create":
            time.sleep(fault.params.get("seconds", 2.0))
        _send_json(handler, status, payload)

    def _apply_campaign_fault(self, handler, fault: Fault, scope: str) -> bool:
        name = fault.name
        if name == "400":
            detail = fault.params.get("detail", "The campaign name is not valid.")
            error = _errors(400, "invalid", "Invalid input.", detail)
            error["errors"][0]["source"] = {"pointer": "/data/attributes/name"}
            _send_json(handler, 400, error)
            return True
        if name == "401":
            _send_json(handler, 401, _errors(401, "not_authenticated", "No.", "Invalid key."))
            return True
        if name == "403":
            detail = f"This key is missing the {scope} scope."
            _send_json(handler, 403, _errors(403, "permission_denied", "Denied.", detail))
            return True
        if name == "404":
            _send_json(handler, 404, _errors(404, "not_found", "Not found.", "No such campaign."))
            return True
        if name == "409":
            detail = "Another change to this campaign is in progress."
            _send_json(handler, 409, _errors(409, "conflict", "Conflict.", detail))
            return True
        if name == "timeout_after_create":
            return False
        return self._apply_fault(handler, fault)

    def _now(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())

    def _campaign_create(self, _id: str, body: dict, _query: str) -> tuple[int, dict]:
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("type") != "campaign" or not attributes:
            return 400, _errors(400, "invalid", "Invalid input.", "data.type must be campaign.")
        name = attributes.get("name")
        problems = []
        if not isinstance(name, str) or not name.strip():
            problems.append(("name", "This field may not be blank."))
        problems += self._audience_errors(attributes.get("audiences"))
        messages = (attributes.get("campaign-messages") or {}).get("data") or []
        channels = [m.get("attributes", {}).get("definition", {}).get("channel") for m in messages]
        if not channels or channels[0] not in {"email", "sms"}:
            problems.append(("campaign-messages", "A campaign needs an email or sms message."))
        if problems:
            errors = []
            for pointer, detail in problems:
                errors.append(
                    {
                        "id": "0",
                        "status": 400,
                        "code": "invalid",
                        "title": "Invalid input.",
                        "detail": detail,
                        "source": {"pointer": f"/data/attributes/{pointer}"},
                    }
                )
            return 400, {"errors": errors}
        self._campaign_seq += 1
        campaign_id = f"01FAKECAMPAIGN{self._campaign_seq:012d}"
        audiences = attributes["audiences"]
        self.campaigns[campaign_id] = {
            "name": name,
            "status": "Draft",
            "channel": channels[0],
            "included": list(audiences.get("included", [])),
            "excluded": list(audiences.get("excluded", [])),
            "send_strategy": attributes.get("send_strategy") or {"method": "immediate"},
            "created_at": self._now(),
            "updated_at": self._now(),
        }
        return 201, {"data": self._campaign_resource(campaign_id)}

    def _campaign_find(self, _id: str, _body: dict, query: str) -> tuple[int, dict]:
        filter_ = parse_qs(query).get("filter", [""])[0]
        channel = _CHANNEL.search(filter_)
        if channel is None:
            detail = "A channel filter is required: equals(messages.channel,'email')."
            return 400, _errors(400, "invalid", "Invalid input.", detail)
        contains = _CONTAINS.search(filter_)
        found = [
            self._campaign_resource(cid)
            for cid, c in self.campaigns.items()
            if c["channel"] == channel.group(1)
            and (contains is None or contains.group(1) in c["name"])
        ]
        return 200, {"data": found, "links": {"self": "", "next": None, "prev": None}}

    def _campaign_get(self, campaign_id: str, _body: dict, _query: str) -> tuple[int, dict]:
        if campaign_id not in self.campaigns:
            return 404, _errors(404, "not_found", "Not found.", "No such campaign.")
        return 200, {"data": self._campaign_resource(campaign_id)}

    def _campaign_patch(self, campaign_id: str, body: dict, _query: str) -> tuple[int, dict]:
        if campaign_id not in self.campaigns:
            return 404, _errors(404, "not_found", "Not found.", "No such campaign.")
        campaign = self.campaigns[campaign_id]
        if campaign["status"] != "Draft":
            detail = f"A campaign whose status is {campaign['status']} cannot be changed."
            return 400, _errors(400, "invalid", "Invalid input.", detail)
        data = body.get("data") if isinstance(body, dict) else None
        attributes = (data or {}).get("attributes") or {}
        if not isinstance(data, dict) or data.get("id") != campaign_id:
            return 400, _errors(400, "invalid", "Invalid input.", "data.id must match the URL.")
        if "audiences" in attributes:
            problems = self._audience_errors(attributes["audiences"])
            if problems:
                return 400, _errors(400, "invalid", "Invalid input.", problems[0][1])
            campaign["included"] = list(attributes["audiences"].get("included", []))
            campaign["excluded"] = list(attributes["audiences"].get("excluded", []))
            campaign["updated_at"] = self._now()
        return 200, {"data": self._campaign_resource(campaign_id)}

    def _job(self, campaign_id: str) -> dict:
        job = self.estimate_jobs[campaign_id]
        return {
            "type": "campaign-recipient-estimation-job",
            "id": campaign_id,
            "attributes": {"status": job["status"]},
        }

    def _campaign_estimate_start(self, _id: str, body: dict, _query: str) -> tuple[int, dict]:
        campaign_id = ((body or {}).get("data") or {}).get("id", "")
        if campaign_id not in self.campaigns:
            return 404, _errors(404, "not_found", "Not found.", "No such campaign.")
        self.estimate_jobs[campaign_id] = {"status": "queued", "polls": 0}
        return 202, {"data": self._job(campaign_id)}

    def _campaign_estimate_job(self, campaign_id: str, _body: dict, _query: str):
        job = self.estimate_jobs.get(campaign_id)
        if job is None:
            return 404, _errors(404, "not_found", "Not found.", "No such job.")
        job["polls"] += 1
        job["status"] = "complete" if job["polls"] >= self.estimate_polls else "processing"
        return 200, {"data": self._job(campaign_id)}

    def _campaign_estimate(self, campaign_id: str, _body: dict, _query: str):
        job = self.estimate_jobs.get(campaign_id)
        if campaign_id not in self.campaigns or job is None or job["status"] != "complete":
            return 404, _errors(404, "not_found", "Not found.", "No estimate yet.")
        campaign = self.campaigns[campaign_id]
        included = sum(self.recipients.get(i, 1000) for i in campaign["included"])
        excluded = sum(self.recipients.get(i, 1000) for i in campaign["excluded"])
        count = max(0, included - excluded // 2)
        return 200, {
            "data": {
                "type": "campaign-recipient-estimation",
                "id": campaign_id,
                "attributes": {"estimated_recipient_count": count},
            }
        }


class FakeKlaviyo(FakeCampaigns):
    """The server and its data. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        segments: int = 0,
        lists: int = 0,
        api_key: str = DEFAULT_KEY,
        scopes: set[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.api_key = api_key
        # The rate-limit window's clock: a test whose client only records its waits passes a
        # clock that moves by those waits.
        self.clock = clock
        self.scopes = set(scopes if scopes is not None else {*SCOPES.values(), *CAMPAIGN_SCOPES})
        self.objects: dict[str, dict[str, str | None]] = {
            "segment": {object_id("segment", i): f"Segment {i}" for i in range(segments)},
            "list": {object_id("list", i): f"List {i}" for i in range(lists)},
        }
        self.faults: list[Fault] = []
        self.requests: list[dict] = []
        self.pages_served = {"segment": 0, "list": 0, "report": 0, "list_count": 0}
        # -- member counts --
        self.sizes: dict[str, int | None] = {}
        self.count_limits: dict[str, list[tuple[int, float]]] = {
            "report": [(1, 1.0), (2, 60.0), (225, 86400.0)],
            "list_count": [(1, 1.0), (15, 60.0)],
        }
        self.count_requests = {"report": 0, "list_count": 0}
        self.throttled = {"report": 0, "list_count": 0}
        self._count_windows: dict[tuple[str, float, int], int] = {}
        self._rate: tuple[int, float] | None = None
        self._window_start = 0.0
        self._window_count = 0
        self._lock = threading.Lock()
        self._init_campaigns()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeKlaviyo:
        # stop() waits for the serving loop to look up: a short poll keeps every test that
        # stops a fake from waiting up to half a second (the default) for nothing.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeKlaviyo:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fault(
        self, name: str, *, times: int | None = 1, kind: str | None = None, after: int = 0, **params
    ):
        if name not in FAULTS:
            raise ValueError(f"Unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}")
        with self._lock:
            self.faults.append(Fault(name, times, kind, after, params))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self._rate = None

    def rate_limit(self, *, limit: int, window: float = 1.0) -> None:
        with self._lock:
            self._rate = (limit, window)
            self._window_start, self._window_count = self.clock(), 0

    def set(self, kind: str, object_id: str, name: str | None) -> None:
        """Add or rename a segment or list."""
        self.objects[kind][object_id] = name

    def delete(self, kind: str, object_id: str) -> None:
        self.objects[kind].pop(object_id, None)

    @property
    def data_requests(self) -> int:
        return sum(1 for r in self.requests if r["path"] in PATHS)

    # -- serving -------------------------------------------------------------------------------

    # -- member counts ---------------------------------------------------------------------------

    def size_of(self, oid: str) -> int | None:
        if oid in self.sizes:
            return self.sizes[oid]
        return 100 + (sum(map(ord, oid)) * 37) % 5000

    def _count_limit(self, endpoint: str) -> tuple[float, bool] | None:
        """(seconds to wait, is it the daily cap) when this call is over a limit."""
        with self._lock:
            now = self.clock()
            over = None
            for limit, window in self.count_limits[endpoint]:
                key = (endpoint, window, int(now // window))
                if self._count_windows.get(key, 0) >= limit:
                    wait = window - (now % window)
                    over = max(over or (0.0, False), (wait, window >= 86400))
            if over is None:
                for _limit, window in self.count_limits[endpoint]:
                    key = (endpoint, window, int(now // window))
                    self._count_windows[key] = self._count_windows.get(key, 0) + 1
            return over

    def _check_access(self, handler, scope: str) -> bool:
        """Key, revision and scope, as the list endpoints check them; False if refused."""
        if handler.headers.get("Authorization", "") != f"Klaviyo-API-Key {self.api_key}":
            _send_json(
                handler,
                401,
                _errors(401, "not_authenticated", "Not authenticated.", "Invalid private key."),
            )
            return False
        if not handler.headers.get("revision"):
            _send_json(handler, 400, _errors(400, "invalid", "Invalid input.", "No revision."))
            return False
        if scope not in self.scopes:
            _send_json(
                handler,
                403,
                _errors(
                    403,
                    "permission_denied",
                    "You do not have permission to perform this action.",
                    f"This key is missing the {scope} scope.",
                ),
            )
            return False
        return True

    def handle_count(self, handler, method: str) -> bool:
        """Serve a member-count call; False when the path is not one."""
        split = urlsplit(handler.path)
        path = split.path.rstrip("/")
        if method == "POST" and path == "/api/segment-values-reports":
            endpoint, scope = "report", SCOPES["segment"]
        elif method == "GET" and path.startswith("/api/lists/") and path.count("/") == 3:
            endpoint, scope = "list_count", SCOPES["list"]
        else:
            return False
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.requests.append({"path": path, "query": split.query, "headers": dict(handler.headers)})
        self.count_requests[endpoint] += 1
        if not self._check_access(handler, scope):
            return True
        over = self._count_limit(endpoint)
        if over is not None:
            self.throttled[endpoint] += 1
            wait, daily = over
            seconds = max(1, int(wait + 0.999))
            what = "Daily limit reached. " if daily else ""
            _send_json(
                handler,
                429,
                _errors(
                    429,
                    "throttled",
                    "Request was throttled.",
                    f"Request was throttled. {what}Expected available in {seconds} seconds.",
                ),
                headers={"Retry-After": str(seconds)},
            )
            return True
        fault = self._take_fault(endpoint)
        if fault is not None and self._apply_fault(handler, fault):
            return True
        self.pages_served[endpoint] += 1
        if endpoint == "list_count":
            oid = path.rsplit("/", 1)[1]
            if oid not in self.objects["list"]:
                _send_json(handler, 404, _errors(404, "not_found", "Not found.", "No such list."))
                return True
            attributes = {"name": self.objects["list"][oid]}
            if "profile_count" in parse_qs(split.query).get("additional-fields[list]", [""])[0]:
                attributes["profile_count"] = self.size_of(oid)
            body = {"data": {"type": "list", "id": oid, "attributes": attributes}}
            _send_json(handler, 200, body)
            return True
        try:
            attributes = json.loads(raw)["data"]["attributes"]
            match = re.fullmatch(r"any\(segment_id,\s*(\[.*\])\)", attributes["filter"])
            ids = json.loads(match.group(1))
        except (ValueError, KeyError, TypeError, AttributeError):
            _send_json(handler, 400, _errors(400, "invalid", "Invalid input.", "Bad filter."))
            return True
        if len(ids) > 100:
            detail = "At most 100 values in any()."
            _send_json(handler, 400, _errors(400, "invalid", "Invalid input.", detail))
            return True
        results = [
            {"groupings": {"segment_id": oid}, "statistics": {"total_members": self.size_of(oid)}}
            for oid in ids
            if oid in self.objects["segment"]
        ]
        body = {"data": {"type": "segment-values-report", "attributes": {"results": results}}}
        _send_json(handler, 200, body)
        return True

    def _take_fault(self, kind: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.kind not in (None, kind) or self.pages_served[kind] < fault.after:
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def _rate_check(self) -> tuple[dict[str, str], float | None]:
        """RateLimit-* headers, and the wait if this request is over the limit."""
        with self._lock:
            if self._rate is None:
                return {
                    "RateLimit-Limit": "750",
                    "RateLimit-Remaining": "749",
                    "RateLimit-Reset": "60",
                }, None
            limit, window = self._rate
            now = self.clock()
            if now - self._window_start >= window:
                self._window_start, self._window_count = now, 0
            reset = max(0.0, window - (now - self._window_start))
            self._window_count += 1
            remaining = max(0, limit - self._window_count)
            headers = {
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": f"{reset:.2f}",
            }
            if self._window_count > limit:
                return headers, reset
            return headers, None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        path = split.path.rstrip("/") or "/"
        self.requests.append({"path": path, "query": split.query, "headers": dict(handler.headers)})
        if path.startswith("/api/campaign"):
            return self.handle_campaigns(handler, "GET")
        kind = PATHS.get(path)
        if kind is None:
            return _send_json(
                handler, 404, _errors(404, "not_found", "Not found", "No such endpoint.")
            )
        if handler.headers.get("Authorization", "") != f"Klaviyo-API-Key {self.api_key}":
            return _send_json(
                handler,
                401,
                _errors(
                    401,
                    "not_authenticated",
                    "Authentication credentials were not provided.",
                    "Missing or invalid private key.",
                ),
            )
        if not handler.headers.get("revision"):
            return _send_json(
                handler, 400, _errors(400, "invalid", "Invalid input.", "Missing revision header.")
            )
        if SCOPES[kind] not in self.scopes:
            return _send_json(
                handler,
                403,
                _errors(
                    403,
                    "permission_denied",
                    "You do not have permission to perform this action.",
                    f"This key is missing the {SCOPES[kind]} scope.",
                ),
            )

        rate_headers, wait = self._rate_check()
        if wait is not None:
            seconds = max(1, int(wait + 0.999))
            return _send_json(
                handler,
                429,
                _errors(
                    429,
                    "throttled",
                    "Request was throttled.",
                    f"Request was throttled. Expected available in {seconds} second"
                    + ("s." if seconds != 1 else "."),
                ),
                headers={"Retry-After": str(seconds)},
            )

        query = parse_qs(split.query, keep_blank_values=True)
        try:
            size = int(query.get("page[size]", ["10"])[0])
        except ValueError:
            size = -1
        if not 1 <= size <= 10:
            return _send_json(
                handler,
                400,
                _errors(
                    400,
                    "invalid",
                    "Invalid input.",
                    "page[size] must be between 1 and 10.",
                    parameter="page[size]",
                ),
            )
        cursor = query.get("page[cursor]", [""])[0]
        try:
            offset = (
                int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1])
                if cursor
                else 0
            )
        except (ValueError, IndexError, UnicodeDecodeError):
            return _send_json(
                handler,
                400,
                _errors(
                    400, "invalid", "Invalid input.", "Invalid cursor.", parameter="page[cursor]"
                ),
            )

        fault = self._take_fault(kind)
        if fault is not None:
            done = self._apply_fault(handler, fault)
            if done:
                return
        ids = list(self.objects[kind])
        chunk = ids[offset : offset + size]
        fields = query.get(f"fields[{kind}]")
        wanted = fields[0].split(",") if fields else ALL_FIELDS[kind]
        data = [self._resource(kind, oid, wanted) for oid in chunk]
        if fault is not None and fault.name == "repeat_item" and offset > 0:
            data.insert(0, self._resource(kind, ids[offset - 1], wanted))
        base = f"http://{handler.headers.get('Host', '127.0.0.1')}{path}"
        keep = {k: v[0] for k, v in query.items() if k != "page[cursor]"}

        def link(off: int) -> str:
            token = base64.urlsafe_b64encode(f"{kind}:{off}".encode()).decode()
            params = "&".join(f"{k}={v}" for k, v in keep.items())
            return f"{base}?{params}&page[cursor]={token}"

        next_link = link(offset + size) if offset + size < len(ids) else None
        if fault is not None and fault.name == "cursor_loop":
            next_link = link(offset) if offset else link(0)
        if fault is not None and fault.name == "foreign_next":
            next_link = "http://attacker.invalid/api/segments?page[cursor]=x"
        self.pages_served[kind] += 1
        body = {"data": data, "links": {"self": link(offset), "next": next_link, "prev": None}}
        _send_json(handler, 200, body, headers=rate_headers)

    def _apply_fault(self, handler, fault: Fault) -> bool:
        """Serve the fault; True if the response was sent."""
        name = fault.name
        if name == "429":
            seconds = fault.params.get("retry_after", 1)
            _send_json(
                handler,
                429,
                _errors(
                    429,
                    "throttled",
                    "Request was throttled.",
                    f"Request was throttled. Expected available in {seconds} second.",
                ),
                headers={"Retry-After": str(seconds)},
            )
            return True
        if name == "429_no_retry_after":
            seconds = fault.params.get("retry_after", 1)
            _send_json(
                handler,
                429,
                _errors(
                    429,
                    "throttled",
                    "Request was throttled.",
                    f"Request was throttled. Expected available in {seconds} second.",
                ),
            )
            return True
        if name == "429_bare":
            _send_json(
                handler,
                429,
                _errors(429, "throttled", "Request was throttled.", "Request was throttled."),
            )
            return True
        if name == "410":
            detail = "This API revision is no longer supported."
            _send_json(handler, 410, _errors(410, "gone", "Gone.", detail))
            return True
        if name in {"500", "502", "503"}:
            _send_json(
                handler,
                int(name),
                _errors(int(name), "error", "A server error occurred.", "Try again."),
            )
            return True
        if name == "slow":
            time.sleep(fault.params.get("seconds", 2.0))
            return False
        if name == "malformed_json":
            body = b'{"data": [{"type": "segment", "id": "S00001", "attributes": {"name": "Cut'
            _send_raw(handler, 200, body, "application/vnd.api+json")
            return True
        if name == "html_403":
            body = (
                b"<!doctype html><html><body><h1>Access denied</h1>"
                b"<p>Checking your browser</p></body></html>"
            )
            _send_raw(handler, 403, body, "text/html; charset=utf-8")
            return True
        return False  # cursor_loop, repeat_item and foreign_next change the page itself

    def _resource(self, kind: str, oid: str, wanted: list[str]) -> dict:
        attributes = {
            "name": self.objects[kind][oid],
            "created": "2026-01-01T00:00:00+00:00",
            "updated": "2026-02-01T00:00:00+00:00",
        }
        if kind == "segment":
            attributes.update(
                is_active=True,
                is_processing=False,
                is_starred=False,
                definition={"condition_groups": [{"conditions": [{"type": "profile-property"}]}]},
            )
        else:
            attributes["opt_in_process"] = "single_opt_in"
        return {
            "type": kind,
            "id": oid,
            "attributes": {k: v for k, v in attributes.items() if k in wanted},
            "relationships": {},
            "links": {"self": f"/api/{kind}s/{oid}"},
        }


def _errors(
    status: int, code: str, title: str, detail: str, *, parameter: str | None = None
) -> dict:
    error = {"id": "0", "status": status, "code": code, "title": title, "detail": detail}
    if parameter:
        error["source"] = {"parameter": parameter}
    return {"errors": [error]}


def _send_raw(
    handler, status: int, body: bytes, content_type: str, headers: dict | None = None
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        handler.wfile.write(body)


def _send_json(handler, status: int, body: dict, headers: dict | None = None) -> None:
    _send_raw(handler, status, json.dumps(body).encode(), "application/vnd.api+json", headers)


def _handler_for(fake: FakeKlaviyo):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as with the real API
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive response.
        disable_nagle_algorithm = True

        def do_GET(self):
            if not fake.handle_count(self, "GET"):
                fake.handle(self)

        def do_POST(self):
            if not fake.handle_count(self, "POST"):
                fake.handle_campaigns(self, "POST")  # campaigns, else a 404

        def do_PATCH(self):
            fake.handle_campaigns(self, "PATCH")

        def log_message(self, format, *args):
            pass  # quiet: tests look at fake.requests instead

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--lists", type=int, default=10)
    parser.add_argument("--key", default=DEFAULT_KEY, help="The private key it accepts.")
    parser.add_argument("--rate-limit", type=int, default=0, help="Requests per second (0: none).")
    args = parser.parse_args(argv)
    fake = FakeKlaviyo(
        segments=args.segments, lists=args.lists, api_key=args.key, host=args.host, port=args.port
    )
    if args.rate_limit:
        fake.rate_limit(limit=args.rate_limit, window=1.0)
    print(
        f"Fake Klaviyo on {fake.url} ({args.segments} segments, {args.lists} lists); "
        f"key {args.key}",
        flush=True,
    )
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
