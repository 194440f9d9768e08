"""Audiences' entries in the history: each save's changes and the targeting after it."""

from __future__ import annotations

from collections.abc import Iterable

from audiences.models import Audience
from history.models import Change
from history.record import state_change_record
from segments.history import segment_items
from segments.models import Segment

AUDIENCE = Change.ObjectType.AUDIENCE


def audience_state(
    audience: Audience, inclusions: Iterable[Segment], exclusions: Iterable[Segment]
) -> dict:
    return {
        "name": audience.name,
        "estimated_volume": audience.estimated_volume,
        "inclusions": segment_items(inclusions),
        "exclusions": segment_items(exclusions),
    }


def audience_stored_state(audience: Audience) -> dict:
    """The audience as the database has it (two queries)."""
    return audience_state(
        audience, audience.inclusion_segments.all(), audience.exclusion_segments.all()
    )


def audience_record(
    *, audience: Audience, action: str, before: dict, after: dict, note: str = ""
) -> None:
    state_change_record(
        object_type=AUDIENCE, obj=audience, action=action, before=before, after=after, note=note
    )
