"""Apply fetched Klaviyo segments and lists to one channel. ORM only: no HTTP here.

Matching is on (channel, Segment ID = Klaviyo id). The rules, from the product's help pages:
new objects are created active; active matches get name, kind and link refreshed when they
changed; inactive segments are never touched; deleted ones simply come back; local Klaviyo
segments that Klaviyo no longer has are marked "not in Klaviyo since …" (and unmarked when they
return). Segments without an ID, and manual or CSV segments Klaviyo does not have, stay as they are.

This module only turns Klaviyo objects into rows; segments.bulk writes them, with the query
count depending on the number of batches, never on the number of items.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from django.conf import settings

from channels_app.models import Channel
from integrations.klaviyo.client import KlaviyoObject
from segments.bulk import NAME_MAX, BulkResult, Outcome, SegmentRow, segment_bulk_upsert
from segments.models import Segment

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 20  # changes kept per kind for a dry run's report


@dataclass
class ChannelPlan:
    """What a sync would do to one channel (a dry run)."""

    channel: Channel
    result: BulkResult = field(default_factory=BulkResult)
    to_create: list[SegmentRow] = field(default_factory=list)
    to_mark_missing: list[str] = field(default_factory=list)  # Segment IDs
    # Human-readable samples for `--dry-run`.
    update_samples: list[str] = field(default_factory=list)
    missing_samples: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return sync_counts(self.result)


def sync_counts(result: BulkResult) -> dict[str, int]:
    """The counts a sync records per channel."""
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped_inactive": result.skipped_inactive,
        "marked_missing": result.marked_missing,
    }


def unique_objects(objects: Iterable[KlaviyoObject]) -> dict[str, KlaviyoObject]:
    """One object per Klaviyo id (an id repeated across pages counts once; the last wins)."""
    return {obj.id: obj for obj in objects}


def _rows(objects: dict[str, KlaviyoObject]) -> Iterator[SegmentRow]:
    # The link templates read once: settings lookups cost more than the rest of a row.
    templates = {
        Segment.Kind.LIST: settings.KLAVIYO_LIST_URL_TEMPLATE,
        Segment.Kind.SEGMENT: settings.KLAVIYO_SEGMENT_URL_TEMPLATE,
    }
    segment_template = templates[Segment.Kind.SEGMENT]
    for obj in objects.values():
        template = templates.get(obj.kind, segment_template)
        yield SegmentRow(
            # Klaviyo allows longer names than a segment has; a blank one shows the id.
            name=(obj.name.strip() or obj.id)[:NAME_MAX],
            external_id=obj.id,
            link=template.format(id=quote(obj.id, safe="")),
            kind=obj.kind,
        )


def _upsert(*, channel: Channel, objects: dict[str, KlaviyoObject], now: datetime, **options):
    result = segment_bulk_upsert(
        channel=channel,
        rows=_rows(objects),
        source=Segment.Source.KLAVIYO,
        keep_inactive=True,
        mark_missing=True,
        mark_synced=True,
        skip_invalid=True,
        now=now,
        **options,
    )
    if result.invalid:
        logger.warning(
            "Klaviyo sync: %d object(s) could not be a segment of %s", result.invalid, channel
        )
    return result


def channel_plan(
    *, channel: Channel, objects: dict[str, KlaviyoObject], now: datetime
) -> ChannelPlan:
    """What syncing `objects` into the channel would change; reads only."""
    plan = ChannelPlan(channel=channel)

    def heard(row: SegmentRow, outcome: Outcome, changes: dict[str, tuple]) -> None:
        if outcome == Outcome.CREATED:
            plan.to_create.append(row)
        elif outcome == Outcome.MARKED_MISSING:
            plan.to_mark_missing.append(row.external_id)
            if len(plan.missing_samples) < SAMPLE_SIZE:
                plan.missing_samples.append(f"{row.name} ({row.external_id})")
        elif outcome == Outcome.UPDATED and len(plan.update_samples) < SAMPLE_SIZE:
            plan.update_samples.append(f"{row.external_id}: {', '.join(_described(changes))}")

    plan.result = _upsert(channel=channel, objects=objects, now=now, dry_run=True, on_outcome=heard)
    return plan


def _described(changes: dict[str, tuple]) -> list[str]:
    out = []
    if "name" in changes:
        old, new = changes["name"]
        out.append(f"name {old!r} → {new!r}")
    if "kind" in changes:
        old, new = changes["kind"]
        out.append(f"kind {old or 'none'} → {new}")
    if "link" in changes:
        out.append("link")
    if "klaviyo_missing_since" in changes:
        out.append("back in Klaviyo")
    return out


def channel_apply(
    *, channel: Channel, objects: dict[str, KlaviyoObject], now: datetime
) -> dict[str, int]:
    """Sync `objects` into the channel in one transaction; returns the counts."""
    return sync_counts(_upsert(channel=channel, objects=objects, now=now))
