"""Every write to segments made from the Segments tab and the admin.

Bulk writes (the Klaviyo sync, the CSV upload, copy-to-channel, the demo data) go through
segments.bulk.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from channels_app.models import Channel
from history.models import Change
from history.record import diff
from segments.bulk import SegmentRow, segment_bulk_upsert, segment_size_write
from segments.history import segment_record, segment_values, segments_record_active
from segments.models import Segment
from segments.selectors import SegmentUsage, segment_usage


class SegmentIdTaken(Exception):
    """The channel already has a segment with this Segment ID."""

    def __init__(self, existing: Segment | None):
        self.existing = existing
        name = f"“{existing.name}”" if existing else "another segment"
        super().__init__(f"This Segment ID is already used by {name} in this channel.")


class SegmentGone(Exception):
    """The segment was deleted meanwhile (another tab, another user, a sync)."""

    def __init__(self):
        super().__init__("This segment no longer exists: someone deleted it meanwhile.")


class SegmentInUse(Exception):
    """The segment is used by audiences or campaigns and cannot be deleted."""

    def __init__(self, usage: SegmentUsage):
        self.usage = usage
        parts = []
        if usage.audiences:
            parts.append(f"{len(usage.audiences)} audience(s)")
        if usage.campaigns:
            parts.append(f"{len(usage.campaigns)} campaign(s)")
        super().__init__(
            f"This segment is used by {' and '.join(parts)}, so it cannot be deleted. "
            "Remove it from them first, or make it inactive instead."
        )


class CopyConflict(Exception):
    """Another change gave the target channel one of the copied Segment IDs meanwhile."""


@dataclass(frozen=True)
class CopyResult:
    copied: int
    skipped: int


def _clean_fields(*, name: str, external_id: str, link: str) -> dict[str, str]:
    fields = {"name": name.strip(), "external_id": external_id.strip(), "link": link.strip()}
    probe = Segment(**fields)
    # Field rules (required name, lengths, http/https links) live on the model.
    probe.clean_fields(exclude=["channel", "source", "kind", "is_active"])
    return fields


def _existing_with_id(channel: Channel, external_id: str, exclude_pk: int | None = None):
    if not external_id:
        return None
    qs = Segment.objects.filter(channel=channel, external_id=external_id)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


@transaction.atomic
def segment_create(
    *,
    channel: Channel,
    name: str,
    external_id: str = "",
    link: str = "",
    is_active: bool = True,
    source: str = Segment.Source.MANUAL,
    size: int | None = None,
) -> Segment:
    """Add a segment to a channel, with its typed size when given.

    Raises ValidationError for bad fields and SegmentIdTaken when the channel already has the
    Segment ID (also when another request adds it at the same moment: the constraint decides).
    """
    fields = _clean_fields(name=name, external_id=external_id, link=link)
    if existing := _existing_with_id(channel, fields["external_id"]):
        raise SegmentIdTaken(existing)
    segment = Segment(channel=channel, is_active=is_active, source=source, **fields)
    try:
        with transaction.atomic():
            segment.save(force_insert=True)
    except IntegrityError:
        raise SegmentIdTaken(_existing_with_id(channel, fields["external_id"])) from None
    if size is not None:
        _typed_size(segment, size)
    segment_record(
        segment=segment, action=Change.Action.CREATED, changes=diff({}, segment_values(segment))
    )
    return segment


class _Keep:
    """A size argument that was not given: the segment keeps its size."""

    def __repr__(self) -> str:
        return "KEEP_SIZE"


KEEP_SIZE = _Keep()


def _typed_size(segment: Segment, size: int | None) -> None:
    try:
        segment_size_write(segment=segment, size=size, source=Segment.SizeSource.MANUAL)
    except ValueError as error:
        raise ValidationError({"size": str(error)}) from None


@transaction.atomic
def segment_update(
    *,
    segment: Segment,
    name: str,
    external_id: str,
    link: str,
    size: int | _Keep | None = KEEP_SIZE,
) -> Segment:
    """Change a segment's name, Segment ID, link and (when given) size.

    A size other than the segment's is recorded as typed, with a history point; None makes it
    unknown; the same figure leaves it (and where it came from) as it is.

    Raises ValidationError, SegmentIdTaken, or SegmentGone when it was deleted meanwhile.
    """
    fields = _clean_fields(name=name, external_id=external_id, link=link)
    if existing := _existing_with_id(segment.channel, fields["external_id"], segment.pk):
        raise SegmentIdTaken(existing)
    now = timezone.now()
    before = Segment.objects.filter(pk=segment.pk).values("name", "size", *fields).first() or {}
    try:
        with transaction.atomic():
            updated = Segment.objects.filter(pk=segment.pk).update(updated_at=now, **fields)
    except IntegrityError:
        raise SegmentIdTaken(
            _existing_with_id(segment.channel, fields["external_id"], segment.pk)
        ) from None
    if not updated:
        raise SegmentGone()
    for key, value in fields.items():
        setattr(segment, key, value)
    segment.updated_at = now
    if size is not KEEP_SIZE:
        _typed_size(segment, size)
    after = {**fields, "size": segment.size if size is not KEEP_SIZE else before.get("size")}
    segment_record(segment=segment, action=Change.Action.UPDATED, changes=diff(before, after))
    return segment


@transaction.atomic
def segment_set_active(*, segment: Segment, is_active: bool) -> Segment:
    """Make a segment active or inactive (idempotent: a double click changes nothing more).

    Inactive segments are hidden from audience and campaign pickers and a Klaviyo sync neither
    overrides nor re-adds them. Raises SegmentGone when it was deleted meanwhile.
    """
    now = timezone.now()
    before = Segment.objects.filter(pk=segment.pk).values("is_active", "name").first()
    updated = Segment.objects.filter(pk=segment.pk).update(is_active=is_active, updated_at=now)
    if not updated or before is None:
        raise SegmentGone()
    if before["is_active"] != is_active:
        segment_record(
            segment=segment,
            name=before["name"],
            action=Change.Action.UPDATED,
            changes={"is_active": [before["is_active"], is_active]},
        )
    segment.is_active = is_active
    segment.updated_at = now
    return segment


@transaction.atomic
def segment_bulk_set_active(*, segments: QuerySet[Segment], is_active: bool) -> int:
    """Make every segment of the queryset active or inactive; returns how many changed."""
    changing = list(
        segments.order_by().exclude(is_active=is_active).values_list("pk", "name", "channel_id")
    )
    changed = 0
    for start in range(0, len(changing), 5000):
        chunk = changing[start : start + 5000]
        changed += Segment.objects.filter(pk__in=[pk for pk, _n, _c in chunk]).update(
            is_active=is_active, updated_at=timezone.now()
        )
        segments_record_active(chunk, is_active=is_active)
    return changed


def segment_copy_to_channel(*, segments: QuerySet[Segment], target: Channel) -> CopyResult:
    """Copy segments (name, Segment ID, link, status, source) to another channel.

    Skips segments whose Segment ID the target channel already has; a segment without an ID is
    skipped when the target has a segment without ID of the same name (case-insensitive), so
    copying twice never duplicates. Raises CopyConflict (and copies nothing) when another change
    adds one of the IDs to the target at the same moment.
    """
    # Read the selection first: SQLite cannot safely insert into a table it is iterating.
    rows = [
        SegmentRow(
            name=name,
            external_id=external_id,
            link=link,
            is_active=is_active,
            kind=kind,
            source=source,
        )
        for name, external_id, link, is_active, source, kind in segments.order_by("pk").values_list(
            "name", "external_id", "link", "is_active", "source", "kind"
        )
    ]
    try:
        result = segment_bulk_upsert(
            channel=target,
            rows=rows,
            source=Segment.Source.MANUAL,
            skip_existing=True,
            # A segment the rules refuse (possible only for rows older than them) stays behind.
            skip_invalid=True,
        )
    except IntegrityError:
        raise CopyConflict(
            f"{target.name} got one of these Segment IDs meanwhile. Nothing was copied; try again."
        ) from None
    return CopyResult(copied=result.created, skipped=result.skipped + result.invalid)


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    """Delete a segment that no audience or campaign uses.

    Raises SegmentInUse (with the audiences and campaigns) otherwise, and SegmentGone when it
    was deleted meanwhile. A Klaviyo sync may bring a deleted Klaviyo segment back.
    """
    locked = Segment.objects.select_for_update().filter(pk=segment.pk).first()
    if locked is None:
        raise SegmentGone()
    usage = segment_usage(segment=locked)
    if usage.in_use:
        raise SegmentInUse(usage)
    segment_record(
        segment=locked, action=Change.Action.DELETED, changes=diff(segment_values(locked), {})
    )
    locked.delete()


__all__ = [
    "KEEP_SIZE",
    "CopyConflict",
    "CopyResult",
    "SegmentGone",
    "SegmentIdTaken",
    "SegmentInUse",
    "ValidationError",
    "segment_bulk_set_active",
    "segment_copy_to_channel",
    "segment_create",
    "segment_delete",
    "segment_set_active",
    "segment_update",
]
