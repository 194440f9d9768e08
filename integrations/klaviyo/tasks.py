from django.tasks import task

from integrations.klaviyo import services


@task()
def sync_klaviyo_task(run_id: int) -> str:
    """Run a queued Klaviyo sync (the run knows its channels); returns its final status."""
    return services.sync_run_execute(run_id=run_id).status
