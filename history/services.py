"""The one way history entries are removed: entries older than the retention."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from history.models import Change

PRUNE_BATCH = 5000


def history_prune(*, older_than_days: int | None = None, now: datetime | None = None) -> int:
    """Delete entries older than `older_than_days` (default HISTORY_RETENTION_DAYS; None keeps
    everything). Returns how many were deleted; deletes in batches, each its own transaction."""
    days = settings.HISTORY_RETENTION_DAYS if older_than_days is None else older_than_days
    if days is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(Change.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        deleted += Change.objects.filter(pk__in=ids).delete()[0]
