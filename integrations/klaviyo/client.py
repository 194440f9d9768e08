"""HTTP client for the Klaviyo endpoints the sync, the size counts and the campaign push need.
HTTP only: no ORM here.

Every call sends the pinned revision, a (connect, read) timeout and the private key in the
Authorization header. The key is never put into an exception message or a log record.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

# The one place the API revision is pinned (stable revisions only, never a ".pre" beta).
REVISION = "2026-07-15"
PAGE_SIZE = 10  # Klaviyo's maximum for /api/segments and /api/lists
MAX_PAGES = 20_000  # 200,000 objects per kind: far beyond any real account, stops runaway cursors
MAX_ATTEMPTS = 8  # per request, all retries included
MAX_SERVER_ERROR_RETRIES = 3
DEFAULT_WAIT_BUDGET = 180.0  # seconds of waiting (retries and slow-downs) allowed per client
BACKOFF_START, BACKOFF_FACTOR, BACKOFF_CAP = 0.5, 1.5, 60.0
RETRIED_STATUSES = {429, 500, 502, 503, 504, 524}

KINDS = {
    # kind -> (path, JSON:API type, sparse fieldset, scope)
    "segment": ("/api/segments", "segment", "name", "segments:read"),
    "list": ("/api/lists", "list", "name", "lists:read"),
}
# Counting members: segments in bulk (the segment values report), lists one at a time.
REPORT_PATH = "/api/segment-values-reports"
REPORT_MAX_IDS = 100  # ids in one any(segment_id, [...]) filter
_DAILY = re.compile(r"\b(daily|per day|day)\b", re.IGNORECASE)
# A campaign id no campaign has: the scope check's harmless PATCH and search.
SCOPE_PROBE_ID = "aa-scope-check-00000000"
_EXPECTED_AVAILABLE = re.compile(r"available in (\d+(?:\.\d+)?) second", re.IGNORECASE)
# How a client waits (retries, slow-downs) unless it is given `sleep`. The services build their
# own clients: the tests point this at a recorder, so that no test waits for real.
default_sleep: Callable[[float], None] = time.sleep


class KlaviyoError(Exception):
    """Base class; `str(error)` is a sentence fit for a user (never contains the key)."""


class KlaviyoAuthError(KlaviyoError):
    """401 (or a 400 authentication_failed): the key is missing, wrong or revoked."""


class KlaviyoScopeError(KlaviyoError):
    """403 permission_denied: the key lacks a scope."""

    def __init__(self, message: str, *, scope: str):
        super().__init__(message)
        self.scope = scope


class KlaviyoBlocked(KlaviyoError):
    """403 answered with a web page instead of the API (a CDN bot check)."""


class KlaviyoUnreachable(KlaviyoError):
    """Connection refused, DNS failure, TLS error or timeout, after retries."""


class KlaviyoThrottled(KlaviyoError):
    """Still throttled (429) once the retry budget was spent."""

    def __init__(self, message: str, *, retry_after: float | None, daily: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.daily = daily  # the daily cap, not the minute window


class KlaviyoServerError(KlaviyoError):
    """5xx from Klaviyo, after retries."""


class KlaviyoRequestError(KlaviyoError):
    """400/404/410 or another status that retrying cannot fix."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class KlaviyoNotFound(KlaviyoRequestError):
    """404 for one object: Klaviyo no longer has that segment, list or campaign."""


class KlaviyoBadResponse(KlaviyoError):
    """A body that is not the JSON:API document expected (not JSON, truncated, wrong shape)."""


class KlaviyoPaginationError(KlaviyoError):
    """A cursor that loops, a next link to another host, or too many pages."""


@dataclass(frozen=True, slots=True)
class KlaviyoObject:
    """A Klaviyo segment or list, as much of it as the sync uses."""

    id: str
    kind: str  # "segment" or "list"
    name: str


@dataclass(frozen=True, slots=True)
class KlaviyoCampaign:
    """A campaign in Klaviyo, as much of it as the push uses."""

    id: str
    name: str
    status: str
    included: tuple[str, ...]
    excluded: tuple[str, ...]

    @property
    def is_draft(self) -> bool:
        return self.status == "Draft"


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    scope: str
    works: bool
    message: str


@dataclass(frozen=True, slots=True)
class Page:
    kind: str
    number: int
    objects: list[KlaviyoObject]


def _first_error(body: object) -> dict:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
    return {}


def _count_or_none(value: object) -> int | None:
    """A member count as Klaviyo gives it: a non-negative integer, else unknown."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if value >= 0 and float(value).is_integer() else None


def _error_details(body: object) -> str:
    """Every error's detail (or title), with the field it points at, in one short sentence."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return ""
    parts = []
    for error in body["errors"][:5]:
        if not isinstance(error, dict):
            continue
        detail = str(error.get("detail") or error.get("title") or "").strip()
        source = error.get("source") if isinstance(error.get("source"), dict) else {}
        where = str(source.get("pointer") or source.get("parameter") or "").strip()
        if where:
            where = where.removeprefix("/data/attributes/").strip("/")
        if detail:
            parts.append(f"{detail.rstrip('.')} ({where})" if where else detail)
    return "; ".join(parts)[:400]


def _retry_after_seconds(response: requests.Response, body: object) -> float | None:
    """Retry-After (seconds or an HTTP date), else "Expected available in N seconds"."""
    header = response.headers.get("Retry-After", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    detail = str(_first_error(body).get("detail") or "")
    match = _EXPECTED_AVAILABLE.search(detail)
    if match:
        return float(match.group(1))
    return None


class KlaviyoClient:
    """Reads segments and lists from one Klaviyo account."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: tuple[float, float] | None = None,
        wait_budget: float = DEFAULT_WAIT_BUDGET,
        max_pages: int = MAX_PAGES,
        sleep: Callable[[float], None] | None = None,
    ):
        self.base_url = (base_url or settings.KLAVIYO_API_URL).rstrip("/")
        self.timeout = tuple(timeout or settings.KLAVIYO_TIMEOUT)
        self.wait_budget = wait_budget
        self.waited = 0.0
        self.max_pages = max_pages
        self._sleep = sleep if sleep is not None else default_sleep
        self._origin = urlsplit(self.base_url)[:2]
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Klaviyo-API-Key {api_key}",
                "revision": REVISION,
                "accept": "application/vnd.api+json",
                # A retired revision must fail loudly (410), not silently answer in a newer shape.
                "X-Klaviyo-Revision-Fall-Forward-Opt-Out": "1",
                "User-Agent": "AccessAudience/1.0 (segment sync)",
            }
        )
        self.requests_made = 0
        self._ratelimit_pause = 0.0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> KlaviyoClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- public API -----------------------------------------------------------------------

    def first_url(self, kind: str, *, page_size: int = PAGE_SIZE) -> str:
        path, json_type, fields, _ = KINDS[kind]
        return f"{self.base_url}{path}?fields[{json_type}]={fields}&page[size]={page_size}"

    def iter_pages(self, kind: str) -> Iterator[Page]:
        """Every page of segments or lists, following links.next exactly as given."""
        url: str | None = self.first_url(kind)
        seen: set[str] = set()
        number = 0
        while url:
            if url in seen:
                raise KlaviyoPaginationError(
                    f"Klaviyo returned a page link it had already given while listing {kind}s "
                    "(a cursor loop); stopped so the sync does not run forever."
                )
            if number >= self.max_pages:
                raise KlaviyoPaginationError(
                    f"Klaviyo kept returning pages of {kind}s past {self.max_pages:,}; stopped."
                )
            seen.add(url)
            body = self._get(url, kind=kind)
            number += 1
            yield Page(kind=kind, number=number, objects=self._parse_objects(body, kind))
            url = self._next_url(body, kind)

    def check_access(self) -> None:
        """One tiny request per endpoint; raises the KlaviyoError that explains what is wrong."""
        scope_errors: list[KlaviyoScopeError] = []
        for kind in ("list", "segment"):
            try:
                body = self._get(self.first_url(kind, page_size=1), kind=kind)
                self._parse_objects(body, kind)
            except KlaviyoScopeError as error:
                scope_errors.append(error)
        if len(scope_errors) == 2:
            raise KlaviyoScopeError(
                "The key lacks both the segments:read and lists:read scopes.",
                scope="segments:read, lists:read",
            )
        if scope_errors:
            raise scope_errors[0]

    def segment_sizes(self, segment_ids: list[str]) -> dict[str, int | None]:
        """Members of up to REPORT_MAX_IDS segments in one segment values report call:
        {id: total_members}; an id Klaviyo does not answer for is left out."""
        if not segment_ids:
            return {}
        if len(segment_ids) > REPORT_MAX_IDS:
            raise ValueError(f"At most {REPORT_MAX_IDS} segments per report.")
        quoted = ",".join(json.dumps(str(segment_id)) for segment_id in segment_ids)
        payload = {
            "data": {
                "type": "segment-values-report",
                "attributes": {
                    "statistics": ["total_members"],
                    "timeframe": {"key": "today"},
                    "filter": f"any(segment_id,[{quoted}])",
                },
            }
        }
        body = self._request(
            "POST",
            f"{self.base_url}{REPORT_PATH}",
            label="segments",
            what="counting segments",
            scope=KINDS["segment"][3],
            json_body=payload,
        )
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        results = attributes.get("results") if isinstance(attributes, dict) else None
        if not isinstance(results, list):
            raise KlaviyoBadResponse("Klaviyo's segment values report has no list of results.")
        wanted = set(segment_ids)
        sizes: dict[str, int | None] = {}
        for result in results:
            # Both objects are untyped in Klaviyo's spec: read them defensively.
            groupings = result.get("groupings") if isinstance(result, dict) else None
            statistics = result.get("statistics") if isinstance(result, dict) else None
            segment_id = groupings.get("segment_id") if isinstance(groupings, dict) else None
            if not isinstance(segment_id, str) or segment_id not in wanted:
                continue
            value = statistics.get("total_members") if isinstance(statistics, dict) else None
            sizes[segment_id] = _count_or_none(value)
        return sizes

    def list_size(self, list_id: str) -> int | None:
        """A list's profile_count (None when Klaviyo gives none). Raises KlaviyoNotFound."""
        path = f"/api/lists/{quote(list_id, safe='')}"
        url = f"{self.base_url}{path}?additional-fields[list]=profile_count"
        body = self._request(
            "GET",
            url,
            label="lists",
            what="listing lists",
            scope=KINDS["list"][3],
            not_found="Klaviyo no longer has this list.",
        )
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(attributes, dict):
            raise KlaviyoBadResponse("Klaviyo's answer for a list has no attributes.")
        return _count_or_none(attributes.get("profile_count"))

    # -- campaigns (the push) ---------------------------------------------------------------

    def campaign_create(
        self,
        *,
        name: str,
        channel: str,
        included: list[str],
        excluded: list[str],
        send_at: datetime | None,
    ) -> KlaviyoCampaign:
        """A draft campaign. Not retried after a timeout or a 5xx (Klaviyo may have made it):
        the caller finds it by its marker instead."""
        content = (
            {"body": ""}
            if channel == "sms"
            else {"subject": "", "from_email": "", "from_label": ""}
        )
        attributes: dict = {
            "name": name,
            "audiences": {"included": included, "excluded": excluded},
            "campaign-messages": {
                "data": [
                    {
                        "type": "campaign-message",
                        "attributes": {
                            "definition": {"channel": channel, "label": name, "content": content}
                        },
                    }
                ]
            },
        }
        if send_at is not None:
            attributes["send_strategy"] = {
                "method": "static",
                "datetime": send_at.astimezone(UTC).isoformat(),
                "options": {"is_local": False},
            }
        body = self._request(
            "POST",
            f"{self.base_url}/api/campaigns",
            label="create campaign",
            what="creating the campaign",
            scope="campaigns:write",
            json_body={"data": {"type": "campaign", "attributes": attributes}},
            idempotent=False,
        )
        return self._parse_campaign(body)

    def campaign_get(self, campaign_id: str) -> KlaviyoCampaign:
        """Raises KlaviyoNotFound when the campaign was deleted in Klaviyo."""
        body = self._request(
            "GET",
            f"{self.base_url}/api/campaigns/{quote(campaign_id, safe='')}",
            label="campaign",
            what="reading the campaign",
            scope="campaigns:read",
            not_found="Klaviyo has no campaign with this ID any more (it was deleted there).",
        )
        return self._parse_campaign(body)

    def campaign_find(self, *, marker: str, channel: str) -> KlaviyoCampaign | None:
        """The campaign whose name carries `marker` (one this app created), if any."""
        filter_ = f"and(equals(messages.channel,'{channel}'),contains(name,'{marker}'))"
        body = self._request(
            "GET",
            f"{self.base_url}/api/campaigns?filter={quote(filter_, safe='(),')}",
            label="campaigns",
            what="looking for the campaign",
            scope="campaigns:read",
        )
        data = body.get("data")
        if not isinstance(data, list):
            raise KlaviyoBadResponse("Klaviyo's list of campaigns has no list of data.")
        for item in data:
            found = self._parse_campaign({"data": item})
            if marker in found.name:
                return found
        return None

    def campaign_set_audiences(
        self, campaign_id: str, *, included: list[str], excluded: list[str]
    ) -> KlaviyoCampaign:
        """Replace a draft's included and excluded lists and segments wholesale."""
        body = self._request(
            "PATCH",
            f"{self.base_url}/api/campaigns/{quote(campaign_id, safe='')}",
            label="update campaign",
            what="updating the campaign",
            scope="campaigns:write",
            json_body={
                "data": {
                    "type": "campaign",
                    "id": campaign_id,
                    "attributes": {"audiences": {"included": included, "excluded": excluded}},
                }
            },
            not_found="Klaviyo has no campaign with this ID any more (it was deleted there).",
        )
        return self._parse_campaign(body)

    def estimate_start(self, campaign_id: str) -> str:
        """Ask Klaviyo to count the campaign's recipients; returns the job's status."""
        body = self._request(
            "POST",
            f"{self.base_url}/api/campaign-recipient-estimation-jobs",
            label="recipient estimate",
            what="starting the recipient estimate",
            scope="campaigns:write",
            json_body={"data": {"type": "campaign-recipient-estimation-job", "id": campaign_id}},
            not_found="Klaviyo has no campaign with this ID any more (it was deleted there).",
        )
        return self._job_status(body)

    def estimate_job_status(self, campaign_id: str) -> str:
        body = self._request(
            "GET",
            f"{self.base_url}/api/campaign-recipient-estimation-jobs/{quote(campaign_id, safe='')}",
            label="recipient estimate",
            what="reading the recipient estimate",
            scope="campaigns:read",
        )
        return self._job_status(body)

    def estimate_get(self, campaign_id: str) -> int:
        body = self._request(
            "GET",
            f"{self.base_url}/api/campaign-recipient-estimations/{quote(campaign_id, safe='')}",
            label="recipient estimate",
            what="reading the recipient estimate",
            scope="campaigns:read",
        )
        data = body.get("data")
        attributes = data.get("attributes") if isinstance(data, dict) else None
        count = (
            attributes.get("estimated_recipient_count") if isinstance(attributes, dict) else None
        )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise KlaviyoBadResponse("Klaviyo's recipient estimate has no count in it.")
        return count

    def check_scopes(self) -> list[ScopeCheck]:
        """Try each scope the app uses with a call that changes nothing. A PATCH of a campaign
        that does not exist answers 404 when the key may write campaigns and 403 when not."""
        probes = [
            (
                "segments:read",
                lambda: self._get(self.first_url("segment", page_size=1), kind="segment"),
            ),
            ("lists:read", lambda: self._get(self.first_url("list", page_size=1), kind="list")),
            ("campaigns:read", lambda: self.campaign_find(marker=SCOPE_PROBE_ID, channel="email")),
            (
                "campaigns:write",
                lambda: self.campaign_set_audiences(SCOPE_PROBE_ID, included=[], excluded=[]),
            ),
        ]
        checks = []
        for scope, probe in probes:
            try:
                probe()
            except KlaviyoScopeError:
                checks.append(ScopeCheck(scope, False, "missing: give the key this scope"))
                continue
            except KlaviyoNotFound:
                pass  # the probe campaign does not exist: the scope itself works
            except KlaviyoRequestError as error:
                if error.status != 400:
                    raise
            checks.append(ScopeCheck(scope, True, "works"))
        return checks

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _job_status(body: dict) -> str:
        data = body.get("data")
        attributes = data.get("attributes") if isinstance(data, dict) else None
        status = attributes.get("status") if isinstance(attributes, dict) else None
        if not isinstance(status, str) or not status:
            raise KlaviyoBadResponse("Klaviyo's recipient estimate job has no status.")
        return status

    @staticmethod
    def _parse_campaign(body: dict) -> KlaviyoCampaign:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise KlaviyoBadResponse("Klaviyo's answer about the campaign has no campaign in it.")
        attributes = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
        audiences = (
            attributes.get("audiences") if isinstance(attributes.get("audiences"), dict) else {}
        )

        def ids(key: str) -> tuple[str, ...]:
            value = audiences.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return KlaviyoCampaign(
            id=str(data["id"]),
            name=str(attributes.get("name") or ""),
            status=str(attributes.get("status") or "Unknown"),
            included=ids("included"),
            excluded=ids("excluded"),
        )

    def _wait(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if seconds:
            self._sleep(seconds)
            self.waited += seconds

    def _budget_left(self) -> float:
        return max(0.0, self.wait_budget - self.waited)

    def _get(self, url: str, *, kind: str) -> dict:
        return self._request(
            "GET", url, label=f"{kind}s", what=f"listing {kind}s", scope=KINDS[kind][3]
        )

    def _request(
        self,
        method: str,
        url: str,
        *,
        label: str,
        what: str,
        scope: str,
        json_body: dict | None = None,
        idempotent: bool = True,
        not_found: str = "",
    ) -> dict:
        """One call with retries. A call that is not idempotent (creating a campaign) is only
        retried when Klaviyo cannot have acted on it: a 429, or a connection never made."""
        server_errors = 0
        backoff = BACKOFF_START
        last_problem = ""
        status = 0
        for _attempt in range(MAX_ATTEMPTS):
            if self._ratelimit_pause:
                self._wait(min(self._ratelimit_pause, self._budget_left()))
                self._ratelimit_pause = 0.0
            retry_safe = True
            try:
                self.requests_made += 1
                response = self.session.request(
                    method,
                    url,
                    json=json_body,
                    headers={"content-type": "application/vnd.api+json"} if json_body else None,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.ConnectTimeout:
                last_problem = "could not be reached"
                response = None
            except requests.Timeout:
                last_problem = "did not answer in time"
                response = None
                retry_safe = idempotent
            except requests.ConnectionError:
                last_problem = "could not be reached"
                response = None
                retry_safe = idempotent
            except requests.RequestException:
                last_problem = "could not be reached"
                response = None

            if response is None:
                server_errors += 1
                delay = self._jitter(backoff)
                if (
                    not retry_safe
                    or server_errors > MAX_SERVER_ERROR_RETRIES
                    or delay > self._budget_left()
                ):
                    raise KlaviyoUnreachable(
                        f"Klaviyo {last_problem} ({self.base_url}); tried "
                        f"{server_errors} time{'s' if server_errors != 1 else ''}."
                    )
                logger.warning("Klaviyo %s; retrying in %.1f s", last_problem, delay)
                self._wait(delay)
                backoff = min(backoff * BACKOFF_FACTOR, BACKOFF_CAP)
                continue

            status = response.status_code
            body = self._json_or_none(response)
            if 200 <= status < 300:
                if body is None and status != 204:
                    raise KlaviyoBadResponse(
                        f"Klaviyo answered the {label} request with something that is not "
                        f"valid JSON (HTTP {status}, {len(response.content):,} bytes); "
                        "the page may have been cut off."
                    )
                self._note_rate_limit(response)
                return body if isinstance(body, dict) else {}

            if status in RETRIED_STATUSES:
                if status == 429:
                    told = _retry_after_seconds(response, body)
                    delay = told if told is not None else self._jitter(backoff)
                    # A little slack: retrying before the window reopens always fails.
                    delay = delay + 0.05 if told is not None else delay
                    daily = bool(_DAILY.search(str(_first_error(body).get("detail") or "")))
                    if daily or delay > self._budget_left():
                        raise KlaviyoThrottled(
                            "Klaviyo's daily limit for this call is reached (HTTP 429)."
                            if daily
                            else "Klaviyo is throttling requests (HTTP 429) and the retry budget "
                            f"is spent; try again in {max(1, round(delay))} seconds.",
                            retry_after=delay,
                            daily=daily,
                        )
                else:
                    server_errors += 1
                    delay = self._jitter(backoff)
                    if (
                        not idempotent
                        or server_errors > MAX_SERVER_ERROR_RETRIES
                        or delay > self._budget_left()
                    ):
                        times = f", {server_errors} times in a row" if server_errors > 1 else ""
                        raise KlaviyoServerError(
                            f"Klaviyo had a server error (HTTP {status}) {what}{times}; "
                            "try again later."
                        )
                logger.warning("Klaviyo answered HTTP %s; retrying in %.1f s", status, delay)
                self._wait(delay)
                backoff = min(backoff * BACKOFF_FACTOR, BACKOFF_CAP)
                continue

            raise self._error_for(status, body, label=label, scope=scope, not_found=not_found)
        if status == 429:
            raise KlaviyoThrottled(
                f"Klaviyo kept throttling requests (HTTP 429) {what}, {MAX_ATTEMPTS} times in a "
                "row; try again in a minute.",
                retry_after=None,
            )
        raise KlaviyoServerError(
            f"Klaviyo did not give a usable answer {what} after {MAX_ATTEMPTS} tries."
        )

    @staticmethod
    def _jitter(seconds: float) -> float:
        return seconds * random.uniform(0.5, 1.5)  # jitter, not cryptography

    @staticmethod
    def _json_or_none(response: requests.Response) -> object | None:
        try:
            return response.json()
        except ValueError:
            return None

    def _note_rate_limit(self, response: requests.Response) -> None:
        """Slow down before Klaviyo throttles, from the RateLimit-* headers."""
        try:
            limit = int(response.headers["RateLimit-Limit"].split(",")[0].split(";")[0])
            remaining = int(response.headers["RateLimit-Remaining"].split(",")[0])
            reset = float(response.headers["RateLimit-Reset"].split(",")[0])
        except (KeyError, ValueError, IndexError):
            return
        if remaining <= 0:
            self._ratelimit_pause = reset
        elif limit > 0 and remaining < max(2, limit // 10):
            # Spread what is left of the window over the time left in it.
            self._ratelimit_pause = reset / (remaining + 1)

    def _error_for(
        self, status: int, body: object, *, label: str, scope: str, not_found: str = ""
    ) -> KlaviyoError:
        error = _first_error(body)
        code = str(error.get("code") or "")
        if status == 401 or code in {"authentication_failed", "not_authenticated"}:
            return KlaviyoAuthError("Klaviyo rejected the API key (it is wrong or was revoked).")
        if status == 403:
            if body is None:
                return KlaviyoBlocked(
                    "Klaviyo refused the request with a web page instead of an API answer "
                    "(HTTP 403, usually a temporary block by its network); try again later."
                )
            return KlaviyoScopeError(
                f"The key lacks the {scope} scope; give the key that scope in Klaviyo.",
                scope=scope,
            )
        if status == 410:
            return KlaviyoRequestError(
                f"Klaviyo no longer serves API revision {REVISION} (HTTP 410); "
                "this app needs an update.",
                status=status,
            )
        if status == 404 and not_found and body is not None:
            # Klaviyo's own "no such object" (a JSON error), not a wrong address's web page.
            return KlaviyoNotFound(not_found, status=status)
        if status == 404:
            return KlaviyoRequestError(
                f"Klaviyo does not know the {label} endpoint at {self.base_url} (HTTP 404).",
                status=status,
            )
        details = _error_details(body)
        return KlaviyoRequestError(
            f"Klaviyo refused the {label} request (HTTP {status})"
            + (f": {details}" if details else "."),
            status=status,
        )

    def _parse_objects(self, body: dict, kind: str) -> list[KlaviyoObject]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise KlaviyoBadResponse(f"Klaviyo's page of {kind}s has no list of data.")
        objects = []
        for item in data:
            if not isinstance(item, dict) or not item.get("id"):
                raise KlaviyoBadResponse(f"Klaviyo's page of {kind}s has an item without an id.")
            attributes = item.get("attributes") or {}
            name = attributes.get("name") if isinstance(attributes, dict) else None
            object_id = str(item["id"]).strip()
            if not name or not str(name).strip():
                name = f"Unnamed Klaviyo {kind} {object_id}"
            objects.append(KlaviyoObject(id=object_id, kind=kind, name=str(name).strip()))
        return objects

    def _next_url(self, body: dict, kind: str) -> str | None:
        links = body.get("links") if isinstance(body, dict) else None
        url = links.get("next") if isinstance(links, dict) else None
        if not url:
            return None
        if not isinstance(url, str) or urlsplit(url)[:2] != self._origin:
            # The key goes with every request: never follow a link to another host.
            raise KlaviyoPaginationError(
                f"Klaviyo's next-page link for {kind}s points outside {self.base_url}; stopped."
            )
        return url
