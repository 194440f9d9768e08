"""GET never writes: every GET URL of the URL conf, as every role, with and without htmx, runs
no INSERT, UPDATE or DELETE but the session's and the login throttling's bookkeeping. Stale sync
runs and uploads are shown failed from their timestamps; the worker, `manage.py cleanup` or the
next start makes it true in the database."""

import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from integrations.klaviyo.models import CampaignPush, SyncRun, SyncRunChannel
from integrations.uploads.models import Upload
from tests.factories import (
    make_audience,
    make_campaign,
    make_marketer,
    make_segment,
    make_user,
    make_viewer,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}
# Bookkeeping a GET may write: the session, and django-axes' login throttling.
ALLOWED_TABLES = ("django_session", "axes_")
WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+[\"`]?(\w+)",
    re.IGNORECASE,
)
# Each app's `pk` is an object of that app's model.
PK_MODELS = {
    "segments": "segments.Segment",
    "audiences": "audiences.Audience",
    "campaigns": "campaigns.Campaign",
    "uploads": "uploads.Upload",
}
ADMIN_ORDER = {"uploads.Upload": "updated_at", "klaviyo.SyncRun": "heartbeat_at"}
FILE = b"Segment name,Segment ID\nVIP,V1\n"
MAPPING = {"name": {"column": "Segment name"}, "external_id": {"column": "Segment ID"}}


def _named_patterns(resolver: URLResolver, namespace: str = "", params: tuple = ()):
    """(name, parameter names) of every named URL pattern, through every include."""
    for entry in resolver.url_patterns:
        found = params + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _named_patterns(entry, ns, found)
        elif isinstance(entry, URLPattern) and entry.name:
            # Unnamed entries are the admin's catch-alls, reached through its own pages.
            yield ":".join(filter(None, [namespace, entry.name])), found


def _values(name: str, param: str, world: dict) -> list[str]:
    """Every value worth trying for one path parameter of one URL."""
    app = name.split(":")[0]
    if param == "channel_slug":
        return [world["channel"].slug]
    if param == "run_id":
        return [str(pk) for pk in SyncRun.objects.values_list("pk", flat=True)]
    if param == "campaign_id":
        return [
            str(pk)
            for pk in apps.get_model("campaigns.Campaign").objects.values_list("pk", flat=True)
        ]
    if param == "pk" and app in PK_MODELS:
        model = apps.get_model(PK_MODELS[app])
        return [str(pk) for pk in model.objects.values_list("pk", flat=True)]
    if param == "app_label":
        return sorted({model._meta.app_label for model in admin.site._registry})
    if param == "object_id" and name.startswith("admin:"):
        # admin:<app>_<model>_<action>: two of that model's objects, the stale ones first.
        for model in admin.site._registry:
            prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
            if name.startswith(prefix):
                order = ADMIN_ORDER.get(model._meta.label, "pk")
                pks = model.objects.order_by(order).values_list("pk", flat=True)[:2]
                return [str(pk) for pk in pks] or ["0"]
        return [str(world["segment"].pk)]
    if param == "content_type_id":
        return [str(ContentType.objects.get_for_model(world["segment"]).pk)]
    return {"uidb64": ["MQ"], "token": ["set-password"]}.get(param, ["x"])


def _urls(world: dict) -> list[str]:
    urls = []
    for name, params in _named_patterns(get_resolver()):
        combos = [{}]
        for param in params:
            combos = [{**c, param: v} for c in combos for v in _values(name, param, world)]
        urls += [reverse(name, kwargs=kwargs) for kwargs in combos]
    return sorted(set(urls))


def _writes(queries) -> list[str]:
    found = []
    for query in queries:
        sql = query["sql"]
        for table in WRITE.findall(sql):
            if not table.startswith(ALLOWED_TABLES):
                found.append(sql[:200])
    return found


def _upload(channel, upload_dir, status, *, silent=timedelta(0), stored=True, **fields):
    name = ""
    if stored:
        name = f"{status}-{Upload.objects.count()}.csv"
        (upload_dir / name).write_bytes(FILE)
    fields = {
        "encoding": "utf-8",
        "delimiter": ",",
        "headers": ["Segment name", "Segment ID"],
        "total_rows": 1,
        "mapping": MAPPING,
        **fields,
    }
    upload = Upload.objects.create(
        channel=channel, file_name="segments.csv", stored_name=name, status=status, **fields
    )
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - silent)
    return upload


def _run(channel, status, *, silent=timedelta(0)):
    run = SyncRun.objects.create(status=status, heartbeat_at=timezone.now() - silent)
    active = status in SyncRun.ACTIVE_STATUSES
    SyncRunChannel.objects.create(run=run, channel=channel, in_progress=active, created=2)
    if not active:
        SyncRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    return run


@pytest.fixture
def world(channels, settings, tmp_path):
    """One of everything, and uploads and sync runs in every state, stale ones included."""
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.UPLOAD_DIR.mkdir()
    settings.KLAVIYO_API_KEY = "pk_test_no_calls_are_made_0000"
    settings.UPLOAD_STALE_AFTER_SECONDS = settings.SYNC_STALE_AFTER_SECONDS = 600
    email, sms, meta = channels["email"], channels["sms"], channels["meta"]
    segment = make_segment(email, external_id="S1", link="https://example.com/s/1")
    make_audience(email, include=[segment])
    campaign = make_campaign(email, include=[segment])
    pushed = make_campaign(email, include=[segment])

    stale = timedelta(minutes=11)
    # In Klaviyo panels: one sent across and counting its recipients, one whose worker stopped.
    CampaignPush.objects.create(
        campaign=pushed,
        marker="[AA-done]",
        state="done",
        klaviyo_campaign_id="01K",
        klaviyo_status="Draft",
        pushed_at=timezone.now(),
        estimate_status="counting",
    )
    CampaignPush.objects.create(
        campaign=campaign, marker="[AA-stale]", state="sending", heartbeat_at=timezone.now() - stale
    )
    uploads = settings.UPLOAD_DIR
    _upload(email, uploads, "new", mapping={})
    _upload(email, uploads, "new")
    _upload(email, uploads, "checked", created_count=1)
    _upload(email, uploads, "importing")
    for status in ("checking", "queued", "importing"):
        _upload(email, uploads, status, silent=stale)
    _upload(email, uploads, "done", stored=False, created_count=1)
    _upload(email, uploads, "rejected", stored=False, invalid_count=1)
    _upload(email, uploads, "failed", error_message="The worker stopped.")
    _upload(email, uploads, "failed", stored=False, error_message="Unreadable.")
    _upload(email, uploads, "abandoned", stored=False)

    _run(email, "succeeded")
    _run(email, "failed")
    _run(email, "running", silent=stale)  # the Segments tab of Email shows it failed
    _run(sms, "queued", silent=stale)
    _run(meta, "running")
    return {"channel": email, "segment": segment}


@pytest.fixture
def clients(world):
    """One client per role, each logged in once."""
    roles = {
        "anonymous": None,
        "viewer": make_viewer(),
        "marketer": make_marketer(),
        "superuser": make_user("root", is_staff=True, is_superuser=True),
    }
    made = {}
    for role, user in roles.items():
        made[role] = Client()
        if user is not None:
            made[role].force_login(user)
    return made


def test_the_walk_covers_every_kind_of_page(world):
    urls = _urls(world)
    run = SyncRun.objects.filter(status="running", results__channel=world["channel"]).get()
    stale_upload = Upload.objects.order_by("updated_at").first()
    assert stale_upload.status == "checking"  # silent for 11 minutes
    for expected in [
        reverse("home"),
        reverse("segments:list", args=[world["channel"].slug]),
        reverse("klaviyo:sync-panel", args=[world["channel"].slug]),
        reverse("klaviyo:run-detail", args=[run.pk]),
        reverse("uploads:detail", args=[stale_upload.pk]),
        reverse("admin:uploads_upload_change", args=[stale_upload.pk]),
    ]:
        assert expected in urls


def test_no_get_writes(clients, world):
    before = (
        list(SyncRun.objects.order_by("pk").values_list("status", "finished_at", "error")),
        list(Upload.objects.order_by("pk").values_list("status", "stored_name", "error_message")),
    )
    problems = []
    for url in _urls(world):
        for role, client in clients.items():
            # The admin ignores htmx: its pages are walked once per role.
            for headers in ({},) if url.startswith("/admin/") else ({}, HTMX):
                with CaptureQueriesContext(connection) as ctx:
                    response = client.get(url, headers=headers)
                    if response.streaming:
                        b"".join(response.streaming_content)  # CSV rows are read as sent
                assert response.status_code < 500, (url, role)
                problems += [(role, url, bool(headers), sql) for sql in _writes(ctx)]
    assert problems == []
    assert before == (
        list(SyncRun.objects.order_by("pk").values_list("status", "finished_at", "error")),
        list(Upload.objects.order_by("pk").values_list("status", "stored_name", "error_message")),
    )
