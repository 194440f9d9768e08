from django import template

from integrations.klaviyo.views import sync_panel_context

register = template.Library()


@register.inclusion_tag("klaviyo/segments_sync_panel.html", takes_context=True)
def klaviyo_sync_panel(context, channel):
    """The Klaviyo sync control shown on a channel's Segments tab (two queries at most)."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.has_perm("klaviyo.view_syncrun"):
        return {"hidden": True}
    return {**sync_panel_context(channel=channel, user=user), "request": request}
