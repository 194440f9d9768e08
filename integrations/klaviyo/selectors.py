"""Reads for the Klaviyo pages: fixed query counts whatever the number of runs or channels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from channels_app.models import Channel
from integrations.klaviyo.models import (
    KlaviyoAccount,
    SizeRun,
    SizeRunChannel,
    SyncRun,
    SyncRunChannel,
)


@dataclass(frozen=True)
class Connection:
    connected: bool
    from_environment: bool
    account: KlaviyoAccount | None

    @property
    def badge(self) -> tuple[str, str]:
        """(colour, words) of what the last check of the key verified, and when."""
        account = self.account
        if account is None or account.checked_at is None:
            return "gray", "Not checked yet"
        when = time_label(account.checked_at)
        if not account.check_ok:
            return "red", f"Key rejected at {when}"
        if any(not c.get("works") for c in account.check_scopes or []):
            return "amber", f"Key works, checked {when}; scopes missing"
        return "green", f"Key works, checked {when}"

    @property
    def scope_checks(self) -> list[dict]:
        return list(self.account.check_scopes or []) if self.account else []

    @property
    def key_mask(self) -> str:
        if self.from_environment:
            return f"pk_…{settings.KLAVIYO_API_KEY[-4:]}"
        return self.account.key_mask if self.account else ""


def time_label(moment: datetime) -> str:
    """10:42 today, else 28 Nov 2026, 10:42 (local time)."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b %Y, %H:%M')}"


def connection_get() -> Connection:
    """Whether a key is available (one query unless the environment supplies it)."""
    if settings.KLAVIYO_API_KEY:
        return Connection(connected=True, from_environment=True, account=None)
    account = (
        KlaviyoAccount.objects.select_related("connected_by")
        .filter(pk=KlaviyoAccount.SINGLETON_PK)
        .first()
    )
    return Connection(connected=account is not None, from_environment=False, account=account)


def _results_prefetch() -> Prefetch:
    return Prefetch("results", queryset=SyncRunChannel.objects.select_related("channel"))


def sync_run_list() -> QuerySet[SyncRun]:
    """The history, newest first, with who started it and each channel's counts."""
    return SyncRun.objects.select_related("started_by").prefetch_related(_results_prefetch())


def sync_run_get(*, run_id: int) -> SyncRun | None:
    """One run, shown failed if its worker stopped (see `sync_runs_as_shown`)."""
    run = sync_run_list().filter(pk=run_id).first()
    return sync_runs_as_shown([run])[0] if run else None


def sync_run_stale_error() -> str:
    """Why a run silent for SYNC_STALE_AFTER_SECONDS failed, as pages and the run itself say it."""
    minutes = max(1, round(settings.SYNC_STALE_AFTER_SECONDS / 60))
    return (
        f"The sync stopped reporting progress for {minutes} minute"
        f"{'s' if minutes != 1 else ''} (its worker probably stopped); marked failed."
    )


def sync_run_stale_since(run: SyncRun) -> datetime:
    """When a silent run became stale: what it is failed with, on the page and for real."""
    return run.heartbeat_at + timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS)


def sync_runs_as_shown[T: Iterable[SyncRun]](runs: T) -> T:
    """Show stale runs (their worker stopped) as the failures they are, in memory only: GET
    never writes. The worker, `manage.py cleanup` or the next start fails them for real, with
    the same words and time."""
    for run in runs:
        if run.is_stale:
            run.status = SyncRun.Status.FAILED
            run.error = sync_run_stale_error()
            run.finished_at = sync_run_stale_since(run)
    return runs


def channel_sync_list() -> list[Channel]:
    """Channels with their switch (`.sync_enabled`), in navigation order (one query)."""
    channels = list(Channel.objects.select_related("klaviyo_sync").order_by("position", "name"))
    for channel in channels:
        setting = getattr(channel, "klaviyo_sync", None)
        channel.sync_enabled = bool(setting and setting.enabled)
    return channels


def enabled_channels() -> list[Channel]:
    return list(Channel.objects.filter(klaviyo_sync__enabled=True).order_by("position", "name"))


def channel_last_result(*, channel: Channel) -> SyncRunChannel | None:
    """The channel's latest run (running or finished, stale shown failed) with its counts,
    in one query."""
    result = (
        SyncRunChannel.objects.filter(channel=channel)
        .select_related("run", "run__started_by")
        .order_by("-run__created_at", "-run__pk")
        .first()
    )
    if result is not None:
        sync_runs_as_shown([result.run])
    return result


# -- size counts -------------------------------------------------------------------------------


def channel_last_size_result(*, channel: Channel) -> SizeRunChannel | None:
    """The channel's latest size count with its counts, in one query. A count whose next step
    never came is shown failed (GET never writes: the next refresh fails it for real)."""
    result = (
        SizeRunChannel.objects.filter(channel=channel)
        .select_related("run")
        .order_by("-run__created_at", "-run__pk")
        .first()
    )
    if result is not None and result.run.is_stale:
        run = result.run
        run.status = SizeRun.Status.FAILED
        run.error = SizeRun.STALE_ERROR
    return result
