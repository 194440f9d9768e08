import logging
from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from integrations.klaviyo import push, services, sizes
from integrations.klaviyo.models import CampaignPush, SizeRun

logger = logging.getLogger(__name__)


@task()
def sync_klaviyo_task(run_id: int) -> str:
    """Run a queued Klaviyo sync (the run knows its channels); returns its final status."""
    return services.sync_run_execute(run_id=run_id).status


@task()
def klaviyo_push_task(push_id: int) -> str:
    """Send a queued campaign to Klaviyo; then have Klaviyo's recipient estimate looked at."""
    result = push.campaign_push_execute(push_id=push_id)
    estimate_follow(result)
    return result.state


@task()
def klaviyo_estimate_task(push_id: int) -> str:
    """Look at Klaviyo's recipient estimate once; while it is counting, come back later
    (re-enqueued with run_after: the worker never sleeps)."""
    wait = push.campaign_estimate_poll(push_id=push_id)
    if wait is not None:
        estimate_enqueue(push_id, wait=wait)
        return "counting"
    return "done"


def estimate_follow(result: CampaignPush) -> None:
    if result.estimate_status == CampaignPush.Estimate.COUNTING:
        estimate_enqueue(result.pk, wait=push.estimate_wait(0))


def estimate_enqueue(push_id: int, *, wait: float) -> None:
    backend = klaviyo_estimate_task.get_backend()
    if backend.supports_defer:
        klaviyo_estimate_task.using(run_after=timezone.now() + timedelta(seconds=wait)).enqueue(
            push_id
        )
    else:
        # A backend that runs tasks at once (development): look again straight away; the
        # number of looks is capped by the service.
        klaviyo_estimate_task.enqueue(push_id)


@task()
def klaviyo_sizes_task(run_id: int, step: int = 0) -> str:
    """One step of a size count; queues the next for when Klaviyo's limits allow it (never
    sleeps). Returns what became of the run."""
    following = sizes.size_run_step(run_id=run_id, step=step)
    if following is None:
        return "done"
    size_step_enqueue(run_id=run_id, following=following)
    return f"next step at {following.at.isoformat()}"


def size_step_enqueue(*, run_id: int, following: sizes.NextStep) -> None:
    """Queue the step `following` names at its time; a queue that cannot ends the run."""
    try:
        klaviyo_sizes_task.using(run_after=following.at).enqueue(run_id, following.step)
    except Exception:
        logger.exception("Could not queue the next step of Klaviyo size count %s", run_id)
        sizes.size_run_not_queued(run=SizeRun(pk=run_id))
