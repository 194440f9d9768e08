"""Every write of the Klaviyo integration: the key, the channel switches, sync runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from access_audience.db import CONNECTION_ERRORS, connections_reset_broken, is_connection_lost
from channels_app.models import Channel
from history.actor import RUN_SYNC, Actor, acting_as, run_actor
from integrations.klaviyo import crypto, selectors
from integrations.klaviyo.client import (
    KlaviyoAuthError,
    KlaviyoBlocked,
    KlaviyoClient,
    KlaviyoError,
    KlaviyoObject,
    KlaviyoScopeError,
    KlaviyoThrottled,
    KlaviyoUnreachable,
    Page,
    ScopeCheck,
)
from integrations.klaviyo.models import ChannelSyncSetting, KlaviyoAccount, SyncRun, SyncRunChannel
from integrations.klaviyo.sync import ChannelPlan, channel_apply, channel_plan, unique_objects

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 0.5
CONNECTION_TEST_WAIT_BUDGET = 3.0


class NotConnected(Exception):
    """No key: neither KLAVIYO_API_KEY nor a saved one."""


class SyncAlreadyRunning(Exception):
    def __init__(self, run: SyncRun | None):
        super().__init__("A Klaviyo sync is already running for this channel.")
        self.run = run


# -- the key ---------------------------------------------------------------------------------


def key_from_environment() -> bool:
    return bool(settings.KLAVIYO_API_KEY)


def klaviyo_api_key() -> str:
    """The key to call Klaviyo with: the environment's, else the saved one (decrypted)."""
    if settings.KLAVIYO_API_KEY:
        return settings.KLAVIYO_API_KEY
    account = KlaviyoAccount.objects.filter(pk=KlaviyoAccount.SINGLETON_PK).first()
    if account is None:
        raise NotConnected("Klaviyo is not connected: save an API key on the Integrations page.")
    try:
        return crypto.decrypt(account.encrypted_api_key)
    except crypto.EncryptionNotConfigured as error:
        raise NotConnected(str(error)) from None
    except crypto.DecryptionFailed as error:
        raise NotConnected(str(error)) from None


@transaction.atomic
def klaviyo_key_save(*, api_key: str, user: AbstractBaseUser | None) -> KlaviyoAccount:
    """Save (or replace) the private API key, encrypted with the first ENCRYPTION_KEYS key."""
    account, _ = KlaviyoAccount.objects.update_or_create(
        pk=KlaviyoAccount.SINGLETON_PK,
        defaults={
            "encrypted_api_key": crypto.encrypt(api_key),
            "key_last4": api_key[-4:],
            "connected_at": timezone.now(),
            "connected_by": user,
            # A new key has not been checked; the caller checks it after saving.
            "checked_at": None,
            "check_ok": None,
            "check_message": "",
            "check_scopes": [],
        },
    )
    logger.info("Klaviyo key saved by %s", user)
    return account


@transaction.atomic
def klaviyo_key_reencrypt() -> bool:
    """Encrypt the saved key again with the first ENCRYPTION_KEYS key, so that older keys can
    be dropped from the list. False when no key is saved."""
    account = (
        KlaviyoAccount.objects.select_for_update().filter(pk=KlaviyoAccount.SINGLETON_PK).first()
    )
    if account is None:
        return False
    account.encrypted_api_key = crypto.rotate(account.encrypted_api_key)
    account.save(update_fields=["encrypted_api_key"])
    logger.info("Klaviyo key re-encrypted with the current first encryption key")
    return True


@transaction.atomic
def klaviyo_key_delete(*, user: AbstractBaseUser | None) -> bool:
    """Disconnect: forget the saved key. True if there was one."""
    deleted, _ = KlaviyoAccount.objects.filter(pk=KlaviyoAccount.SINGLETON_PK).delete()
    if deleted:
        logger.info("Klaviyo key removed by %s", user)
    return bool(deleted)


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    message: str
    # Every scope the app uses and whether it works (empty when the key was not checked).
    scopes: tuple[ScopeCheck, ...] = ()
    checked_at: datetime | None = None


SCOPE_USES = {
    "segments:read": "read segments",
    "lists:read": "read lists",
    "campaigns:read": "read campaigns",
    "campaigns:write": "create and change draft campaigns",
}


def klaviyo_connection_test(
    *, api_key: str | None = None, record: bool = True
) -> ConnectionTestResult:
    """Try every scope the app uses with calls that change nothing; say in words what
    happened. A definite answer (works, rejected, scopes missing) is recorded on the saved
    account, which is what the Integrations page's badge shows."""
    try:
        key = api_key or klaviyo_api_key()
    except NotConnected as error:
        return ConnectionTestResult(False, str(error))
    try:
        with KlaviyoClient(key, wait_budget=CONNECTION_TEST_WAIT_BUDGET) as client:
            scopes = tuple(client.check_scopes())
    except KlaviyoAuthError:
        result = ConnectionTestResult(
            False, "Key rejected: Klaviyo does not accept this API key.", (), timezone.now()
        )
        if record:
            _record_check(result, accepted=False)
        return result
    except KlaviyoThrottled as error:
        seconds = max(1, round(error.retry_after or 1))
        return ConnectionTestResult(
            False, f"Klaviyo is throttling requests; try again in {seconds} seconds."
        )
    except KlaviyoUnreachable as error:
        return ConnectionTestResult(False, f"Klaviyo is unreachable: {error}")
    except KlaviyoBlocked as error:
        return ConnectionTestResult(False, str(error))
    except KlaviyoError as error:
        return ConnectionTestResult(False, f"The test failed: {error}")
    missing = [check.scope for check in scopes if not check.works]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        message = (
            f"Key works, but it lacks the {' and '.join(missing)} scope{plural}: give the key "
            "that access in Klaviyo (Settings → API keys), then test again."
        )
    else:
        message = (
            "Key works: it can read segments and lists, and create and change draft campaigns."
        )
    result = ConnectionTestResult(not missing, message, scopes, timezone.now())
    if record:
        _record_check(result, accepted=True)
    return result


def _record_check(result: ConnectionTestResult, *, accepted: bool) -> None:
    KlaviyoAccount.objects.filter(pk=KlaviyoAccount.SINGLETON_PK).update(
        checked_at=result.checked_at,
        check_ok=accepted,
        check_message=result.message[:500],
        check_scopes=[
            {"scope": c.scope, "works": c.works, "message": c.message} for c in result.scopes
        ],
    )


# -- channel switches ----------------------------------------------------------------------


def channel_sync_set(*, channel: Channel, enabled: bool) -> ChannelSyncSetting:
    """Turn "sync from Klaviyo" on or off for a channel."""
    setting, _ = ChannelSyncSetting.objects.update_or_create(
        channel=channel, defaults={"enabled": enabled}
    )
    return setting


# -- runs ------------------------------------------------------------------------------------


def sync_runs_fail_stale() -> int:
    """Fail queued or running runs silent for SYNC_STALE_AFTER_SECONDS; frees their channels.
    Called when a run is started and by `manage.py cleanup`; pages only show them failed."""
    cutoff = timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS)
    with transaction.atomic():
        stale = list(
            SyncRun.objects.filter(
                status__in=SyncRun.ACTIVE_STATUSES, heartbeat_at__lt=cutoff
            ).values_list("pk", flat=True)
        )
        if not stale:
            return 0
        SyncRun.objects.filter(pk__in=stale, status__in=SyncRun.ACTIVE_STATUSES).update(
            status=SyncRun.Status.FAILED,
            # When it became stale, as the pages showed it.
            finished_at=F("heartbeat_at") + timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS),
            error=selectors.sync_run_stale_error(),
        )
        SyncRunChannel.objects.filter(run_id__in=stale).update(in_progress=False)
    logger.warning("Marked %d stale Klaviyo sync run(s) failed", len(stale))
    return len(stale)


def running_run_for(channels: list[Channel]) -> SyncRun | None:
    return SyncRun.objects.filter(results__channel__in=channels, results__in_progress=True).first()


def sync_run_create(
    *,
    channels: list[Channel],
    user: AbstractBaseUser | None = None,
    trigger: str = SyncRun.Trigger.USER,
) -> SyncRun:
    """Queue a run for these channels, or raise SyncAlreadyRunning (the database decides)."""
    if not channels:
        raise ValueError("A sync needs at least one channel.")
    sync_runs_fail_stale()
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                trigger=trigger,
                started_by=user if user is not None and user.is_authenticated else None,
            )
            SyncRunChannel.objects.bulk_create(
                [SyncRunChannel(run=run, channel=channel) for channel in channels]
            )
    except IntegrityError:
        raise SyncAlreadyRunning(running_run_for(channels)) from None
    return run


def sync_run_prepare(*, channel: Channel, user: AbstractBaseUser) -> SyncRun:
    """From a channel's Segments tab: turn its switch on and create the run to be queued.

    Raises NotConnected (before anything is created) and SyncAlreadyRunning.
    """
    klaviyo_api_key()
    channel_sync_set(channel=channel, enabled=True)
    return sync_run_create(channels=[channel], user=user)


def sync_run_not_queued(*, run: SyncRun) -> SyncRun:
    """The run's task could not be queued: fail the run so its channel is free again."""
    _finish(run.pk, error="The sync could not be queued; try again.")
    run.refresh_from_db()
    return run


def _finish(run_id: int, *, error: str = "", kind: str = "") -> None:
    with transaction.atomic():
        # Only an unfinished run: one already failed as stale keeps its status and message.
        SyncRun.objects.filter(pk=run_id, status__in=SyncRun.ACTIVE_STATUSES).update(
            status=SyncRun.Status.FAILED if error else SyncRun.Status.SUCCEEDED,
            error=error,
            error_kind=(kind or "unexpected") if error else "",
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        SyncRunChannel.objects.filter(run_id=run_id).update(in_progress=False)


class RunAbandoned(Exception):
    """The run was marked failed (stale) while this worker was still on it."""


def klaviyo_fetch_all(
    client: KlaviyoClient, *, on_page: Callable[[Page, int, int], None] | None = None
) -> dict[str, KlaviyoObject]:
    """Every segment and list, fetched once; `on_page(page, pages, items)` after each page."""
    objects: list[KlaviyoObject] = []
    pages = 0
    for kind in ("segment", "list"):
        for page in client.iter_pages(kind):
            pages += 1
            objects.extend(page.objects)
            if on_page:
                on_page(page, pages, len(objects))
    return unique_objects(objects)


def sync_run_execute(
    *,
    run_id: int,
    on_page: Callable[[Page, int, int], None] | None = None,
    on_channel: Callable[[Channel, dict[str, int]], None] | None = None,
) -> SyncRun:
    """Fetch everything from Klaviyo once, then apply it to each of the run's channels.

    If fetching fails nothing is written to any segment; the run records why.
    """
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    run = SyncRun.objects.get(pk=run_id)
    if not claimed:
        logger.warning("Klaviyo sync run %s is %s; not running it", run_id, run.status)
        return run

    counters = {"segment": 0, "list": 0}
    last_report = [time.monotonic()]

    def progress(page: Page, pages: int, items: int) -> None:
        counters[page.kind] += len(page.objects)
        if on_page:
            on_page(page, pages, items)
        if time.monotonic() - last_report[0] >= PROGRESS_EVERY_SECONDS:
            last_report[0] = time.monotonic()
            _report_progress(run_id, pages, items, counters)

    try:
        with KlaviyoClient(klaviyo_api_key()) as client:
            pages = [0]

            def counting(page: Page, n: int, items: int) -> None:
                pages[0] = n
                progress(page, n, items)

            objects = klaviyo_fetch_all(client, on_page=counting)
        _report_progress(run_id, pages[0], sum(counters.values()), counters)
        channels = [result.channel for result in run.results.select_related("channel")]
        for channel in channels:
            # Also a check that the run was not given up as stale meanwhile.
            _report_progress(run_id, pages[0], sum(counters.values()), counters)
            with transaction.atomic(), acting_as(_run_actor(run)):
                counts = channel_apply(channel=channel, objects=objects, now=timezone.now())
                SyncRunChannel.objects.filter(run_id=run_id, channel=channel).update(**counts)
            if on_channel:
                on_channel(channel, counts)
    except NotConnected as error:
        _finish(run_id, error=str(error), kind="no_key")
    except (KlaviyoAuthError, KlaviyoScopeError) as error:
        _finish(run_id, error=str(error), kind="key")
    except KlaviyoError as error:
        _finish(run_id, error=str(error), kind="klaviyo")
    except RunAbandoned:
        pass
    except CONNECTION_ERRORS as error:
        if not is_connection_lost(error):
            logger.exception("Klaviyo sync run %s failed", run_id)
            _finish(run_id, error=f"Unexpected error ({type(error).__name__}); see the server log.")
            run.refresh_from_db()
            return run
        # The channel being written was rolled back with the connection; channels already
        # done keep their changes.
        logger.warning(
            "Klaviyo sync run %s stopped: the database connection was lost (%s)", run_id, error
        )
        connections_reset_broken()
        _finish(
            run_id,
            kind="unexpected",
            error="The database connection was lost during the sync; nothing was written for "
            "the channel being synced at that moment. Run the sync again.",
        )
    except IntegrityError:
        logger.exception("Klaviyo sync run %s hit a conflicting change", run_id)
        _finish(
            run_id,
            kind="conflict",
            error="Someone changed this channel's segments during the sync (a Segment ID now "
            "exists twice); nothing was written for that channel. Run the sync again.",
        )
    except Exception as error:
        logger.exception("Klaviyo sync run %s failed", run_id)
        _finish(run_id, error=f"Unexpected error ({type(error).__name__}); see the server log.")
    else:
        _finish(run_id)
    run.refresh_from_db()
    return run


def _run_actor(run: SyncRun) -> Actor:
    """The history records the run's changes as "Klaviyo sync #41", started by whom."""
    return run_actor(
        kind=RUN_SYNC, run_id=run.pk, label=f"Klaviyo sync #{run.pk}", user=run.started_by
    )


def _report_progress(run_id: int, pages: int, items: int, counters: dict[str, int]) -> None:
    updated = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.RUNNING).update(
        pages_fetched=pages,
        items_fetched=items,
        segments_fetched=counters["segment"],
        lists_fetched=counters["list"],
        heartbeat_at=timezone.now(),
    )
    if not updated:
        raise RunAbandoned


def sync_dry_run(
    *, channels: list[Channel], on_page: Callable[[Page, int, int], None] | None = None
) -> list[ChannelPlan]:
    """What a sync would change in each channel; writes nothing."""
    with KlaviyoClient(klaviyo_api_key()) as client:
        objects = klaviyo_fetch_all(client, on_page=on_page)
    now = timezone.now()
    return [channel_plan(channel=channel, objects=objects, now=now) for channel in channels]
