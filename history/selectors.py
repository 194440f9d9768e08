"""Reads of the history: an object's tab, a run's segments, the admins' Activity page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from history.models import Change
from history.words import label

# The filter by kind of change: what happened, or which field changed.
ACTION_KINDS = [
    (Change.Action.CREATED, "Created"),
    (Change.Action.UPDATED, "Changed"),
    (Change.Action.RESTORED, "Restored"),
    (Change.Action.DELETED, "Deleted"),
    (Change.Action.MARKED_MISSING, "Marked not in Klaviyo"),
]
FIELD_KINDS = {
    Change.ObjectType.AUDIENCE: ["name", "estimated_volume", "inclusions", "exclusions"],
    Change.ObjectType.CAMPAIGN: [
        "name",
        "status",
        "send_at",
        "audience",
        "inclusions",
        "exclusions",
        "notes",
        "link",
    ],
    Change.ObjectType.SEGMENT: ["name", "external_id", "link", "is_active", "size"],
}
# What a run did to each segment, for the run's page.
RUN_OUTCOMES = [
    (Change.Action.CREATED, "Created"),
    (Change.Action.UPDATED, "Updated"),
    (Change.Action.MARKED_MISSING, "Marked not in Klaviyo"),
    (Change.Action.UNCHANGED, "Left unchanged"),
    (Change.Action.SKIPPED_INACTIVE, "Left alone (inactive)"),
]
# Entries that are no change of the object: shown on the run's page, not on the object's tab.
NO_CHANGE = (Change.Action.UNCHANGED, Change.Action.SKIPPED_INACTIVE)
PERIODS = [("today", "Today"), ("week", "This week"), ("all", "All time")]


@dataclass(frozen=True)
class HistoryFilter:
    person: str = ""  # a user name, or a run's label
    kind: str = ""  # an action, or "field:<name>"

    @classmethod
    def from_query(cls, query, *, object_type: str | None = None) -> HistoryFilter:
        kinds = {value for value, _ in kind_choices(object_type)}
        kind = query.get("kind", "")
        return cls(person=query.get("person", "")[:255], kind=kind if kind in kinds else "")

    def apply(self, changes: QuerySet[Change]) -> QuerySet[Change]:
        if self.person:
            changes = changes.filter(user_name=self.person) | changes.filter(
                user_name="", via=self.person
            )
        if self.kind.startswith("field:"):
            changes = changes.filter(fields__contains=f",{self.kind[6:]},")
        elif self.kind:
            changes = changes.filter(action=self.kind)
        return changes


def kind_choices(object_type: str | None = None) -> list[tuple[str, str]]:
    if object_type:
        fields = FIELD_KINDS[object_type]
    else:
        fields = list(dict.fromkeys(f for fs in FIELD_KINDS.values() for f in fs))
    return [*ACTION_KINDS, *((f"field:{f}", f"{label(f)} changed") for f in fields)]


def object_change_list(
    *,
    object_type: str,
    object_id: int,
    where: HistoryFilter | None = None,
    since_version: int | None = None,
) -> QuerySet[Change]:
    """An object's history, newest first, without the runs' "left alone" entries."""
    changes = Change.objects.filter(object_type=object_type, object_id=object_id).exclude(
        action__in=NO_CHANGE
    )
    if since_version is not None:
        changes = changes.filter(version__gt=since_version)
    if where:
        changes = where.apply(changes)
    return changes.order_by("-id")


def object_people(*, object_type: str, object_id: int) -> list[str]:
    """Who appears in an object's history, for the filter by person."""
    return _people(Change.objects.filter(object_type=object_type, object_id=object_id))


def _people(changes: QuerySet[Change]) -> list[str]:
    named = changes.exclude(user_name="").values_list("user_name", flat=True).distinct()
    runs = changes.filter(user_name="").values_list("via", flat=True).distinct()
    return sorted({*named, *runs} - {""}, key=str.lower)


def object_change_exists(*, object_type: str, object_id: int, channel_id: int | None) -> bool:
    changes = Change.objects.filter(object_type=object_type, object_id=object_id)
    if channel_id is not None:
        changes = changes.filter(channel_id=channel_id)
    return changes.exists()


def object_change_get(*, object_type: str, object_id: int, pk: int) -> Change:
    """Raises Change.DoesNotExist."""
    return Change.objects.get(object_type=object_type, object_id=object_id, pk=pk)


def last_object_name(*, object_type: str, object_id: int) -> str:
    return (
        Change.objects.filter(object_type=object_type, object_id=object_id)
        .order_by("-id")
        .values_list("object_name", flat=True)
        .first()
        or ""
    )


def run_change_list(*, run_kind: str, run_id: int, outcome: str = "") -> QuerySet[Change]:
    """The segments a run created, updated, marked or left alone, in the order it wrote them."""
    changes = Change.objects.filter(run_kind=run_kind, run_id=run_id)
    if outcome in {value for value, _ in RUN_OUTCOMES}:
        changes = changes.filter(action=outcome)
    return changes.order_by("id")


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    now = timezone.localtime(now or timezone.now())
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return today
    if period == "week":
        return today - timedelta(days=today.weekday())
    return None


def activity_list(*, period: str, where: HistoryFilter) -> QuerySet[Change]:
    """Everything everyone changed (no "left alone" entries), newest first."""
    changes = Change.objects.exclude(action__in=NO_CHANGE)
    if start := period_start(period):
        changes = changes.filter(at__gte=start)
    return where.apply(changes).order_by("-id")


def activity_people(*, period: str) -> list[str]:
    changes = Change.objects.exclude(action__in=NO_CHANGE)
    if start := period_start(period):
        changes = changes.filter(at__gte=start)
    return _people(changes)
