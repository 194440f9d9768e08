"""The home page's reads: the start of a marketer's day, each part behind its view permission.

Every part is a bounded read (a limit, an index, or an existence check per channel): the page
runs the same number of queries whatever the number of segments, audiences, campaigns or runs.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from audiences.models import Audience
from audiences.selectors import audience_flagged_list
from campaigns.models import Campaign
from campaigns.selectors import campaign_flagged_list, campaign_upcoming_list
from channels_app.models import Channel
from channels_app.selectors import channel_overview_list
from integrations.klaviyo.models import SyncRun
from integrations.klaviyo.selectors import sync_run_failed_list, sync_run_recent_list
from integrations.uploads.models import Upload
from integrations.uploads.selectors import upload_failed_list, upload_recent_list

UPCOMING_DAYS = 7
# The week's list stops here; past it the page points to the campaign list for the rest.
UPCOMING_LIMIT = 50
# How far back a failed sync or upload still asks for attention.
FAILED_WITHIN = timedelta(days=7)
# Whoever holds none of these (a user in no group) sees no channel's data on the home page.
VIEW_PERMISSIONS = (
    "channels_app.view_channel",
    "campaigns.view_campaign",
    "audiences.view_audience",
    "klaviyo.view_syncrun",
    "uploads.view_upload",
)


@dataclass
class ChannelWeek:
    channel: Channel
    campaigns: list[Campaign]


@dataclass
class StartOfDay:
    now: datetime
    overview: list[Channel] = field(default_factory=list)
    upcoming: list[ChannelWeek] = field(default_factory=list)
    upcoming_count: int = 0
    flagged_campaigns: list[Campaign] = field(default_factory=list)
    flagged_audiences: list[Audience] = field(default_factory=list)
    failed_syncs: list[SyncRun] = field(default_factory=list)
    failed_uploads: list[Upload] = field(default_factory=list)
    recent_syncs: list[SyncRun] = field(default_factory=list)
    recent_uploads: list[Upload] = field(default_factory=list)
    can_see_anything: bool = False

    @property
    def has_data(self) -> bool:
        """Anything to plan or look at: before that, the channels' next steps are the page."""
        return bool(
            any(channel.has_segments for channel in self.overview)
            or self.upcoming
            or self.attention_count
            or self.recent_syncs
            or self.recent_uploads
        )

    @property
    def week_end(self) -> datetime:
        return self.now + timedelta(days=UPCOMING_DAYS)

    @property
    def upcoming_is_cut(self) -> bool:
        return self.upcoming_count >= UPCOMING_LIMIT

    @property
    def attention_count(self) -> int:
        return (
            len(self.flagged_campaigns)
            + len(self.flagged_audiences)
            + len(self.failed_syncs)
            + len(self.failed_uploads)
        )


def _by_channel(campaigns: list[Campaign], channels: list[Channel]) -> list[ChannelWeek]:
    """Campaigns grouped by channel, channels in the navigation's order."""
    order = {channel.pk: i for i, channel in enumerate(channels)}
    groups: dict[int, ChannelWeek] = {}
    for campaign in campaigns:
        week = groups.setdefault(campaign.channel_id, ChannelWeek(campaign.channel, []))
        week.campaigns.append(campaign)
    return sorted(groups.values(), key=lambda week: order.get(week.channel.pk, len(order)))


def start_of_day(user, *, now: datetime | None = None) -> StartOfDay:
    """What `user` may see of the week ahead, what needs attention and the latest runs."""
    now = now or timezone.now()
    day = StartOfDay(now=now)
    if user.has_perm("channels_app.view_channel"):
        day.overview = list(channel_overview_list())
    if user.has_perm("campaigns.view_campaign"):
        upcoming = campaign_upcoming_list(now=now, days=UPCOMING_DAYS, limit=UPCOMING_LIMIT)
        day.upcoming = _by_channel(upcoming, day.overview)
        day.upcoming_count = len(upcoming)
        day.flagged_campaigns = campaign_flagged_list(now=now)
    if user.has_perm("audiences.view_audience"):
        day.flagged_audiences = audience_flagged_list()
    if user.has_perm("klaviyo.view_syncrun"):
        day.recent_syncs = sync_run_recent_list()
        day.failed_syncs = sync_run_failed_list(since=now - FAILED_WITHIN)
    if user.has_perm("uploads.view_upload"):
        day.recent_uploads = upload_recent_list()
        day.failed_uploads = upload_failed_list(since=now - FAILED_WITHIN)
    day.can_see_anything = any(user.has_perm(perm) for perm in VIEW_PERMISSIONS)
    return day
