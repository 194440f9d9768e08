"""The key stays secret: encrypted at rest, and never in a log, page, run error, admin page
or command output. Everything here uses the sentinel key."""

import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from integrations.klaviyo import crypto, services
from integrations.klaviyo.models import KlaviyoAccount, SyncRun
from tests.factories import make_user
from tests.klaviyo.conftest import SENTINEL_KEY, run_sync

pytestmark = pytest.mark.django_db


def test_the_key_is_stored_encrypted(connected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_api_key, key_last4 FROM klaviyo_klaviyoaccount")
        stored, last4 = cursor.fetchone()
    assert SENTINEL_KEY not in stored and last4 == SENTINEL_KEY[-4:]
    assert crypto.decrypt(stored) == SENTINEL_KEY


def test_rotation_first_key_encrypts_every_key_decrypts(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    token = crypto.encrypt(SENTINEL_KEY)
    settings.ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == SENTINEL_KEY
    assert (
        Fernet(new.encode()).decrypt(crypto.encrypt(SENTINEL_KEY).encode()) == SENTINEL_KEY.encode()
    )
    settings.ENCRYPTION_KEYS = [new]
    with pytest.raises(crypto.DecryptionFailed, match="Paste the key again"):
        crypto.decrypt(token)
    settings.ENCRYPTION_KEYS = []
    with pytest.raises(crypto.EncryptionNotConfigured):
        crypto.encrypt(SENTINEL_KEY)


def test_a_key_that_can_no_longer_be_decrypted_fails_runs_clearly(connected, email, settings):
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    run = run_sync(email)
    assert run.status == "failed" and "cannot be decrypted" in run.error


def test_the_key_never_reaches_logs_pages_errors_admin_or_command_output(
    connected, email, caplog, monkeypatch
):
    monkeypatch.setattr("integrations.klaviyo.client.BACKOFF_START", 0.01)
    for name in (None, "urllib3", "django.db.backends", "integrations"):
        caplog.set_level(logging.DEBUG, logger=name)
    connected.set("segment", "SEG001", "VIP")
    # A good run, retried faults, and failed runs of every kind.
    connected.fault("503", times=1)
    connected.fault("429", times=1, retry_after=0)
    assert run_sync(email).status == "succeeded"
    for fault in ("html_403", "malformed_json", "cursor_loop"):
        connected.fault(fault, times=None)
        assert run_sync(email).status == "failed"
        connected.clear_faults()
    connected.scopes.discard("lists:read")
    run_sync(email)

    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("sync_klaviyo", "--channel", "email", "--dry-run", stdout=out, stderr=out)
    call_command_output = out.getvalue() + str(caught.value)

    admin = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    run = SyncRun.objects.first()
    pages = [
        "/integrations/klaviyo/",
        f"/integrations/klaviyo/runs/{run.pk}/",
        f"/channels/{email.slug}/segments/",
        "/admin/klaviyo/klaviyoaccount/",
        f"/admin/klaviyo/klaviyoaccount/{KlaviyoAccount.SINGLETON_PK}/change/",
        "/admin/klaviyo/syncrun/",
        f"/admin/klaviyo/syncrun/{run.pk}/change/",
    ]
    html = ""
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html += response.content.decode()
    html += client.post(
        "/integrations/klaviyo/test/", headers={"HX-Request": "true"}
    ).content.decode()

    errors = " ".join(SyncRun.objects.values_list("error", flat=True))
    assert "lacks the lists:read scope" in errors  # the runs really failed in different ways
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # HTTP was logged too
    logged = "\n".join(r.getMessage() + str(r.args) + str(r.exc_info) for r in caplog.records)
    for where, text in [
        ("logs", logged),
        ("pages", html),
        ("run errors", errors),
        ("command", call_command_output),
    ]:
        assert SENTINEL_KEY not in text, where
        assert SENTINEL_KEY[3:] not in text, where


def test_only_key_managers_see_the_mask(connected, marketer_client, marketer):
    assert (
        f"pk_…{SENTINEL_KEY[-4:]}"
        not in marketer_client.get("/integrations/klaviyo/").content.decode()
    )
    marketer.user_permissions.add(Permission.objects.get(codename="manage_klaviyo_key"))
    client = Client()
    client.force_login(marketer)
    assert f"pk_…{SENTINEL_KEY[-4:]}" in client.get("/integrations/klaviyo/").content.decode()


def test_marketers_do_not_get_the_key_permission_by_default(marketer, viewer):
    assert marketer.has_perm("klaviyo.add_syncrun") and marketer.has_perm("klaviyo.view_syncrun")
    assert not marketer.has_perm("klaviyo.manage_klaviyo_key")
    assert viewer.has_perm("klaviyo.view_syncrun") and not viewer.has_perm("klaviyo.add_syncrun")


def test_connection_test_with_a_saved_key_does_not_log_it(connected, caplog):
    caplog.set_level(logging.DEBUG)
    assert services.klaviyo_connection_test().ok
    assert all(SENTINEL_KEY not in r.getMessage() for r in caplog.records)
