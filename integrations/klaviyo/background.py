"""Starting a Klaviyo sync in the background: the services create the run, then its task is
enqueued. It sits above tasks.py, which calls the services, so the two never import each other."""

import logging

from django.contrib.auth.models import AbstractBaseUser

from channels_app.models import Channel
from integrations.klaviyo import push, services, sizes
from integrations.klaviyo.models import CampaignPush, SizeRun, SyncRun
from integrations.klaviyo.tasks import (
    estimate_follow,
    klaviyo_push_task,
    klaviyo_sizes_task,
    sync_klaviyo_task,
)

logger = logging.getLogger(__name__)


def sync_start(*, channel: Channel, user: AbstractBaseUser) -> SyncRun:
    """Turn the channel's switch on, queue a run and enqueue its task.

    Raises NotConnected and SyncAlreadyRunning; a task that cannot be queued fails the run.
    """
    run = services.sync_run_prepare(channel=channel, user=user)
    try:
        sync_klaviyo_task.enqueue(run.pk)
    except Exception:
        logger.exception("Could not queue Klaviyo sync run %s", run.pk)
        return services.sync_run_not_queued(run=run)
    return run


def push_start(*, campaign, user: AbstractBaseUser | None, action: str) -> CampaignPush:
    """Record a send (or an update) of the campaign to Klaviyo and enqueue it.

    Raises NotConnected, PushRefused and PushAlreadyRunning (nothing queued); a task that
    cannot be queued fails the push."""
    recorded = push.campaign_push_start(campaign=campaign, user=user, action=action)
    try:
        klaviyo_push_task.enqueue(recorded.pk)
    except Exception:
        logger.exception("Could not queue Klaviyo push %s", recorded.pk)
        return push.campaign_push_not_queued(push=recorded)
    recorded.refresh_from_db()
    return recorded


def push_refresh(*, campaign) -> CampaignPush:
    """Read the Klaviyo status again; a new recipient estimate, if asked for, is followed by
    the worker. Raises PushRefused, NotConnected and KlaviyoError."""
    refreshed = push.campaign_push_refresh(campaign=campaign)
    estimate_follow(refreshed)
    return refreshed


def sizes_start(
    *,
    channels: list[Channel],
    user: AbstractBaseUser | None = None,
    trigger: str = SizeRun.Trigger.USER,
) -> SizeRun:
    """Queue a size count for these channels and enqueue its first step.

    Raises NotConnected and SizesAlreadyRunning; a step that cannot be queued fails the run.
    """
    run = sizes.size_run_create(channels=channels, user=user, trigger=trigger)
    try:
        klaviyo_sizes_task.enqueue(run.pk, run.step)
    except Exception:
        logger.exception("Could not queue Klaviyo size count %s", run.pk)
        return sizes.size_run_not_queued(run=run)
    return run
