"""The segment picker: choose a channel's segments to include or exclude.

One component, used unchanged by the audience form and the campaign form. It is a Django form
field (`SegmentPickerField`) whose widget renders `templates/audiences/picker.html`, plus a
search endpoint (`audiences:picker_search`) and `static/js/picker.js`.

Embedding it in a form
----------------------

    from audiences.picker import PickerValue, SegmentPickerField

    class CampaignForm(forms.Form):
        segments = SegmentPickerField(label="Segments")

        def __init__(self, *args, channel, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["segments"].configure(
                channel=channel,                    # whose segments; re-render for another one
                require_inclusion=False,            # audiences say True
                keep_inactive_ids=existing_ids,     # inactive segments already saved: allowed
                base_include_ids=audience_inc_ids,  # optional: what came pre-filled ...
                base_exclude_ids=audience_exc_ids,  # ... rows say "pre-filled/added/removed";
                                                    # None = keep the base posted back
                labels={"base": "from audience"},   # optional wording of those badges
                marks={segment_id: ("css-class", "Label")},  # optional extra badge per segment
            )

    # pre-fill: initial={"segments": PickerValue.from_ids(include=[1, 2], exclude=[3])}
    # template (the page loads the assets in {% block head %}):
    #   <link rel="stylesheet" href="{% static 'css/picker.css' %}">
    #   <script src="{% static 'js/picker.js' %}" defer></script>
    #   <fieldset><legend>Segments</legend>
    #     {% for error in form.segments.errors %}<p class="error">{{ error }}</p>{% endfor %}
    #     {{ form.segments }}
    #   </fieldset>

Inputs (POST/GET names, `<name>` being the field's html name, e.g. "segments"):
    <name>-include / <name>-exclude   segment ids, repeated (checkboxes)
    <name>-base_include / -base_exclude  the pre-filled ids (hidden; travel with searches)
    <name>-q                          the search text
    <name>-search                     the "Search" submit button (no JavaScript)
    <name>-limit                      the "Show more" submit button (no JavaScript)

Output: `form.cleaned_data["segments"]` is a `PickerValue` with `include` and `exclude` lists of
`Segment` (validated: all of the channel, none both included and excluded, no inactive segment
newly added, at least one inclusion when `require_inclusion`), `include_ids`/`exclude_ids`, and
`added_include`/`added_exclude`/`removed_include`/`removed_exclude` against the base ids.

Switching channel: bind the form to `picker_keep_channel(request.POST, name="segments",
channel=new_channel)` to drop the old channel's segments (it returns the dropped ones to name
in a message), then `configure(channel=new_channel)`. Unknown or foreign ids are never rendered.

No-JavaScript search: the "Search" and "Show more" buttons submit the whole form back to the same
URL. The view asks `picker_search_requested(form)` and, if so, re-renders the bound form without
validating it (`form_without_errors(form)`), so nothing typed is lost. A form that embeds the
picker should put a hidden default submit button first (see audiences/form.html) so that Enter
in another field saves rather than searches.

Events (dispatched on the `.picker` element, bubbling):
    picker:change   detail {name, include: [ids], exclude: [ids]} after any mark changes.
The picker listens to nothing: to switch channel or pre-fill it, re-render the form region on
the server (htmx) with the new `configure(...)`; picker.js works by event delegation, so swapped
pickers need no set-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from channels_app.models import Channel
from segments.models import Segment
from segments.selectors import segment_search

PAGE_SIZE = 20
MAX_LIMIT = 200
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
DEFAULT_LABELS = {"base": "pre-filled", "added": "added", "removed": "removed"}


def _ids(values: Iterable) -> tuple[list[int], bool]:
    """Positive integer ids from raw values, in order, without repeats; and whether any was bad."""
    out: list[int] = []
    bad = False
    for value in values:
        if isinstance(value, Segment):
            value = value.pk
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            bad = True
            continue
        if number <= 0:
            bad = True
        elif number not in out:
            out.append(number)
    return out, bad


@dataclass
class PickerValue:
    """What the picker holds: ordered inclusion and exclusion segments (or bare ids)."""

    include: list = field(default_factory=list)
    exclude: list = field(default_factory=list)
    base_include_ids: list[int] = field(default_factory=list)
    base_exclude_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_ids(cls, *, include: Iterable = (), exclude: Iterable = ()) -> PickerValue:
        return cls(include=_ids(include)[0], exclude=_ids(exclude)[0])

    @property
    def include_ids(self) -> list[int]:
        return _ids(self.include)[0]

    @property
    def exclude_ids(self) -> list[int]:
        return _ids(self.exclude)[0]

    @property
    def added_include(self) -> list:
        return [s for s in self.include if _pk(s) not in self.base_include_ids]

    @property
    def added_exclude(self) -> list:
        return [s for s in self.exclude if _pk(s) not in self.base_exclude_ids]

    @property
    def removed_include(self) -> list[int]:
        return [i for i in self.base_include_ids if i not in self.include_ids]

    @property
    def removed_exclude(self) -> list[int]:
        return [i for i in self.base_exclude_ids if i not in self.exclude_ids]


def _pk(value) -> int:
    return value.pk if isinstance(value, Segment) else int(value)


@dataclass
class PickerRow:
    segment: Segment
    state: str  # "include", "exclude" or ""
    css: str = ""
    labels: list[str] = field(default_factory=list)


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

    @property
    def dom_id(self) -> str:
        return f"picker-{self.name}"

    @property
    def include_count(self) -> int:
        return sum(1 for r in self.selected if r.state == "include")

    @property
    def exclude_count(self) -> int:
        return sum(1 for r in self.selected if r.state == "exclude")

    next_offset: int = 0

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
    include = _ids(include_ids)[0]
    exclude = [i for i in _ids(exclude_ids)[0] if i not in include]
    base_include = _ids(base_include_ids)[0]
    base_exclude = _ids(base_exclude_ids)[0]
    labels = {**DEFAULT_LABELS, **(labels or {})}
    marks = marks or {}
    annotate = {
        "base_include": base_include,
        "base_exclude": base_exclude,
        "labels": labels,
        "marks": marks,
    }
    selected_ids = include + exclude
    selected: list[PickerRow] = []
    if with_selected and selected_ids:
        # Only this channel's segments: a forged id of another channel is never shown.
        found = {s.pk: s for s in Segment.objects.filter(channel=channel, pk__in=selected_ids)}
        rows = [PickerRow(found[i], "include") for i in include if i in found]
        rows += [PickerRow(found[i], "exclude") for i in exclude if i in found]
        rows.sort(key=lambda r: (r.state != "include", r.segment.name.lower(), r.segment.pk))
        selected = [_annotate(r, **annotate) for r in rows]
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    qs = segment_search(channel=channel, query=query, status="active")
    if selected_ids:
        qs = qs.exclude(pk__in=selected_ids)
    query = query.strip()
    page = list(qs[offset : offset + limit + 1])
    has_more = len(page) > limit
    results = [_annotate(PickerRow(s, ""), **annotate) for s in page[:limit]]
    return PickerState(
        name=name,
        channel=channel,
        selected=selected,
        results=results,
        query=query,
        offset=offset,
        limit=limit,
        has_more=has_more,
        next_offset=offset + len(page[:limit]),
        base_include_ids=base_include,
        base_exclude_ids=base_exclude,
        search_url=reverse("audiences:picker_search", args=[channel.slug]),
        errors=list(errors),
    )


def picker_state_from_query(*, channel: Channel, params) -> PickerState:
    """The state the search endpoint renders, from the picker's own inputs (a QueryDict)."""
    name = params.get("field", "segments")
    if not NAME_RE.match(name):
        name = "segments"
    try:
        offset = int(params.get("offset", 0))
    except (TypeError, ValueError):
        offset = 0
    return picker_state(
        name=name,
        channel=channel,
        include_ids=_ids(params.getlist(f"{name}-include"))[0],
        exclude_ids=_ids(params.getlist(f"{name}-exclude"))[0],
        base_include_ids=_ids(params.getlist(f"{name}-base_include"))[0],
        base_exclude_ids=_ids(params.getlist(f"{name}-base_exclude"))[0],
        query=params.get(f"{name}-q", "")[:200],
        offset=offset,
        with_selected=False,
    )


class SegmentPickerWidget(forms.Widget):
    """Renders the picker; its value is a dict of raw ids and the search state."""

    template = "audiences/picker.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.picker_field: SegmentPickerField | None = None

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None) or (lambda key: data.get(key, []))
        try:
            limit = int(data.get(f"{name}-limit", PAGE_SIZE))
        except (TypeError, ValueError):
            limit = PAGE_SIZE
        return {
            "include": list(getlist(f"{name}-include")),
            "exclude": list(getlist(f"{name}-exclude")),
            "base_include": list(getlist(f"{name}-base_include")),
            "base_exclude": list(getlist(f"{name}-base_exclude")),
            "q": str(data.get(f"{name}-q", ""))[:200],
            "limit": limit,
            "search": bool(data.get(f"{name}-search") or data.get(f"{name}-limit")),
        }

    def value_omitted_from_data(self, data, files, name):
        return False

    def format_value(self, value):
        return value

    def render(self, name, value, attrs=None, renderer=None):
        pf = self.picker_field
        if pf is None or pf.channel is None:
            raise ValueError("SegmentPickerField.configure(channel=...) was not called.")
        raw = pf.raw(value)
        base_include, base_exclude = pf.base_ids(raw)
        state = picker_state(
            name=name,
            channel=pf.channel,
            include_ids=raw["include"],
            exclude_ids=raw["exclude"],
            base_include_ids=base_include,
            base_exclude_ids=base_exclude,
            query=raw["q"],
            limit=raw["limit"],
            labels=pf.labels,
            marks=pf.marks,
        )
        return render_to_string(self.template, {"picker": state, "label": pf.label})


class SegmentPickerField(forms.Field):
    """A form field holding inclusion and exclusion segments of one channel (see module doc)."""

    widget = SegmentPickerWidget
    default_error_messages = {
        "invalid": "Some chosen segments could not be read. Choose them again.",
        "other_channel": "Only segments of the {channel} channel can be used. Not found there: "
        "{ids}.",
        "both": "A segment cannot be both included and excluded: {names}.",
        "inactive": "Inactive segments cannot be added: {names}.",
        "no_inclusion": "Choose at least one segment to include.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.picker_field = self
        self.channel: Channel | None = None
        self.require_inclusion = False
        self.keep_inactive_ids: set[int] = set()
        # None: not configured, the posted hidden inputs say; a list (even empty) wins.
        self.base_include_ids: list[int] | None = None
        self.base_exclude_ids: list[int] | None = None
        self.labels: dict[str, str] = {}
        self.marks: dict[int, tuple[str, str]] = {}

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.widget.picker_field = result
        return result

    def configure(
        self,
        *,
        channel: Channel,
        require_inclusion: bool = False,
        keep_inactive_ids: Iterable[int] = (),
        base_include_ids: Iterable[int] | None = None,
        base_exclude_ids: Iterable[int] | None = None,
        labels: Mapping[str, str] | None = None,
        marks: Mapping[int, tuple[str, str]] | None = None,
    ) -> None:
        """Set the channel and options; call it in the form's __init__.

        Base ids given here (even empty) replace the ones posted back by the picker, e.g. when
        the campaign form applies another audience; leave them None to keep the posted ones.
        """
        self.channel = channel
        self.require_inclusion = require_inclusion
        self.keep_inactive_ids = set(_ids(keep_inactive_ids)[0])
        if base_include_ids is not None or base_exclude_ids is not None:
            self.base_include_ids = _ids(base_include_ids or ())[0]
            self.base_exclude_ids = _ids(base_exclude_ids or ())[0]
        else:
            self.base_include_ids = self.base_exclude_ids = None
        self.labels = dict(labels or {})
        self.marks = dict(marks or {})

    def base_ids(self, raw: dict) -> tuple[list[int], list[int]]:
        """The pre-filled ids: configured ones if any, else those posted back."""
        if self.base_include_ids is not None:
            return self.base_include_ids, self.base_exclude_ids or []
        return _ids(raw["base_include"])[0], _ids(raw["base_exclude"])[0]

    def raw(self, value) -> dict:
        """Any accepted value (bound data dict, PickerValue, None) as a dict of raw ids."""
        if isinstance(value, PickerValue):
            return {
                "include": value.include_ids,
                "exclude": value.exclude_ids,
                "base_include": value.base_include_ids,
                "base_exclude": value.base_exclude_ids,
                "q": "",
                "limit": PAGE_SIZE,
                "search": False,
            }
        if isinstance(value, Mapping):
            return {
                "include": list(value.get("include", [])),
                "exclude": list(value.get("exclude", [])),
                "base_include": list(value.get("base_include", [])),
                "base_exclude": list(value.get("base_exclude", [])),
                "q": value.get("q", ""),
                "limit": value.get("limit", PAGE_SIZE),
                "search": value.get("search", False),
            }
        return {
            "include": [],
            "exclude": [],
            "base_include": [],
            "base_exclude": [],
            "q": "",
            "limit": PAGE_SIZE,
            "search": False,
        }

    def has_changed(self, initial, data) -> bool:
        a, b = self.raw(initial), self.raw(data)
        return (_ids(a["include"])[0], _ids(a["exclude"])[0]) != (
            _ids(b["include"])[0],
            _ids(b["exclude"])[0],
        )

    def clean(self, value) -> PickerValue:
        raw = self.raw(value)
        include, bad_include = _ids(raw["include"])
        exclude, bad_exclude = _ids(raw["exclude"])
        base_include, base_exclude = self.base_ids(raw)
        if bad_include or bad_exclude:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        found = {
            s.pk: s for s in Segment.objects.filter(channel=self.channel, pk__in=include + exclude)
        }
        missing = [i for i in include + exclude if i not in found]
        if missing:
            raise ValidationError(
                self.error_messages["other_channel"].format(
                    channel=self.channel.name, ids=", ".join(map(str, missing))
                ),
                code="other_channel",
            )
        errors = []
        both = [found[i].name for i in include if i in exclude]
        if both:
            errors.append(
                ValidationError(
                    self.error_messages["both"].format(names=", ".join(both)), code="both"
                )
            )
        inactive = [
            found[i].name
            for i in include + exclude
            if not found[i].is_active and i not in self.keep_inactive_ids
        ]
        if inactive:
            errors.append(
                ValidationError(
                    self.error_messages["inactive"].format(names=", ".join(inactive)),
                    code="inactive",
                )
            )
        if self.require_inclusion and not include:
            errors.append(ValidationError(self.error_messages["no_inclusion"], code="no_inclusion"))
        if errors:
            raise ValidationError(errors)
        return PickerValue(
            include=[found[i] for i in include],
            exclude=[found[i] for i in exclude],
            base_include_ids=base_include,
            base_exclude_ids=base_exclude,
        )


def picker_search_requested(form: forms.BaseForm) -> bool:
    """True when the form was submitted by a picker's Search or Show more button (no JS)."""
    if not form.is_bound:
        return False
    for name, fld in form.fields.items():
        if isinstance(fld, SegmentPickerField):
            raw = fld.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
            if raw["search"]:
                return True
    return False


def picker_keep_channel(data, *, name: str, channel: Channel) -> tuple:
    """A copy of `data` (a QueryDict) whose picker ids are only `channel`'s, and the dropped ones.

    For a form whose channel changed: call it before binding the form, then tell the user which
    segments were removed (`dropped` is a list of Segment, in name order). One query.
    """
    keys = [f"{name}-{part}" for part in ("include", "exclude", "base_include", "base_exclude")]
    ids = _ids(value for key in keys for value in data.getlist(key))[0]
    segments = Segment.objects.filter(pk__in=ids).only("pk", "name", "channel_id").order_by("name")
    keep = {s.pk for s in segments if s.channel_id == channel.pk}
    dropped = [s for s in segments if s.channel_id != channel.pk]
    data = data.copy()
    for key in keys:
        data.setlist(key, [str(i) for i in _ids(data.getlist(key))[0] if i in keep])
    return data, dropped


def form_without_errors(form: forms.BaseForm) -> forms.BaseForm:
    """The bound form, shown as typed but not validated (for a picker search round trip)."""
    form._errors = forms.utils.ErrorDict()
    form.cleaned_data = {}
    return form
