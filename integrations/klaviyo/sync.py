"""Apply fetched Klaviyo segments and lists to one channel. ORM only: no HTTP here.

Matching is on (channel, Segment ID = Klaviyo id). The rules, from the product's help pages:
new objects are created active; active matches get name, kind and link refreshed when they
changed; inactive segments are never touched; deleted ones simply come back; local Klaviyo
segments that Klaviyo no longer has are marked "not in Klaviyo since …" (and unmarked when they
return). Segments without an ID, and manual or CSV segments Klaviyo does not have, stay as they are.

The query count depends on the number of batches, never on the number of items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from channels_app.models import Channel
from integrations.klaviyo.client import KlaviyoObject
from segments.models import Segment

BATCH_SIZE = 1000
NAME_MAX = Segment._meta.get_field("name").max_length
SAMPLE_SIZE = 20  # changes kept per kind for a dry run's report


@dataclass
class ChannelPlan:
    """What a sync does (or would do) to one channel."""

    channel: Channel
    to_create: list[Segment] = field(default_factory=list)
    to_update: list[Segment] = field(default_factory=list)
    to_mark_missing: list[int] = field(default_factory=list)
    unchanged: int = 0
    skipped_inactive: int = 0
    # Human-readable samples for `--dry-run`.
    update_samples: list[str] = field(default_factory=list)
    missing_samples: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.to_create),
            "updated": len(self.to_update),
            "unchanged": self.unchanged,
            "skipped_inactive": self.skipped_inactive,
            "marked_missing": len(self.to_mark_missing),
        }


def klaviyo_link(obj: KlaviyoObject) -> str:
    template = (
        settings.KLAVIYO_LIST_URL_TEMPLATE
        if obj.kind == Segment.Kind.LIST
        else settings.KLAVIYO_SEGMENT_URL_TEMPLATE
    )
    return template.format(id=quote(obj.id, safe=""))


def unique_objects(objects: Iterable[KlaviyoObject]) -> dict[str, KlaviyoObject]:
    """One object per Klaviyo id (an id repeated across pages counts once; the last wins)."""
    return {obj.id: obj for obj in objects}


def channel_plan(
    *, channel: Channel, objects: dict[str, KlaviyoObject], now: datetime
) -> ChannelPlan:
    """Compare Klaviyo's objects with the channel's segments; reads only (one query)."""
    plan = ChannelPlan(channel=channel)
    # Plain tuples, not model instances: this reads every Klaviyo-matched row of the channel.
    existing = (
        Segment.objects.filter(channel=channel)
        .exclude(external_id="")
        .values_list(
            "pk",
            "name",
            "external_id",
            "link",
            "kind",
            "source",
            "is_active",
            "klaviyo_missing_since",
        )
        .order_by()
    )
    seen: set[str] = set()
    for (
        pk,
        old_name,
        external_id,
        old_link,
        old_kind,
        source,
        is_active,
        missing_since,
    ) in existing.iterator(chunk_size=2000):
        obj = objects.get(external_id)
        if obj is None:
            from_klaviyo = source == Segment.Source.KLAVIYO or old_kind
            if from_klaviyo and is_active and missing_since is None:
                plan.to_mark_missing.append(pk)
                if len(plan.missing_samples) < SAMPLE_SIZE:
                    plan.missing_samples.append(f"{old_name} ({external_id})")
            continue
        seen.add(obj.id)
        if not is_active:
            plan.skipped_inactive += 1
            continue
        name, link = obj.name[:NAME_MAX], klaviyo_link(obj)
        changes = []
        if old_name != name:
            changes.append(f"name {old_name!r} → {name!r}")
        if old_kind != obj.kind:
            changes.append(f"kind {old_kind or 'none'} → {obj.kind}")
        if old_link != link:
            changes.append("link")
        if missing_since is not None:
            changes.append("back in Klaviyo")
        if not changes:
            plan.unchanged += 1
            continue
        # Only the fields bulk_update writes are needed on the instance.
        plan.to_update.append(
            Segment(
                pk=pk,
                name=name,
                kind=obj.kind,
                link=link,
                klaviyo_missing_since=None,
                last_synced_at=now,
                updated_at=now,
            )
        )
        if len(plan.update_samples) < SAMPLE_SIZE:
            plan.update_samples.append(f"{obj.id}: {', '.join(changes)}")
    for obj in objects.values():
        if obj.id in seen:
            continue
        plan.to_create.append(
            Segment(
                channel=channel,
                name=obj.name[:NAME_MAX],
                external_id=obj.id,
                link=klaviyo_link(obj),
                is_active=True,
                source=Segment.Source.KLAVIYO,
                kind=obj.kind,
                last_synced_at=now,
            )
        )
    return plan


def _batches(items: list, size: int = BATCH_SIZE):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def channel_apply(*, plan: ChannelPlan, now: datetime) -> dict[str, int]:
    """Write a plan in one transaction: bulk create, bulk update, mark missing, by batches."""
    marked = 0
    with transaction.atomic():
        for batch in _batches(plan.to_create):
            Segment.objects.bulk_create(batch, batch_size=BATCH_SIZE)
        for batch in _batches(plan.to_update):
            Segment.objects.bulk_update(
                batch,
                ["name", "kind", "link", "klaviyo_missing_since", "last_synced_at", "updated_at"],
                batch_size=BATCH_SIZE,
            )
        for batch in _batches(plan.to_mark_missing):
            # Re-checked in the UPDATE: a user may have made one inactive meanwhile.
            marked += Segment.objects.filter(
                Q(pk__in=batch), is_active=True, klaviyo_missing_since__isnull=True
            ).update(klaviyo_missing_since=now, updated_at=now)
    return {**plan.counts, "marked_missing": marked}
