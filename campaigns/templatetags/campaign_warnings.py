"""The short form of campaign warnings, for pages that show them for many campaigns at once.

The campaign list shows up to two warnings on each of its 50 rows and the calendar those of 20
campaigns: as template markup that was a fifth of the list's time, so the fragment is built
here, escaped by format_html. The full form, with every segment linked, is
campaigns/_warnings.html.
"""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()

_COLLISION = (
    '<li class="campaign-warning campaign-warning-collision">'
    '<span class="warning-mark" aria-hidden="true">⚠</span> <span><strong>Collides with '
    '<a href="{}">{}</a></strong> <span class="muted">({}, {})</span>: both include {}.</span></li>'
)
_UNUSABLE = (
    '<li class="campaign-warning campaign-warning-unusable">'
    '<span class="warning-mark" aria-hidden="true">⚠</span> <span><strong>Unusable segments'
    "</strong>: {}.</span></li>"
)


@register.simple_tag
def compact_warnings(warnings, more: int = 0, more_url: str = "") -> str:
    """`warnings` as a short list: the campaign each collides with, linked by its `other_url`
    (set by the view), and the segments named; then a link to `more_url`'s warnings when
    `more` of them are not shown."""
    if not warnings:
        return ""
    items = format_html_join(
        "",
        "{}",
        (
            (
                format_html(
                    _COLLISION,
                    w.other_url,
                    w.other.name,
                    w.other.status_label,
                    w.apart_words,
                    w.segment_names,
                )
                if w.other
                else format_html(_UNUSABLE, w.segment_reasons),
            )
            for w in warnings
        ),
    )
    if more:
        noun = "warning" if more == 1 else "warnings"
        items += format_html(
            '<li class="campaign-warning-more"><a href="{}#warnings">{} more {}</a></li>',
            more_url,
            more,
            noun,
        )
    return format_html(
        '<ul class="campaign-warnings campaign-warnings-compact" role="list">{}</ul>', items
    )
