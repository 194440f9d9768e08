"""The Segments tab's table row, rendered in Python.

A page shows 50 rows; through the template engine each row cost ~0.25 ms (some 30 variable
lookups, escapes and localisations), more than the search query itself. Values are escaped
with the standard library's html.escape (the same entities as Django's escape, without its
lazy-string overhead). The row stays a partial of segments/list.html (`#segment-row`), which
calls this tag, so htmx swaps work as for any other region.
"""

from html import escape

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.safestring import SafeString, mark_safe

from segments.models import Segment

register = template.Library()

_DASH = mark_safe('<span class="muted">—</span>')  # fixed markup, no input
_ACTIVE = mark_safe('<span class="badge badge-green">Active</span>')  # fixed markup, no input
_INACTIVE = mark_safe('<span class="badge badge-gray">Inactive</span>')  # fixed markup, no input
_NOT_USED = mark_safe('<span class="muted">Not used</span>')  # fixed markup, no input


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def segment_row_html(segment: Segment, *, can_change: bool, can_delete: bool) -> SafeString:
    """One <tr> of the segments table. `segment.url` is its detail URL (see views).

    Every value from the database goes through escape(); the rest is constant markup.
    """
    name = escape(segment.name)
    url = escape(segment.url)
    updated = timezone.localtime(segment.updated_at)
    missing = ""
    if segment.klaviyo_missing_since:
        since = format_date(timezone.localtime(segment.klaviyo_missing_since), "j M Y")
        missing = (
            ' <span class="badge badge-amber" title="The last Klaviyo sync did not find it">'
            f"Not in Klaviyo since {escape(since)}</span>"
        )
    audiences = getattr(segment, "audience_count", 0)
    campaigns = getattr(segment, "campaign_count", 0)
    if audiences or campaigns:
        parts = [_plural(n, word) for n, word in ((audiences, "audience"), (campaigns, "campaign"))]
        usage = f'<a href="{url}#usage">{", ".join(p for p in parts if not p.startswith("0 "))}</a>'
    else:
        usage = _NOT_USED
    external_id = f"<code>{escape(segment.external_id)}</code>" if segment.external_id else _DASH
    if link := segment.safe_link:
        link_html = (
            f'<a href="{escape(link)}" target="_blank" rel="noopener noreferrer">Open'
            f'<span class="visually-hidden"> {name} (new tab)</span> ↗</a>'
        )
    else:
        link_html = _DASH
    check = actions = ""
    if can_change:
        check = (
            f'<td class="check"><input type="checkbox" name="segment" value="{segment.pk}" '
            f'form="bulk-form" aria-label="Select {name}"></td>'
        )
        value, verb = ("0", "inactive") if segment.is_active else ("1", "active")
        actions = (
            f'<button type="submit" class="button button-small" form="bulk-form" '
            f'formaction="{url}active/" name="active" value="{value}" hx-post="{url}active/" '
            f'hx-vals=\'{{"active": "{value}"}}\' hx-target="closest tr" '
            f'hx-swap="outerHTML" aria-label="Make {name} {verb}">Make {verb}</button> '
            f'<a class="button button-small button-ghost" href="{url}edit/" '
            f'aria-label="Edit {name}">Edit</a>'
        )
    if can_delete:
        actions += (
            f' <a class="button button-small button-ghost" href="{url}delete/" '
            f'aria-label="Delete {name}">Delete</a>'
        )
    inactive = "" if segment.is_active else ' class="is-inactive"'
    status = _ACTIVE if segment.is_active else _INACTIVE
    return mark_safe(  # noqa: S308 - every interpolated value above is escaped
        f'<tr id="segment-{segment.pk}"{inactive}>{check}'
        f'<td class="cell-name"><a href="{url}">{name}</a>{missing}</td>'
        f'<td class="cell-id">{external_id}</td>'
        f'<td class="hide-narrow">{link_html}</td>'
        f"<td>{status}</td>"
        f'<td class="hide-narrow">{escape(segment.get_source_display())}</td>'
        f'<td class="cell-usage">{usage}</td>'
        f'<td class="nowrap"><time datetime="{updated.isoformat()}" '
        f'title="{escape(format_date(updated, "j M Y, H:i"))}">'
        f"{escape(format_date(updated, 'j M Y'))}</time></td>"
        f'<td class="cell-actions">{actions}</td></tr>'
    )


@register.simple_tag(takes_context=True)
def segment_row(context, segment: Segment) -> SafeString:
    return segment_row_html(
        segment,
        can_change=bool(context.get("can_change")),
        can_delete=bool(context.get("can_delete")),
    )
