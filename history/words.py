"""Changes in words: "Exclusions: removed Unsubscribed 90d", "Name: VIP → VIP buyers"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.utils import formats
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, localtime, make_aware

if TYPE_CHECKING:
    from history.models import Change

LABELS = {
    "name": "Name",
    "estimated_volume": "Estimated volume",
    "inclusions": "Inclusions",
    "exclusions": "Exclusions",
    "status": "Status",
    "send_at": "Send time",
    "audience": "Audience applied",
    "notes": "Notes",
    "link": "Link",
    "channel": "Channel",
    "external_id": "Segment ID",
    "is_active": "Active",
    "size": "Size",
    "kind": "Kind",
    "klaviyo_missing_since": "Not in Klaviyo since",
    "klaviyo": "Klaviyo",
}
ORDER = {field: n for n, field in enumerate(LABELS)}
# Fields whose value is a list of [id, name] (segment sets).
SET_FIELDS = frozenset({"inclusions", "exclusions"})
# Fields whose value is [id, name] (one related object).
REF_FIELDS = frozenset({"audience", "channel"})
DATE_FIELDS = frozenset({"send_at", "klaviyo_missing_since"})
LONG = 80


def label(field: str) -> str:
    return LABELS.get(field) or field.replace("_", " ").capitalize()


def value_words(field: str, value) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field in REF_FIELDS and isinstance(value, list):
        return str(value[1]) if len(value) > 1 else str(value[0])
    if field in DATE_FIELDS and isinstance(value, str):
        moment = parse_datetime(value)
        if isinstance(moment, datetime):
            if is_naive(moment):  # SQLite keeps UTC without an offset
                moment = make_aware(moment, UTC)
            return formats.date_format(localtime(moment), "DATETIME_FORMAT")
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value)
    return text if len(text) <= LONG else text[: LONG - 1] + "…"


def _names(items) -> list[str]:
    return [str(item[1]) for item in items]


def set_words(old, new) -> str:
    before = {item[0]: item for item in old or []}
    after = {item[0]: item for item in new or []}
    parts = []
    added = [after[k] for k in after if k not in before]
    removed = [before[k] for k in before if k not in after]
    if added:
        parts.append("added " + ", ".join(_names(added)))
    if removed:
        parts.append("removed " + ", ".join(_names(removed)))
    return "; ".join(parts) or "no change"


def describe(change: Change) -> list[str]:
    """One line per changed field, in the order of LABELS (PostgreSQL's jsonb keeps no order)."""
    lines = []
    changes = change.changes or {}
    for field in sorted(changes, key=lambda f: (ORDER.get(f, len(ORDER)), f)):
        pair = changes[field]
        old, new = pair
        if field in SET_FIELDS:
            lines.append(f"{label(field)}: {set_words(old, new)}")
        elif old is None and change.action == "created":
            if new not in (None, "", []):
                lines.append(f"{label(field)}: {value_words(field, new)}")
        else:
            lines.append(f"{label(field)}: {value_words(field, old)} → {value_words(field, new)}")
    return lines


def fields_key(changes: dict) -> str:
    """The value of Change.fields for a changes dict."""
    return f",{','.join(changes)}," if changes else ""


def when_and_who(change: Change) -> str:
    """ "1 Dec 2026, 13:00 by alice": which save a restore went back to."""
    when = formats.date_format(localtime(change.at), "DATETIME_FORMAT")
    return f"{when} by {change.who}"
