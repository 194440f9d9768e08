"""What the picker template shows: the selected rows, a page of results, and their marks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import template_localtime

from access_audience.params import DB_INT_MAX, parse_int
from channels_app.models import Channel
from segments.models import Segment
from segments.picker.inputs import ids
from segments.selectors import segment_picker_page, segments_by_id
from segments.templatetags.segment_sizes import size_figure

PAGE_SIZE = 20
MAX_LIMIT = 200
# The furthest a "Show more" may start: offset + limit + 1 must stay a database integer.
MAX_OFFSET = DB_INT_MAX - MAX_LIMIT - 1
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
DEFAULT_LABELS = {"base": "pre-filled", "added": "added", "removed": "removed"}


@dataclass
class PickerRow:
    segment: Segment
    state: str  # "include", "exclude" or ""
    css: str = ""
    labels: list[str] = field(default_factory=list)
    # Another shown row has the same name: the row also says what tells them apart.
    twin: bool = False
    base: str = ""  # "include" or "exclude" when the segment came pre-filled, else ""

    @property
    def meta_text(self) -> str:
        return self._meta[0]

    @property
    def meta_title(self) -> str:
        return self._meta[1]

    @cached_property
    def _meta(self) -> tuple[str, str]:
        """What the row says under its name, and that line's title: whether it is a Klaviyo
        list or segment, what tells it from a same-named row, and its size ("Klaviyo list ·
        2,500 contacts", "Klaviyo, counted 1 Dec 2026")."""
        segment = self.segment
        parts = [segment.get_kind_display()] if segment.kind else []
        if self.twin:
            no_id = "" if segment.external_id else "no Segment ID · "
            added = date_format(template_localtime(segment.created_at), "DATE_FORMAT")
            parts.append(f"{no_id}{segment.get_source_display()}, added {added}")
        if segment.size is None:
            parts.append("size unknown")
            return " · ".join(parts), "Size unknown"
        noun = "contact" if segment.size == 1 else "contacts"
        parts.append(f"{size_figure(segment.size)} {noun}")
        title = segment.get_size_source_display()
        if segment.size_counted_at is not None:
            counted = date_format(template_localtime(segment.size_counted_at), "DATE_FORMAT")
            title = f"{title}, counted {counted}"
        return " · ".join(parts), title

    @property
    def restorable(self) -> bool:
        """Pre-filled, then removed for this form: one click puts it back as it was."""
        return bool(self.base) and not self.state


@dataclass
class PickerState:
    """Everything the picker template needs (see picker_state)."""

    name: str
    channel: Channel
    selected: list[PickerRow]
    results: list[PickerRow]
    query: str
    offset: int
    limit: int
    has_more: bool
    base_include_ids: list[int]
    base_exclude_ids: list[int]
    search_url: str
    errors: list[str] = field(default_factory=list)
    next_offset: int = 0
    removed: list[PickerRow] = field(default_factory=list)
    base_label: str = DEFAULT_LABELS["base"]
    added_label: str = DEFAULT_LABELS["added"]
    removed_label: str = DEFAULT_LABELS["removed"]

    @property
    def dom_id(self) -> str:
        return f"picker-{self.name}"

    @property
    def include_count(self) -> int:
        return sum(1 for r in self.selected if r.state == "include")

    @property
    def exclude_count(self) -> int:
        return sum(1 for r in self.selected if r.state == "exclude")

    @property
    def next_limit(self) -> int:
        return min(self.limit + PAGE_SIZE, MAX_LIMIT)


def _annotate(
    row: PickerRow,
    *,
    base_include: list[int],
    base_exclude: list[int],
    labels: Mapping[str, str],
    marks: Mapping[int, tuple[str, str]],
) -> PickerRow:
    pk = row.segment.pk
    in_base = (pk in base_include and "include") or (pk in base_exclude and "exclude") or ""
    row.base = in_base
    css: list[str] = []
    if base_include or base_exclude:
        if in_base and row.state == in_base:
            css.append("picker-base")
            row.labels.append(labels["base"])
        elif row.state:
            css.append("picker-added")
            row.labels.append(labels["added"])
        elif in_base:
            css.append("picker-removed")
            row.labels.append(labels["removed"])
    if pk in marks:
        extra_css, extra_label = marks[pk]
        if extra_css:
            css.append(extra_css)
        if extra_label:
            row.labels.append(extra_label)
    row.css = " ".join(css)
    return row


def _mark_twins(rows: list[PickerRow]) -> None:
    """Rows whose name (case-insensitive) another shown row has. Results come in name order,
    so same-named segments are shown side by side; no query is needed."""
    seen: dict[str, int] = {}
    for row in rows:
        key = row.segment.name.strip().lower()
        seen[key] = seen.get(key, 0) + 1
    for row in rows:
        row.twin = seen[row.segment.name.strip().lower()] > 1


def picker_state(
    *,
    name: str,
    channel: Channel,
    include_ids: Iterable[int] = (),
    exclude_ids: Iterable[int] = (),
    base_include_ids: Iterable[int] = (),
    base_exclude_ids: Iterable[int] = (),
    query: str = "",
    offset: int = 0,
    limit: int = PAGE_SIZE,
    with_selected: bool = True,
    labels: Mapping[str, str] | None = None,
    marks: Mapping[int, tuple[str, str]] | None = None,
    errors: Iterable[str] = (),
) -> PickerState:
    """The picker's rows: the selected segments (1 query), a page of results (1, or 2 with a query).

    Results are the channel's active segments matching `query`, minus the selected ones, so a
    channel with 50,000 segments renders `limit` rows, never all of them.
    """
    include = ids(include_ids)
    exclude = [i for i in ids(exclude_ids) if i not in include]
    base_include = ids(base_include_ids)
    base_exclude = ids(base_exclude_ids)
    annotate = {
        "base_include": base_include,
        "base_exclude": base_exclude,
        "labels": {**DEFAULT_LABELS, **(labels or {})},
        "marks": marks or {},
    }
    selected_ids = include + exclude
    # Pre-filled segments taken out for this form: listed struck through, to restore in a click.
    removed_ids = [i for i in base_include + base_exclude if i not in selected_ids]
    selected: list[PickerRow] = []
    removed: list[PickerRow] = []
    if with_selected and (selected_ids or removed_ids):
        # Only this channel's segments: a forged id of another channel is never shown.
        found = segments_by_id(ids=selected_ids + removed_ids, channel=channel)
        rows = [PickerRow(found[i], "include") for i in include if i in found]
        rows += [PickerRow(found[i], "exclude") for i in exclude if i in found]
        rows.sort(key=lambda r: (r.state != "include", r.segment.name.lower(), r.segment.pk))
        selected = [_annotate(r, **annotate) for r in rows]
        removed_rows = [PickerRow(found[i], "") for i in removed_ids if i in found]
        removed_rows.sort(key=lambda r: (r.segment.name.lower(), r.segment.pk))
        removed = [_annotate(r, **annotate) for r in removed_rows]
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, min(int(offset), MAX_OFFSET))
    page, has_more = segment_picker_page(
        channel=channel,
        query=query,
        exclude_ids=selected_ids + removed_ids,
        offset=offset,
        limit=limit,
    )
    results = [_annotate(PickerRow(s, ""), **annotate) for s in page]
    _mark_twins([*selected, *removed, *results])
    return PickerState(
        name=name,
        channel=channel,
        selected=selected,
        results=results,
        query=query.strip(),
        offset=offset,
        limit=limit,
        has_more=has_more,
        next_offset=offset + len(page),
        base_include_ids=base_include,
        base_exclude_ids=base_exclude,
        search_url=reverse("segments:picker_search", args=[channel.slug]),
        errors=list(errors),
        removed=removed,
        base_label=annotate["labels"]["base"],
        added_label=annotate["labels"]["added"],
        removed_label=annotate["labels"]["removed"],
    )


def picker_state_from_query(*, channel: Channel, params) -> PickerState:
    """The state the search endpoint renders, from the picker's own inputs (a QueryDict)."""
    name = params.get("field", "segments")
    if not NAME_RE.match(name):
        name = "segments"
    offset = parse_int(params.get("offset"), default=0, min_value=0, max_value=MAX_OFFSET)
    return picker_state(
        name=name,
        channel=channel,
        include_ids=params.getlist(f"{name}-include"),
        exclude_ids=params.getlist(f"{name}-exclude"),
        base_include_ids=params.getlist(f"{name}-base_include"),
        base_exclude_ids=params.getlist(f"{name}-base_exclude"),
        query=params.get(f"{name}-q", "")[:200],
        offset=offset,
        with_selected=False,
    )
