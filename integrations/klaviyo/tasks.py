import logging

from django.tasks import task

from integrations.klaviyo import services, sizes
from integrations.klaviyo.models import SizeRun

logger = logging.getLogger(__name__)


@task()
def sync_klaviyo_task(run_id: int) -> str:
    """Run a queued Klaviyo sync (the run knows its channels); returns its final status."""
    return services.sync_run_execute(run_id=run_id).status


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
