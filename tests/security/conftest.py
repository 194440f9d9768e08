"""A small but complete world for the sweeps: one of every object a URL can point at."""

from dataclasses import dataclass, field

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from channels_app.roles import MARKETER, VIEWER, sync_roles
from history.actor import acting_as, run_actor, user_actor
from history.record import change_record
from integrations.klaviyo import services as klaviyo_services
from integrations.klaviyo.models import (
    CampaignPush,
    ChannelSyncSetting,
    SizeRun,
    SizeRunChannel,
    SyncRun,
    SyncRunChannel,
)
from integrations.uploads import services as upload_services
from integrations.uploads.models import Upload, UploadError
from tests.factories import ensure_default_channels, make_audience, make_campaign, make_segment

ROLES = ("anonymous", "viewer", "marketer", "superuser")


@dataclass
class World:
    channels: dict
    users: dict = field(default_factory=dict)
    segment: object = None
    audience: object = None
    campaign: object = None
    upload: object = None
    failed_upload: object = None
    run: object = None


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    """Uploaded files go to a folder of the test's own."""
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


def make_role_user(username: str, role: str | None = None, **fields):
    """A user without a password (no slow hashing): the sweeps log in with force_login."""
    user = get_user_model().objects.create(username=username, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def build_world(*, text: str = "") -> World:
    """Every kind of object the app shows, in the email channel. `text` goes into every text
    field (the XSS sweep); without it the objects get ordinary names."""
    from django.apps import apps

    sync_roles(apps)
    channels = ensure_default_channels()
    email = channels["email"]
    if text:
        email.name = text
        email.save()
    world = World(channels=channels)
    world.users = {
        "anonymous": None,
        "viewer": make_role_user(f"{text}viewer", VIEWER),
        "marketer": make_role_user(f"{text}marketer", MARKETER),
        "superuser": make_role_user(f"{text}root", is_staff=True, is_superuser=True),
    }
    label = text or "Newsletter readers"
    world.segment = make_segment(
        email,
        name=label,
        external_id=text or "SEG-1",
        link=text or "https://example.com/s",
        source="klaviyo",
        kind="segment",
    )
    inactive = make_segment(email, name=f"{label} (old)", is_active=False)
    world.audience = make_audience(email, name=label, include=[world.segment], exclude=[inactive])
    world.campaign = make_campaign(
        email,
        name=label,
        notes=text or "Spring sale",
        link=text or "https://example.com/c",
        audience=world.audience,
        include=[world.segment],
        send_at=timezone.now(),
        created_by=world.users["marketer"],
        updated_by=world.users["marketer"],
    )
    world.audience.created_by = world.audience.updated_by = world.users["marketer"]
    world.audience.save()
    world.upload = upload_services.upload_create(
        user=world.users["marketer"],
        channel=email,
        object_type=Upload.ObjectType.SEGMENTS,
        uploaded_file=SimpleUploadedFile(
            "segments.csv", b"Segment name,Segment ID,Link\nVIP,V1,https://example.com/v\n"
        ),
    )
    upload_services.upload_read_run(upload_id=world.upload.pk)  # the worker's part
    world.upload.refresh_from_db()
    if text:
        # A file name is stored without its folders; the row is written directly instead.
        Upload.objects.filter(pk=world.upload.pk).update(file_name=text)
        world.upload.refresh_from_db()
    # Failed when its worker stopped: the file is kept, and the page offers to start again.
    (upload_services.upload_dir() / "stopped.csv").write_bytes(b"Segment name\nVIP\n")
    world.failed_upload = Upload.objects.create(
        channel=email,
        created_by=world.users["marketer"],
        file_name=text or "broken.csv",
        stored_name="stopped.csv",
        mapping={"name": {"column": "Segment name"}},
        status=Upload.Status.FAILED,
        error_message=text or "The import stopped without finishing.",
        finished_at=timezone.now(),
    )
    UploadError.objects.create(
        upload=world.upload, row=2, column=text or "Link", value=text or "ftp://x", reason="Bad"
    )
    world.run = SyncRun.objects.create(
        status=SyncRun.Status.FAILED,
        error=text or "Klaviyo said no",
        started_by=world.users["marketer"],
        finished_at=timezone.now(),
    )
    SyncRunChannel.objects.create(run=world.run, channel=email, in_progress=False)
    size_run = SizeRun.objects.create(
        status=SizeRun.Status.FAILED,
        error=text or "Klaviyo said no to the count",
        waiting_reason=text,
        started_by=world.users["marketer"],
        finished_at=timezone.now(),
    )
    SizeRunChannel.objects.create(run=size_run, channel=email, in_progress=False)
    ChannelSyncSetting.objects.create(channel=email, enabled=False)
    # The campaign in Klaviyo, its last update refused there (every text shown on the panel).
    CampaignPush.objects.create(
        campaign=world.campaign,
        marker="[AA-matrix]",
        state=CampaignPush.State.FAILED,
        action=CampaignPush.Action.UPDATE,
        error=text or "Klaviyo says the campaign is Scheduled.",
        klaviyo_campaign_id=text[:64] or "01MATRIX",
        klaviyo_status=text[:100] or "Scheduled",
        sent_name=text[:255] or "Spring sale [AA-matrix]",
        pushed_at=timezone.now(),
        pushed_by=world.users["marketer"],
        estimate_status=CampaignPush.Estimate.FAILED,
        estimate_error=text[:500] or "Klaviyo cancelled the count.",
    )
    klaviyo_services.klaviyo_key_save(api_key="pk_matrix_test_key_1234", user=None)
    access = {
        "username": text[:255] or "marketer",
        "ip_address": "192.0.2.1",
        "user_agent": text[:255] or "Mozilla/5.0",
        "http_accept": text or "text/html",
        "path_info": "/accounts/login/",
    }
    AccessAttempt.objects.create(
        **access, get_data=text, post_data=text or "username=marketer", failures_since_start=2
    )
    AccessLog.objects.create(**access)
    _history(world, label, text)
    AccessFailureLog.objects.create(**access, locked_out=False)
    DBTaskResult.objects.create(
        args_kwargs={"args": [world.upload.pk, True], "kwargs": {}},
        task_path="integrations.uploads.tasks.upload_run_task",
        backend_name="default",
        queue_name="default",
        run_after=get_date_max(),
        exception_class_path="",
        traceback="",
    )
    return world


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """One world for a module whose tests only read it or roll their requests back: built once,
    in a transaction rolled back when the module ends (each test runs in a savepoint inside
    it), with the files it wrote kept aside so every test starts from the same folder."""
    uploads = tmp_path_factory.mktemp("uploads")
    with (
        django_db_blocker.unblock(),
        override_settings(UPLOAD_DIR=uploads),
        transaction.atomic(),
    ):
        world = build_world()
        files = {path: path.read_bytes() for path in uploads.rglob("*") if path.is_file()}
        yield world, uploads, files
        transaction.set_rollback(True)


@pytest.fixture
def shared_world(module_world, db, settings) -> World:
    """The module's world (see module_world), its upload folder exactly as build_world left it."""
    world, uploads, files = module_world
    for path in [p for p in uploads.rglob("*") if p.is_file() and p not in files]:
        path.unlink()
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    settings.UPLOAD_DIR = uploads
    return world


def _history(world: World, label: str, text: str) -> None:
    """History entries of every kind of object and source, with `text` in every value."""
    item = [[world.segment.pk, label]]
    saves = [
        ("audience", world.audience, {"name": [text or "Old", label], "exclusions": [item, []]}),
        ("campaign", world.campaign, {"notes": [text, label], "inclusions": [[], item]}),
        ("segment", world.segment, {"link": [text or "https://example.com/o", label]}),
    ]
    with acting_as(user_actor(world.users["marketer"])):
        for kind, obj, changes in saves:
            change_record(
                object_type=kind,
                object_id=obj.pk,
                object_name=label,
                channel_id=world.channels["email"].pk,
                version=1,
                action="updated",
                changes=changes,
                state={"inclusions": item, "exclusions": []},
                note=text,
            )
    runs = [
        ("sync", world.run.pk, f"Klaviyo sync #{world.run.pk}"),
        ("upload", world.upload.pk, f"Upload #{world.upload.pk} ({text or 'segments.csv'})"),
    ]
    for kind, pk, run_label in runs:
        with acting_as(run_actor(kind=kind, run_id=pk, label=run_label)):
            change_record(
                object_type="segment",
                object_id=world.segment.pk,
                object_name=label,
                channel_id=world.channels["email"].pk,
                action="updated",
                changes={"name": [text or "Old", label]},
            )
