"""Reads for the Klaviyo pages: fixed query counts whatever the number of runs or channels."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from channels_app.models import Channel
from integrations.klaviyo.models import KlaviyoAccount, SyncRun, SyncRunChannel


@dataclass(frozen=True)
class Connection:
    connected: bool
    from_environment: bool
    account: KlaviyoAccount | None

    @property
    def key_mask(self) -> str:
        if self.from_environment:
            return f"pk_…{settings.KLAVIYO_API_KEY[-4:]}"
        return self.account.key_mask if self.account else ""


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
    return sync_run_list().filter(pk=run_id).first()


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
    """The channel's latest run (running or finished) with its counts, in one query."""
    return (
        SyncRunChannel.objects.filter(channel=channel)
        .select_related("run", "run__started_by")
        .order_by("-run__created_at", "-run__pk")
        .first()
    )
