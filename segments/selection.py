"""The rules for a choice of inclusion and exclusion segments, each worded once.

Audiences, campaigns and the segment picker all call `segment_selection_check`, so a user reads
the same sentence whichever form or service refused the choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from channels_app.models import Channel
from segments.models import Segment

MESSAGES = {
    "deleted": "Some chosen segments no longer exist. Choose them again.",
    "other_channel": "Only segments of the {channel} channel can be used.",
    "other_channel_named": "Only segments of the {channel} channel can be used, not: {names}.",
    "both": "A segment cannot be both included and excluded: {names}.",
    "inactive": "Inactive segments cannot be added: {names}.",
    "no_inclusion": "Choose at least one segment to include.",
}


@dataclass(frozen=True)
class SegmentSelection:
    """The checked choice: its segments in the order chosen, and what is wrong with it."""

    include: list[Segment] = field(default_factory=list)
    exclude: list[Segment] = field(default_factory=list)
    errors: list[ValidationError] = field(default_factory=list)


def segment_ids(values: Iterable[Segment | int]) -> list[int]:
    """Ids of segments (or ids), in order, without repeats."""
    return list(dict.fromkeys(v.pk if isinstance(v, Segment) else int(v) for v in values))


def _names(segments: Iterable[Segment]) -> str:
    return ", ".join(sorted(s.name for s in segments))


def segment_selection_check(
    *,
    channel: Channel,
    include_ids: Iterable[int],
    exclude_ids: Iterable[int],
    segments: Mapping[int, Segment],
    keep_inactive_ids: Iterable[int] = (),
    require_inclusion: bool = False,
    read_in_channel: bool = False,
) -> SegmentSelection:
    """Check a choice against the rules; `segments` are the chosen ones read by id.

    Rules: every segment still exists and is of `channel`; none is both included and excluded;
    no inactive segment is newly added (those in `keep_inactive_ids`, already part of what is
    being edited, may stay); at least one inclusion when `require_inclusion`.

    `read_in_channel` says `segments` were read from `channel` only (the picker never reads
    another channel's), so an id missing from them is refused as not of the channel, unnamed.
    """
    include = list(dict.fromkeys(include_ids))
    exclude = list(dict.fromkeys(exclude_ids))
    chosen = list(dict.fromkeys(include + exclude))
    found = [segments[pk] for pk in chosen if pk in segments]
    keep = set(keep_inactive_ids)
    errors: list[ValidationError] = []

    def refuse(code: str, **params: str) -> None:
        errors.append(ValidationError(MESSAGES[code].format(**params), code=code))

    foreign = [s for s in found if s.channel_id != channel.pk]
    if len(found) < len(chosen) and read_in_channel:
        refuse("other_channel", channel=channel.name)
    elif len(found) < len(chosen):
        refuse("deleted")
    if foreign:
        refuse("other_channel_named", channel=channel.name, names=_names(foreign))
    both = [segments[pk] for pk in include if pk in exclude and pk in segments]
    if both:
        refuse("both", names=_names(both))
    inactive = [s for s in found if not s.is_active and s.pk not in keep]
    if inactive:
        refuse("inactive", names=_names(inactive))
    if require_inclusion and not include:
        refuse("no_inclusion")
    return SegmentSelection(
        include=[segments[pk] for pk in include if pk in segments],
        exclude=[segments[pk] for pk in exclude if pk in segments],
        errors=errors,
    )
