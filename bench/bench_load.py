"""Load: marketers at work while a 200,000-row CSV import and a Klaviyo sync run.

Data: `seed_demo --size large` (50,000 segments, 500 audiences, 2,000 campaigns) on an emptied
database, and a few Marketer accounts. On loopback: gunicorn (2 workers), one `db_worker`
(database task backend) and the fake Klaviyo serving 8,000 segments + 2,000 lists.

For LOAD_SECONDS (60), LOAD_USERS (10) locust users log in through the login form and browse
the Segments tab, search as they type, toggle segments, open the audience and campaign forms,
search in the segment picker and save campaigns (bench/locustfile.py). Meanwhile one marketer
uploads a CSV file of LOAD_IMPORT_ROWS (200,000) new segments into Email through Data → Upload
(upload, mapping, dry run, Upload and Import) and another starts "Sync from Klaviyo" on the SMS
Segments tab; both are waited for, then checked against the exact counts they must give.

Per request type: count, requests/s, median and p95, failures, and the median's ratio to the
floor (the minimal login-required view through the same gunicorn, measured before the load).
Goal: no 5xx and no failed request. Any failure or wrong count prints `load.result: FAILED`
and exits non-zero. LOAD_KEEP_DATA=1 leaves the data in the database afterwards.
"""

import csv
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

from bench.common import ROOT, free_port

SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
USERS = int(os.environ.get("LOAD_USERS", "10"))
IMPORT_ROWS = int(os.environ.get("LOAD_IMPORT_ROWS", "200000"))
KEEP_DATA = os.environ.get("LOAD_KEEP_DATA") == "1"
MARKETERS = 10
PASSWORD = "load-marketer-password-not-secret"
KLAVIYO_SEGMENTS, KLAVIYO_LISTS = 8_000, 2_000
KEY = "pk_bench_not_a_real_key_0000000000"
IMPORT_CHANNEL, SYNC_CHANNEL = "email", "sms"
FLOOR_REQUESTS = 300
FLOWS_TIMEOUT = 20 * 60  # the import and the sync must finish within this, load included
POLL_SECONDS = 1.0  # as the progress regions poll (hx-trigger="every 1s")
HTMX = {"HX-Request": "true"}
SEARCH_TERMS = {
    "email": ["vip customers", "abandoned cart", "repeat buyers", "EM001234", "EMAIL-004321"],
    "sms": ["lapsed customers", "loyalty members", "SM000321", "Spring", "birthday"],
    "meta": ["discount seekers", "gift card", "ME000777", "engaged last 30", "wishlist"],
}

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CSRF_HEADER = re.compile(r"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""")
_SUBMISSION = re.compile(r'name="submission" value="([0-9a-f]+)"')


# -- processes -----------------------------------------------------------------------------


class Processes:
    """Subprocesses in their own process groups, all ended on exit (even on failure)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()  # the child has its own copy
        self.started.append((name, process))
        return process

    def stop_all(self) -> None:
        for _name, process in reversed(self.started):
            _stop(process)

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


# -- data ----------------------------------------------------------------------------------


def _empty_database() -> None:
    """Flush, then put back what the data migrations make (channels, role groups)."""
    import django.apps
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command

    from access_audience.management.commands.seed_demo import DEFAULT_CHANNELS
    from channels_app.models import Channel
    from channels_app.roles import sync_roles

    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()
    for slug, name, position in DEFAULT_CHANNELS:
        Channel.objects.get_or_create(slug=slug, defaults={"name": name, "position": position})
    sync_roles(django.apps.apps)


def _seed() -> list[tuple[str, str]]:
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from channels_app.roles import MARKETER

    _empty_database()
    out = StringIO()
    call_command("seed_demo", size="large", stdout=out)
    print(f"# {out.getvalue().strip()}", flush=True)
    if connection.vendor == "postgresql":
        # Steady state, as autovacuum leaves it: statistics and the visibility map are current.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    group = Group.objects.get(name=MARKETER)
    accounts = []
    for n in range(1, MARKETERS + 3):
        user = get_user_model().objects.create_user(f"load-marketer-{n}", password=PASSWORD)
        user.groups.add(group)
        accounts.append((user.username, PASSWORD))
    return accounts


def _write_csv(path: Path, rows: int) -> Path:
    behaviours = ["VIP", "Repeat buyers", "Abandoned cart", "Newsletter", "Lapsed", "Loyalty"]
    regions = ["France", "Germany", "Spain", "UK", "US East", "Nordics"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Segment name", "Segment ID", "Link", "Status"])
        for i in range(rows):
            writer.writerow(
                [
                    f"Spreadsheet {behaviours[i % 6]} · {regions[i // 6 % 6]} · {i:06d}",
                    f"LOAD-{i:06d}",
                    f"https://example.com/lists/{i}",
                    "inactive" if i % 10 == 0 else "active",
                ]
            )
    return path


def _sync_expectation(channel) -> dict[str, int]:
    """What a sync of the fake's objects must do to `channel`, from the rules in sync.py."""
    from segments.models import Segment
    from tests.klaviyo_fake import object_id

    klaviyo_ids = {object_id("segment", n) for n in range(KLAVIYO_SEGMENTS)}
    klaviyo_ids |= {object_id("list", n) for n in range(KLAVIYO_LISTS)}
    created, missing = len(klaviyo_ids), 0
    rows = Segment.objects.filter(channel=channel).exclude(external_id="")
    for external_id, source, kind, active, missing_since in rows.values_list(
        "external_id", "source", "kind", "is_active", "klaviyo_missing_since"
    ):
        if external_id in klaviyo_ids:
            created -= 1
        elif (source == Segment.Source.KLAVIYO or kind) and active and missing_since is None:
            missing += 1
    return {"created": created, "marked_missing": missing}


# -- HTTP as a person in a browser ---------------------------------------------------------


class Recorder:
    """Timings and statuses of the requests made outside locust (the import and the sync)."""

    def __init__(self):
        self.requests: dict[str, dict] = {}

    def send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        name: str,
        *,
        expect: int = 200,
        **kw,
    ) -> requests.Response | None:
        row = self.requests.setdefault(
            name, {"ms": [], "status": Counter(), "failures": 0, "errors": Counter()}
        )
        start = time.perf_counter()
        try:
            response = session.request(method, url, timeout=60, allow_redirects=False, **kw)
        except requests.RequestException as exc:
            row["ms"].append((time.perf_counter() - start) * 1000)
            row["status"]["0"] += 1
            row["failures"] += 1
            row["errors"][type(exc).__name__] += 1
            return None
        row["ms"].append((time.perf_counter() - start) * 1000)
        row["status"][str(response.status_code)] += 1
        if response.status_code != expect:
            row["failures"] += 1
            row["errors"][f"HTTP {response.status_code}"] += 1
        return response


def _log_in(session: requests.Session, base: str, username: str) -> None:
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = _CSRF_INPUT.search(page.text).group(1)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, f"login of {username}: HTTP {response.status_code}"


class ImportFlow:
    """Data → Upload as a marketer does it: file, mapping, dry run, Upload and Import."""

    def __init__(self, base: str, username: str, path: Path, recorder: Recorder):
        self.base, self.path, self.rec = base, path, recorder
        self.session = requests.Session()
        _log_in(self.session, base, username)
        self.upload_id: int | None = None
        self.state = "start"
        self.times: dict[str, float] = {}
        self.problem = ""

    def step(self) -> bool:
        """Advance by one request or poll; False once finished (or failed)."""
        from integrations.uploads.models import Upload

        base, rec, s = self.base, self.rec, self.session
        if self.state == "start":
            page = rec.send(s, "GET", f"{base}/data/upload/?channel={IMPORT_CHANNEL}", "data.form")
            if page is None or page.status_code != 200:
                return self._fail("the upload form did not open")
            self.times["upload"] = time.monotonic()
            with open(self.path, "rb") as fh:
                response = rec.send(
                    s,
                    "POST",
                    f"{base}/data/upload/",
                    "data.upload_post",
                    expect=302,
                    data={
                        "csrfmiddlewaretoken": _CSRF_INPUT.search(page.text).group(1),
                        "submission": _SUBMISSION.search(page.text).group(1),
                        "object_type": "segments",
                        "channel": IMPORT_CHANNEL,
                    },
                    files={"file": (self.path.name, fh, "text/csv")},
                )
            self.times["uploaded"] = time.monotonic()
            location = response.headers.get("Location", "") if response is not None else ""
            found = re.search(r"/data/uploads/(\d+)/read/$", location)
            if not found:
                return self._fail("the upload was not accepted")
            self.upload_id = int(found.group(1))
            self.state = "reading"  # the worker reads the file; the page polls
            return True
        if self.state == "reading":
            read = f"{base}/data/uploads/{self.upload_id}/read/"
            rec.send(s, "GET", read, "data.read_progress (htmx)", headers=HTMX)
            upload = Upload.objects.get(pk=self.upload_id)
            if upload.status == Upload.Status.READING:
                return True
            if upload.status != Upload.Status.NEW:
                return self._fail(f"the file was not read: {upload.error_message}")
            self.times["read"] = time.monotonic()
            rec.send(s, "GET", read, "data.read")
            page = rec.send(s, "GET", f"{base}/data/uploads/{self.upload_id}/map/", "data.map")
            if page is None or page.status_code != 200:
                return self._fail("the mapping step did not open")
            mapping = {
                "csrfmiddlewaretoken": _CSRF_INPUT.search(page.text).group(1),
                "name_source": "column:Segment name",
                "external_id_source": "column:Segment ID",
                "link_source": "column:Link",
                "is_active_source": "column:Status",
            }
            for key in ("name", "external_id", "link", "is_active"):
                mapping[f"{key}_static"] = ""
            response = rec.send(
                s,
                "POST",
                f"{base}/data/uploads/{self.upload_id}/map/",
                "data.map_post",
                expect=302,
                data=mapping,
            )
            if response is None or response.status_code != 302:
                return self._fail("the mapping was not accepted")
            self.times["dry_run"] = time.monotonic()
            self.state = "checking"
            return True
        detail = f"{base}/data/uploads/{self.upload_id}/"
        rec.send(s, "GET", detail, "data.progress (htmx)", headers=HTMX)
        upload = Upload.objects.get(pk=self.upload_id)
        if self.state == "checking" and upload.status != Upload.Status.CHECKING:
            self.times["checked"] = time.monotonic()
            if upload.status != Upload.Status.CHECKED:
                return self._fail(f"the dry run ended {upload.status}: {upload.error_message}")
            page = rec.send(s, "GET", detail, "data.detail")
            if page is None or "Upload and Import" not in page.text:
                return self._fail("no Upload and Import button after the dry run")
            response = rec.send(
                s,
                "POST",
                f"{detail}import/",
                "data.import_post",
                expect=302,
                data={"csrfmiddlewaretoken": _CSRF_INPUT.search(page.text).group(1)},
            )
            if response is None or response.status_code != 302:
                return self._fail("Upload and Import was refused")
            self.times["import"] = time.monotonic()
            self.state = "importing"
        elif self.state == "importing" and upload.status in Upload.FINISHED:
            self.times["done"] = time.monotonic()
            self.state = "done"
            return False
        return True

    def _fail(self, problem: str) -> bool:
        self.problem, self.state = problem, "failed"
        return False


class SyncFlow:
    """The SMS Segments tab's "Sync from Klaviyo" button, then its panel until the end."""

    def __init__(self, base: str, username: str, recorder: Recorder):
        self.base, self.rec = base, recorder
        self.session = requests.Session()
        _log_in(self.session, base, username)
        self.run_id: int | None = None
        self.state = "start"
        self.times: dict[str, float] = {}
        self.problem = ""

    def step(self) -> bool:
        from integrations.klaviyo.models import SyncRun

        base, rec, s = self.base, self.rec, self.session
        panel = f"{base}/integrations/klaviyo/channels/{SYNC_CHANNEL}/"
        if self.state == "start":
            page = rec.send(s, "GET", f"{base}/channels/{SYNC_CHANNEL}/segments/", "sync.tab")
            if page is None or "Sync from Klaviyo" not in page.text:
                return self._fail("no Sync from Klaviyo button on the Segments tab")
            self.times["start"] = time.monotonic()
            response = rec.send(
                s,
                "POST",
                f"{panel}sync/",
                "sync.start (htmx)",
                headers={**HTMX, "X-CSRFToken": _CSRF_HEADER.search(page.text).group(1)},
            )
            found = re.search(r"panel/\?run=(\d+)", response.text if response else "")
            if not found:
                return self._fail("the sync did not start")
            self.run_id = int(found.group(1))
            self.state = "running"
            return True
        rec.send(s, "GET", f"{panel}panel/?run={self.run_id}", "sync.panel (htmx)", headers=HTMX)
        run = SyncRun.objects.get(pk=self.run_id)
        if run.status in SyncRun.ACTIVE_STATUSES:
            return True
        self.times["done"] = time.monotonic()
        self.state = "done"
        if run.status != SyncRun.Status.SUCCEEDED:
            return self._fail(f"the sync {run.status}: {run.error}")
        return False

    def _fail(self, problem: str) -> bool:
        self.problem, self.state = problem, "failed"
        return False


# -- figures -------------------------------------------------------------------------------


def _floor(base: str, username: str) -> float:
    session = requests.Session()
    _log_in(session, base, username)
    url = f"{base}/bench/floor/"
    assert session.get(url, allow_redirects=False, timeout=30).status_code == 200
    samples = []
    for n in range(FLOOR_REQUESTS + 20):
        start = time.perf_counter()
        response = session.get(url, timeout=30)
        if n >= 20:  # the first ones warm up the workers
            samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(samples)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _print_rows(rows: dict[str, dict], seconds: float, floor: float, prefix: str) -> list[str]:
    """One line per request type; returns the problems (5xx, failures) found."""
    problems = []
    for name in sorted(rows):
        row = rows[name]
        ms = row["ms"]
        if not ms:
            continue
        server_errors = sum(n for code, n in row["status"].items() if int(code) >= 500)
        median, p95 = statistics.median(ms), _percentile(ms, 0.95)
        print(
            f"{prefix}{name}: median {median:,.1f} ms ({median / floor:,.2f}x vs floor), "
            f"p95 {p95:,.1f} ms ({p95 / floor:,.2f}x vs floor); {len(ms):,} requests, "
            f"{len(ms) / seconds:,.2f} req/s, {row['failures']} failed, {server_errors} 5xx",
            flush=True,
        )
        if row["failures"] or server_errors:
            errors = ", ".join(f"{e} x{n}" for e, n in Counter(row["errors"]).most_common(3))
            problems.append(f"{name}: {row['failures']} failed, {server_errors} 5xx ({errors})")
    return problems


def _print_tasks() -> list[str]:
    """How long each background task waited in the queue and ran (one worker: they queue)."""
    from django_tasks_db.models import DBTaskResult

    problems = []
    for task in DBTaskResult.objects.order_by("enqueued_at"):
        name = task.task_path.rsplit(".", 1)[-1]
        if name == "upload_run_task":
            name += " (dry run)" if task.args_kwargs["args"][1] else " (import)"
        if task.started_at and task.finished_at:
            waited = (task.started_at - task.enqueued_at).total_seconds()
            ran = (task.finished_at - task.started_at).total_seconds()
            print(
                f"load.worker.{name}: ran {ran:,.1f} s after {waited:,.1f} s queued; "
                f"{task.status.lower()}",
                flush=True,
            )
        if task.status != "SUCCESSFUL":
            problems.append(f"worker: {name} {task.status}")
    return problems


# -- the run -------------------------------------------------------------------------------


def run() -> None:
    from django.conf import settings

    from channels_app.models import Channel
    from integrations.klaviyo.models import SyncRun
    from integrations.uploads.models import Upload
    from segments.models import Segment

    workdir = Path(settings.DATA_DIR) / "load"
    workdir.mkdir(parents=True, exist_ok=True)
    accounts = _seed()
    importer, syncer = accounts[-2][0], accounts[-1][0]
    channels = {c.slug: c for c in Channel.objects.all()}
    csv_path = _write_csv(workdir / "new-segments.csv", IMPORT_ROWS)
    before = {slug: Segment.objects.filter(channel=c).count() for slug, c in channels.items()}
    import_collisions = Segment.objects.filter(
        channel=channels[IMPORT_CHANNEL], external_id__startswith="LOAD-"
    ).count()
    expected_import = IMPORT_ROWS - import_collisions
    expected_sync = _sync_expectation(channels[SYNC_CHANNEL])
    config = {
        "accounts": accounts[:MARKETERS],
        "channels": {
            slug: {
                "audiences": list(c.audiences.values_list("pk", flat=True)[:50]),
                # Toggles stay out of the synced channel, whose expected counts they would move.
                "toggle": slug != SYNC_CHANNEL,
            }
            for slug, c in channels.items()
        },
        "terms": SEARCH_TERMS,
        "stats_path": str(workdir / "locust-requests.json"),
    }
    (workdir / "locust-config.json").write_text(json.dumps(config))

    processes = Processes(workdir)
    problems: list[str] = []
    try:
        fake_port, web_port = free_port(), free_port()
        fake = processes.start(
            "klaviyo-fake",
            [
                *(sys.executable, "-m", "tests.klaviyo_fake", "--port", str(fake_port)),
                *("--segments", str(KLAVIYO_SEGMENTS), "--lists", str(KLAVIYO_LISTS)),
                *("--key", KEY),
            ],
            dict(os.environ),
        )
        _wait_for_port(fake_port, fake, "the fake Klaviyo")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_TASKS_BACKEND": "database",
            "KLAVIYO_API_URL": f"http://127.0.0.1:{fake_port}",
            "KLAVIYO_API_KEY": KEY,
        }
        web = processes.start(
            "gunicorn",
            [
                *(sys.executable, "-m", "gunicorn", "bench.wsgi"),
                *("--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--log-level", "warning"),
            ],
            env,
        )
        processes.start(
            "db_worker",
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"],
            env,
        )
        _wait_for_port(web_port, web, "gunicorn")
        base = f"http://127.0.0.1:{web_port}"

        floor = _floor(base, accounts[0][0])
        print(f"load.floor_median: {floor:,.3f} ms (1.00x vs floor)", flush=True)

        recorder = Recorder()
        flows = {"import": ImportFlow(base, importer, csv_path, recorder)}
        flows["sync"] = SyncFlow(base, syncer, recorder)
        locust = processes.start(
            "locust",
            [
                *(sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")),
                # Two logins a second: each one hashes a password, the dearest request there is.
                *("--headless", "--users", str(USERS), "--spawn-rate", "2"),
                *("--run-time", f"{SECONDS}s", "--stop-timeout", "15", "--host", base),
                *("--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"),
            ],
            {**os.environ, "LOAD_CONFIG": str(workdir / "locust-config.json")},
        )
        load_started = time.monotonic()
        time.sleep(min(5, SECONDS / 4))  # the users log in and get going first

        # The import and the sync, one step each per poll, until both end (bounded).
        active = dict(flows)
        deadline = time.monotonic() + FLOWS_TIMEOUT
        while active and time.monotonic() < deadline:
            for name, flow in list(active.items()):
                if not flow.step():
                    del active[name]
            time.sleep(POLL_SECONDS)
        if active:
            problems.append(f"still running after {FLOWS_TIMEOUT} s: {', '.join(active)}")
        flows_ended = time.monotonic()

        try:
            locust.wait(timeout=max(0, load_started + SECONDS + 90 - time.monotonic()))
        except subprocess.TimeoutExpired:
            problems.append("locust did not stop by itself")
        stats_path = Path(config["stats_path"])
        if not stats_path.exists():
            problems.append("locust wrote no statistics")
            print(processes.tail("locust"), flush=True)
            stats = {"times": {}, "requests": {}}
        else:
            stats = json.loads(stats_path.read_text())

        # -- report ----------------------------------------------------------------------
        times = stats["times"]
        seconds = (times.get("stopped", 0) - times.get("started", 0)) or SECONDS
        rows = stats["requests"]
        total = sum(len(r["ms"]) for r in rows.values())
        print(
            f"load.throughput: {total / seconds:,.2f} req/s "
            f"({total / seconds / (1000 / floor):,.2f}x vs sequential floor); "
            f"{USERS} users for {seconds:,.0f} s, {total:,} requests",
            flush=True,
        )
        problems += _print_rows(rows, seconds, floor, "load.")
        for error, count in stats.get("task_errors", {}).items():
            problems.append(f"a user's work stopped on an error x{count}: {error}")
        flows_seconds = flows_ended - load_started
        problems += _print_rows(recorder.requests, flows_seconds, floor, "load.background.")

        imp = flows["import"]
        if imp.problem:
            problems.append(f"import: {imp.problem}")
        if imp.upload_id is not None:
            upload = Upload.objects.get(pk=imp.upload_id)
            t = imp.times
            if "done" in t:
                print(
                    f"load.import: {t['done'] - t['upload']:,.1f} s for {IMPORT_ROWS:,} rows "
                    f"(upload {t['uploaded'] - t['upload']:,.1f} s, read in the worker "
                    f"{t['read'] - t['uploaded']:,.1f} s, dry run "
                    f"{t['checked'] - t['dry_run']:,.1f} s, import {t['done'] - t['import']:,.1f} s"
                    f" = {IMPORT_ROWS / (t['done'] - t['import']):,.0f} rows/s); ended "
                    f"{t['done'] - load_started - SECONDS:+,.1f} s after the load's end",
                    flush=True,
                )
            counts = (upload.created_count, upload.updated_count, upload.invalid_count)
            print(
                f"load.import_counts: {upload.status}, created {counts[0]:,} "
                f"(expected {expected_import:,}), updated {counts[1]:,}, invalid {counts[2]:,}",
                flush=True,
            )
            imported = Segment.objects.filter(
                channel=channels[IMPORT_CHANNEL], external_id__startswith="LOAD-"
            ).count()
            in_channel = Segment.objects.filter(channel=channels[IMPORT_CHANNEL]).count()
            if upload.status != Upload.Status.DONE or counts != (expected_import, 0, 0):
                problems.append(f"import: {upload.status}, counts {counts}")
            if imported != IMPORT_ROWS or in_channel != before[IMPORT_CHANNEL] + expected_import:
                problems.append(
                    f"import: {imported:,} imported rows and {in_channel:,} segments in "
                    f"{IMPORT_CHANNEL} (expected {IMPORT_ROWS:,} and "
                    f"{before[IMPORT_CHANNEL] + expected_import:,})"
                )

        sync = flows["sync"]
        if sync.problem:
            problems.append(f"sync: {sync.problem}")
        if sync.run_id is not None:
            run_row = SyncRun.objects.get(pk=sync.run_id)
            result = run_row.results.get(channel=channels[SYNC_CHANNEL])
            if run_row.started_at and run_row.finished_at:
                took = (run_row.finished_at - run_row.started_at).total_seconds()
                queued = (run_row.started_at - run_row.created_at).total_seconds()
                print(
                    f"load.sync: {took:,.1f} s for {KLAVIYO_SEGMENTS + KLAVIYO_LISTS:,} items "
                    f"(queued {queued:,.1f} s before the worker took it)",
                    flush=True,
                )
            got = {"created": result.created, "marked_missing": result.marked_missing}
            in_channel = Segment.objects.filter(channel=channels[SYNC_CHANNEL]).count()
            print(
                f"load.sync_counts: {run_row.status}, created {got['created']:,} (expected "
                f"{expected_sync['created']:,}), marked not in Klaviyo {got['marked_missing']:,} "
                f"(expected {expected_sync['marked_missing']:,}), updated {result.updated:,}, "
                f"{in_channel:,} segments in {SYNC_CHANNEL}",
                flush=True,
            )
            if run_row.status != SyncRun.Status.SUCCEEDED or got != expected_sync:
                problems.append(f"sync: {run_row.status}, {got} (expected {expected_sync})")
            if in_channel != before[SYNC_CHANNEL] + expected_sync["created"]:
                problems.append(f"sync: {in_channel:,} segments in {SYNC_CHANNEL}")

        problems += _print_tasks()

        for slug, count in before.items():
            if slug not in (IMPORT_CHANNEL, SYNC_CHANNEL):
                now = Segment.objects.filter(channel=channels[slug]).count()
                if now != count:
                    problems.append(f"{slug}: {now:,} segments, {count:,} before")
        if problems:
            for name in ("gunicorn", "db_worker"):
                print(f"# last lines of the {name} log:\n{processes.tail(name)}", flush=True)
            print(f"# logs: {workdir}", flush=True)
    finally:
        processes.stop_all()
        csv_path.unlink(missing_ok=True)
        if not KEEP_DATA:
            _empty_database()  # later benchmarks start from a migrated, empty database
    if problems:
        print("load.result: FAILED", flush=True)
        for problem in problems:
            print(f"# {problem}", flush=True)
        raise SystemExit(1)
    print("load.result: passed (no 5xx, no failed request, exact counts)", flush=True)
