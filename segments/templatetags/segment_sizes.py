"""How a segment's size reads: "12,340", "—" when unknown, "counted 9 days ago"."""

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def size_figure(size: int | None) -> str:
    """The figure with thousands separators ("12,340"), or "—" when unknown."""
    return "—" if size is None else f"{size:,}"


@register.filter
def counted_ago(counted_at: datetime | None, now: datetime) -> str:
    """ "counted today", "counted 1 day ago", "counted 9 days ago"."""
    if counted_at is None:
        return ""
    days = (now - counted_at).days
    if days < 1:
        return "counted today"
    return f"counted {days} day{'s' if days != 1 else ''} ago"
