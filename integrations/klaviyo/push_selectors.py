"""Reads for the In Klaviyo panel of a campaign: what is in Klaviyo, and whether it still
matches the targeting here. Reads only (GET never writes): a push whose worker stopped is
shown failed in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from campaigns.models import Campaign
from campaigns.selectors import campaign_get
from integrations.klaviyo import push as push_services
from integrations.klaviyo.models import CampaignPush
from integrations.klaviyo.selectors import connection_get


@dataclass
class PushPanel:
    campaign: Campaign
    push: CampaignPush | None
    connected: bool
    in_step: bool = True
    # What stops Send to Klaviyo / Update in Klaviyo right now, in words.
    send_problems: list[str] = field(default_factory=list)
    update_problems: list[str] = field(default_factory=list)
    klaviyo_url: str = push_services.KLAVIYO_CAMPAIGNS_URL

    @property
    def sends_with_klaviyo(self) -> bool:
        return self.campaign.channel.sends_with_klaviyo

    @property
    def in_klaviyo(self) -> bool:
        return self.push is not None and self.push.in_klaviyo

    @property
    def deleted_there(self) -> bool:
        return self.push is not None and self.push.klaviyo_deleted_at is not None

    @property
    def in_progress(self) -> bool:
        return self.push is not None and self.push.in_progress

    @property
    def half_done(self) -> bool:
        """A draft exists in Klaviyo but the last try did not finish (its audience may be
        the old one): the next try completes it."""
        p = self.push
        return (
            p is not None
            and p.state == CampaignPush.State.FAILED
            and bool(p.klaviyo_campaign_id)
            and p.pushed_at is None
        )

    @property
    def refused_status(self) -> bool:
        p = self.push
        return self.in_klaviyo and bool(p.klaviyo_status) and not p.is_draft_there


def push_get(*, campaign_id: int) -> CampaignPush | None:
    push = (
        CampaignPush.objects.select_related("pushed_by", "attempted_by")
        .filter(campaign_id=campaign_id)
        .first()
    )
    if push is not None and push.is_stale:
        push.state = CampaignPush.State.FAILED
        push.error = push_services.STALE_ERROR
    return push


def push_panel_get(*, campaign_id: int) -> PushPanel:
    """Raises Campaign.DoesNotExist."""
    campaign = campaign_get(campaign_id)
    push = push_get(campaign_id=campaign_id)
    panel = PushPanel(campaign=campaign, push=push, connected=connection_get().connected)
    if not panel.sends_with_klaviyo:
        return panel
    panel.send_problems = push_services.push_problems(
        campaign=campaign, push=push, action=CampaignPush.Action.CREATE
    )
    if push is not None and push.in_klaviyo:
        payload = push_services.payload_for(campaign, push.marker)
        panel.in_step = (
            payload.inclusion_fingerprint == push.inclusion_fingerprint
            and payload.exclusion_fingerprint == push.exclusion_fingerprint
            and payload.included == sorted(push.sent_included)
            and payload.excluded == sorted(push.sent_excluded)
        )
        panel.update_problems = push_services.push_problems(
            campaign=campaign, push=push, action=CampaignPush.Action.UPDATE
        )
    return panel
