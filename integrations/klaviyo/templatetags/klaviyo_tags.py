from django import template

register = template.Library()


@register.inclusion_tag("klaviyo/segments_sync_panel.html", takes_context=True)
def klaviyo_sync_panel(context, channel):
    """The Klaviyo sync control shown on a channel's Segments tab."""
    return {"channel": channel, "request": context.get("request"), "perms": context.get("perms")}
