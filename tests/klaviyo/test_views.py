"""The Integrations → Klaviyo page, the run page and the sync panel the Segments tab loads."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.klaviyo import services
from integrations.klaviyo.models import KlaviyoAccount, SyncRun
from tests.factories import make_segment, make_user
from tests.klaviyo.conftest import SENTINEL_KEY, run_sync

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/integrations/klaviyo/"
DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def key_manager_client(marketer):
    """A Marketer given the dedicated permission to see and change the key."""
    marketer.user_permissions.add(Permission.objects.get(codename="manage_klaviyo_key"))
    client = Client()
    client.force_login(marketer)
    return client


def test_url_names_are_kept():
    assert reverse("klaviyo:settings") == SETTINGS_URL


def test_a_marketer_sees_the_page_but_not_the_key_controls(marketer_client, connected):
    response = marketer_client.get(SETTINGS_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Connected" in html and "An administrator manages the key" in html
    assert "pk_…" not in html and "Test connection" not in html
    assert (
        marketer_client.post(reverse("klaviyo:key-save"), {"api_key": "pk_x1234567890"}).status_code
        == 403
    )
    assert marketer_client.post(reverse("klaviyo:key-delete")).status_code == 403
    assert marketer_client.post(reverse("klaviyo:test")).status_code == 403


def test_a_user_without_run_permissions_cannot_open_the_page(db, klaviyo_settings):
    client = Client()
    client.force_login(make_user("nobody"))
    assert client.get(SETTINGS_URL).status_code == 403


def test_saving_a_key_encrypts_it_and_shows_only_a_mask(key_manager_client, klaviyo_settings):
    response = key_manager_client.post(reverse("klaviyo:key-save"), {"api_key": SENTINEL_KEY})
    assert response.status_code == 302
    account = KlaviyoAccount.objects.get()
    assert SENTINEL_KEY not in account.encrypted_api_key
    assert services.klaviyo_api_key() == SENTINEL_KEY
    html = key_manager_client.get(SETTINGS_URL).content.decode()
    assert "pk_…4d" not in html  # the mask is pk_… and the last four
    assert f"pk_…{SENTINEL_KEY[-4:]}" in html
    assert SENTINEL_KEY not in html
    assert "Replace key" in html and "Disconnect" in html


def test_an_invalid_key_is_refused_and_not_echoed(
    key_manager_client, klaviyo_settings, htmx_headers
):
    response = key_manager_client.post(
        reverse("klaviyo:key-save"), {"api_key": "6charX_and_secret"}, headers=htmx_headers
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "starts with pk_" in html
    assert "6charX_and_secret" not in html
    assert not KlaviyoAccount.objects.exists()


def test_replace_and_disconnect(key_manager_client, connected):
    key_manager_client.post(reverse("klaviyo:key-save"), {"api_key": "pk_replacement_key_9999"})
    assert services.klaviyo_api_key() == "pk_replacement_key_9999"
    response = key_manager_client.post(reverse("klaviyo:key-delete"), follow=True)
    assert "Klaviyo disconnected" in response.content.decode()
    assert not KlaviyoAccount.objects.exists()
    assert "Not connected" in response.content.decode()


def test_a_key_in_the_environment_disables_editing(key_manager_client, klaviyo_settings):
    klaviyo_settings.KLAVIYO_API_KEY = SENTINEL_KEY
    html = key_manager_client.get(SETTINGS_URL).content.decode()
    assert "KLAVIYO_API_KEY" in html and "cannot be changed here" in html
    assert 'name="api_key"' not in html and "Disconnect" not in html
    assert SENTINEL_KEY not in html
    response = key_manager_client.post(
        reverse("klaviyo:key-save"), {"api_key": "pk_other_key_12345"}
    )
    assert response.status_code == 302
    assert not KlaviyoAccount.objects.exists()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda fake: None, "Key works: it can read segments and lists"),
        (lambda fake: setattr(fake, "api_key", "pk_something_else_0000"), "Key rejected"),
        (lambda fake: fake.scopes.discard("lists:read"), "lacks the lists:read scope"),
        (lambda fake: fake.scopes.discard("segments:read"), "lacks the segments:read scope"),
        (lambda fake: fake.fault("429", times=None, retry_after=42), "try again in 42 seconds"),
        (lambda fake: fake.stop(), "Klaviyo is unreachable"),
    ],
    ids=["connected", "rejected", "no-lists-scope", "no-segments-scope", "throttled", "down"],
)
def test_test_connection_says_what_happened(
    key_manager_client, connected, htmx_headers, setup, expected
):
    setup(connected)
    response = key_manager_client.post(reverse("klaviyo:test"), headers=htmx_headers)
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert SENTINEL_KEY not in response.content.decode()


def test_test_connection_without_htmx_reports_in_a_message(key_manager_client, connected):
    response = key_manager_client.post(reverse("klaviyo:test"), follow=True)
    assert "Key works: it can read segments and lists" in response.content.decode()


def test_channel_switch(marketer_client, email, htmx_headers, viewer_client):
    url = reverse("klaviyo:channel-switch", args=[email.slug])
    response = marketer_client.post(url, {"enabled": "on"}, headers=htmx_headers)
    assert 'aria-checked="true"' in response.content.decode()
    assert email.klaviyo_sync.enabled
    marketer_client.post(url, {})
    email.klaviyo_sync.refresh_from_db()
    assert not email.klaviyo_sync.enabled
    assert viewer_client.post(url, {"enabled": "on"}).status_code == 403


def test_history_lists_runs_with_counts_in_fixed_queries(
    marketer_client, connected, email, sms, django_assert_num_queries, htmx_headers
):
    connected.set("segment", "SEG001", "VIP")
    run_sync(email)

    def count_queries():
        # session, user, perms x2, nav channels, account, channels, run count, runs, results
        with django_assert_num_queries(10):
            response = marketer_client.get(SETTINGS_URL)
        return response

    html = count_queries().content.decode()
    assert "1 new" in html and "Succeeded" in html
    for _ in range(5):
        run_sync(email, sms)
    html = count_queries().content.decode()
    assert html.count("Succeeded") == 6
    partial = marketer_client.get(SETTINGS_URL, headers=htmx_headers).content.decode()
    assert "<html" not in partial and "Succeeded" in partial


def test_run_detail_shows_counts_and_errors(marketer_client, connected, email):
    connected.set("segment", "SEG001", "VIP")
    run = run_sync(email)
    html = marketer_client.get(reverse("klaviyo:run-detail", args=[run.pk])).content.decode()
    assert 'data-count="created">1<' in html and "Succeeded" in html
    connected.fault("html_403")
    failed = run_sync(email)
    html = marketer_client.get(reverse("klaviyo:run-detail", args=[failed.pk])).content.decode()
    assert "Failed" in html and "web page instead of an API answer" in html
    assert marketer_client.get(reverse("klaviyo:run-detail", args=[9999])).status_code == 404


# -- the Segments tab's panel ---------------------------------------------------------------


def panel(client, channel, **headers):
    """The panel as the Segments tab loads it into its placeholder."""
    return client.get(reverse("klaviyo:sync-panel", args=[channel.slug]), headers=headers)


def test_the_segments_tab_loads_the_panel_by_url(marketer_client, email, htmx_headers):
    html = marketer_client.get(reverse("segments:list", args=[email.slug])).content.decode()
    url = reverse("klaviyo:sync-panel", args=[email.slug])
    assert f'<div id="klaviyo-sync-panel" hx-get="{url}" hx-trigger="load"' in html
    # Without JavaScript, a plain link to the Klaviyo page.
    assert f'<a href="{reverse("klaviyo:settings")}">Klaviyo sync history</a>' in html
    response = panel(marketer_client, email, **htmx_headers)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith("<link")
    assert 'id="klaviyo-sync-panel"' in response.content.decode()


def test_no_panel_for_a_user_without_run_permissions(db, email):
    client = Client()
    client.force_login(make_user("nobody", role="Viewer"))
    Permission.objects.get(codename="view_syncrun").group_set.clear()
    html = client.get(reverse("segments:list", args=[email.slug])).content.decode()
    assert "klaviyo-sync-panel" not in html and "Klaviyo sync history" not in html
    assert panel(client, email).status_code == 403


def test_panel_offers_to_connect_when_not_connected(marketer_client, email, klaviyo_settings):
    html = panel(marketer_client, email).content.decode()
    assert "Connect Klaviyo" in html and "Sync from Klaviyo</button>" not in html


def test_panel_has_no_button_for_viewers(viewer_client, email, connected):
    html = viewer_client.get(reverse("segments:list", args=[email.slug])).content.decode()
    assert 'id="klaviyo-sync-panel"' in html
    html = panel(viewer_client, email).content.decode()
    assert 'id="klaviyo-sync-panel"' in html and "Sync from Klaviyo</button>" not in html
    assert viewer_client.post(reverse("klaviyo:sync-start", args=[email.slug])).status_code == 403


def test_sync_from_the_tab_runs_shows_a_summary_and_reloads_the_table(
    marketer_client, email, connected, htmx_headers, marketer
):
    connected.set("segment", "SEG001", "VIP")
    connected.set("list", "LST001", "Newsletter")
    html = panel(marketer_client, email).content.decode()
    assert "Sync from Klaviyo</button>" in html
    response = marketer_client.post(
        reverse("klaviyo:sync-start", args=[email.slug]), headers=htmx_headers
    )
    assert response.status_code == 200
    assert '"segments-changed"' in response.headers["HX-Trigger"]
    html = response.content.decode()
    run = SyncRun.objects.get()
    assert run.status == "succeeded" and run.started_by == marketer
    assert "2 new" in html and reverse("klaviyo:run-detail", args=[run.pk]) in html
    assert email.klaviyo_sync.enabled  # the channel's switch is now on


def test_sync_start_without_htmx_redirects_to_the_tab(marketer_client, email, connected):
    response = marketer_client.post(reverse("klaviyo:sync-start", args=[email.slug]))
    assert response.status_code == 302
    assert response.url == reverse("segments:list", args=[email.slug])


def test_a_queued_run_is_polled_and_a_second_start_says_already_running(
    marketer_client, email, connected, htmx_headers, settings, django_assert_num_queries
):
    settings.TASKS = DUMMY_TASKS
    start = reverse("klaviyo:sync-start", args=[email.slug])
    html = marketer_client.post(start, headers=htmx_headers).content.decode()
    run = SyncRun.objects.get()
    assert run.status == "queued"
    assert 'hx-trigger="every 1s"' in html and "queued" in html
    html = marketer_client.post(start, headers=htmx_headers).content.decode()
    assert "already running" in html
    assert reverse("klaviyo:run-detail", args=[run.pk]) in html
    assert SyncRun.objects.count() == 1

    poll = reverse("klaviyo:sync-panel", args=[email.slug]) + f"?run={run.pk}"
    # session, user, perms x2, channel, then the panel: latest run, account
    with django_assert_num_queries(7):
        response = marketer_client.get(poll, headers=htmx_headers)
    assert "HX-Trigger" not in response.headers
    SyncRun.objects.filter(pk=run.pk).update(status="running", pages_fetched=3, items_fetched=27)
    html = marketer_client.get(poll, headers=htmx_headers).content.decode()
    assert "3 pages, 27 segments and lists fetched" in html

    services.sync_run_execute(run_id=run.pk)  # raises nothing: a running run is not re-run
    SyncRun.objects.filter(pk=run.pk).update(status="queued")
    services.sync_run_execute(run_id=run.pk)
    response = marketer_client.get(poll, headers=htmx_headers)
    assert '"segments-changed"' in response.headers["HX-Trigger"]
    assert 'hx-trigger="every 1s"' not in response.content.decode()


def test_panel_queries_do_not_grow_with_data(
    marketer_client, email, connected, htmx_headers, django_assert_num_queries
):
    poll = reverse("klaviyo:sync-panel", args=[email.slug])
    with django_assert_num_queries(7):
        marketer_client.get(poll, headers=htmx_headers)
    for i in range(30):
        make_segment(email, external_id=f"X{i}")
    run_sync(email)
    run_sync(email)
    with django_assert_num_queries(7):
        html = marketer_client.get(poll, headers=htmx_headers).content.decode()
    assert "Last sync from Klaviyo" in html


def test_a_run_whose_worker_died_does_not_block_the_tab(
    marketer_client, email, connected, htmx_headers, settings
):
    settings.TASKS = DUMMY_TASKS
    settings.SYNC_STALE_AFTER_SECONDS = 60
    start = reverse("klaviyo:sync-start", args=[email.slug])
    marketer_client.post(start, headers=htmx_headers)
    SyncRun.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    html = panel(marketer_client, email, **htmx_headers).content.decode()
    assert "Sync failed" in html and "Sync from Klaviyo</button>" in html
    assert "stopped reporting progress for 1 minute (its worker probably stopped)" in html
    assert "4\xa0minutes ago" in html  # when it went silent past the timeout
    assert 'hx-trigger="every 1s"' not in html
    assert SyncRun.objects.get().status == "queued"  # showing it wrote nothing
    html = marketer_client.post(start, headers=htmx_headers).content.decode()
    assert "already running" not in html
    assert list(SyncRun.objects.order_by("pk").values_list("status", flat=True)) == [
        "failed",
        "queued",
    ]


def test_the_polling_panel_fails_a_run_whose_worker_died(
    marketer_client, email, connected, htmx_headers, settings
):
    settings.TASKS = DUMMY_TASKS
    settings.SYNC_STALE_AFTER_SECONDS = 60
    marketer_client.post(reverse("klaviyo:sync-start", args=[email.slug]), headers=htmx_headers)
    run = SyncRun.objects.get()
    poll = reverse("klaviyo:sync-panel", args=[email.slug]) + f"?run={run.pk}"
    SyncRun.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=59))
    response = marketer_client.get(poll, headers=htmx_headers)
    assert 'hx-trigger="every 1s"' in response.content.decode()
    SyncRun.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    response = marketer_client.get(poll, headers=htmx_headers)
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' not in html and "Sync failed" in html
    assert '"segments-changed"' in response.headers["HX-Trigger"]
    run.refresh_from_db()
    assert run.status == "queued" and run.results.get().in_progress  # the GET wrote nothing
    call_command("cleanup")
    run.refresh_from_db()
    assert run.status == "failed" and "stopped reporting progress" in run.error
    assert run.finished_at == run.heartbeat_at + timedelta(seconds=60)
    assert not run.results.filter(in_progress=True).exists()


def test_the_run_page_fails_a_run_whose_worker_died(
    viewer_client, email, connected, settings, htmx_headers
):
    settings.TASKS = DUMMY_TASKS
    settings.SYNC_STALE_AFTER_SECONDS = 60
    run = services.sync_run_create(channels=[email])
    url = reverse("klaviyo:run-detail", args=[run.pk])
    assert 'hx-trigger="every 1s"' in viewer_client.get(url).content.decode()
    SyncRun.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=2))
    html = viewer_client.get(url, headers=htmx_headers).content.decode()
    assert 'badge-red">Failed' in html and "stopped reporting progress" in html
    assert SyncRun.objects.get().status == "queued"  # shown failed, not written

    again = services.sync_run_create(channels=[email])  # starting fails the stale one
    assert SyncRun.objects.get(pk=run.pk).status == "failed"
    SyncRun.objects.filter(pk=again.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=2))
    html = viewer_client.get(reverse("klaviyo:settings")).content.decode()
    assert html.count('badge-red">Failed') == 2
    assert list(SyncRun.objects.values_list("status", flat=True)) == ["queued", "failed"]
    call_command("cleanup")
    assert list(SyncRun.objects.values_list("status", flat=True)) == ["failed", "failed"]
