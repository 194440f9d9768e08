"""Dates in tables of many rows."""

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import template_localtime

register = template.Library()


@register.simple_tag
def day_stamp(value) -> str:
    """A <time> showing the day, with the date, time and zone in its title and the ISO form
    as its `datetime`: what `|date:"c"`, `|date:"DATETIME_FORMAT"` and `|date:"DATE_FORMAT"`
    give, from one conversion to the current time zone (a Segments tab row has one)."""
    if value is None:
        return ""
    local = template_localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(),
        date_format(local, "DATETIME_FORMAT"),
        date_format(local, "DATE_FORMAT"),
    )
