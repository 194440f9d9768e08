"""Model factories for tests. Keyword arguments override any field."""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audiences.models import Audience
from campaigns.models import Campaign
from channels_app.models import Channel
from channels_app.roles import MARKETER, VIEWER, sync_roles

_seq = itertools.count(1)

DEFAULT_CHANNELS = [("email", "Email", 10), ("sms", "SMS", 20), ("meta", "Meta", 30)]
# The Klaviyo message type the data migration gives each default channel.
DEFAULT_MESSAGE_TYPES = {"email": "email", "sms": "sms", "meta": "none"}
# As the data migration channels_app 0004 sets them.
QUIET_WINDOWS = {"email": 16, "sms": 24, "meta": 16}
PASSWORD = "correct horse battery staple"


def ensure_default_channels() -> dict[str, Channel]:
    """The channels the data migration creates (transactional tests flush them)."""
    return {
        slug: Channel.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "position": pos,
                "klaviyo_message_type": DEFAULT_MESSAGE_TYPES[slug],
                "quiet_window_hours": QUIET_WINDOWS[slug],
            },
        )[0]
        for slug, name, pos in DEFAULT_CHANNELS
    }


def make_user(username: str | None = None, *, role: str | None = None, **fields):
    from django.apps import apps

    username = username or f"user{next(_seq)}"
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)
    if role:
        sync_roles(apps)
        user.groups.add(Group.objects.get(name=role))
    return user


def make_marketer(username: str = "marketer", **fields):
    return make_user(username, role=MARKETER, **fields)


def make_viewer(username: str = "viewer", **fields):
    return make_user(username, role=VIEWER, **fields)


def make_channel(**fields) -> Channel:
    n = next(_seq)
    fields.setdefault("slug", f"channel-{n}")
    fields.setdefault("name", f"Channel {n}")
    return Channel.objects.create(**fields)


def make_segment(channel: Channel, **fields):
    from segments.models import Segment

    n = next(_seq)
    fields.setdefault("name", f"Segment {n}")
    return Segment.objects.create(channel=channel, **fields)


def make_audience(channel: Channel, *, include=(), exclude=(), **fields) -> Audience:
    n = next(_seq)
    fields.setdefault("name", f"Audience {n}")
    audience = Audience.objects.create(channel=channel, **fields)
    audience.inclusion_segments.set(include)
    audience.exclusion_segments.set(exclude)
    return audience


def make_campaign(channel: Channel, *, include=(), exclude=(), **fields) -> Campaign:
    n = next(_seq)
    fields.setdefault("name", f"Campaign {n}")
    campaign = Campaign.objects.create(channel=channel, **fields)
    campaign.inclusion_segments.set(include)
    campaign.exclusion_segments.set(exclude)
    return campaign
