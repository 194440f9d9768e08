from django import template

from access_audience.text import with_article as _with_article

register = template.Library()


@register.filter
def with_article(value) -> str:
    """{{ channel.name|with_article }} → "an SMS" (escaped as usual by the template)."""
    return _with_article(str(value))
