from django.http import HttpRequest

from channels_app.selectors import channels_for_request


def navigation(request: HttpRequest) -> dict:
    """The channel switcher: every channel, and the one the current page belongs to."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        # Partials never render the navigation.
        return {}
    if not request.user.has_perm("channels_app.view_channel"):
        return {}  # a user in no group sees no channel, not even its name
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("channel_slug") if match else None
    channels = channels_for_request(request)
    current = next((c for c in channels if c.slug == slug), None)
    return {
        "nav_channels": channels,
        "current_channel": current,
        "current_channel_tab": match.namespace if (match and current) else "",
    }
