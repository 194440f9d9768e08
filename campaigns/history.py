"""Campaigns' entries in the history: each save's changes and the targeting after it."""

from __future__ import annotations

from collections.abc import Iterable

from campaigns.models import Campaign
from history.models import Change
from history.record import state_change_record
from segments.history import segment_items
from segments.models import Segment

CAMPAIGN = Change.ObjectType.CAMPAIGN


def campaign_state(
    campaign: Campaign, inclusions: Iterable[Segment], exclusions: Iterable[Segment]
) -> dict:
    audience = campaign.audience
    return {
        "name": campaign.name,
        "channel": [campaign.channel_id, campaign.channel.name],
        "status": campaign.get_status_display(),
        "send_at": campaign.send_at.isoformat() if campaign.send_at else None,
        "audience": [audience.pk, audience.name] if audience else None,
        "inclusions": segment_items(inclusions),
        "exclusions": segment_items(exclusions),
        "notes": campaign.notes,
        "link": campaign.link,
    }


def campaign_stored_state(campaign: Campaign) -> dict:
    return campaign_state(
        campaign, campaign.inclusion_segments.all(), campaign.exclusion_segments.all()
    )


def campaign_record(
    *, campaign: Campaign, action: str, before: dict, after: dict, note: str = ""
) -> None:
    state_change_record(
        object_type=CAMPAIGN, obj=campaign, action=action, before=before, after=after, note=note
    )
