"""The picker's widget: reads its inputs from a request and renders segments/picker.html."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.template.loader import render_to_string

from access_audience.params import clean_search, parse_int
from segments.picker.inputs import PARTS
from segments.picker.state import PAGE_SIZE, picker_state

if TYPE_CHECKING:
    from segments.picker.field import SegmentPickerField


class SegmentPickerWidget(forms.Widget):
    """Renders the picker; its value is a dict of raw ids and the search state."""

    template = "segments/picker.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.picker_field: SegmentPickerField | None = None

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None) or (lambda key: data.get(key, []))
        limit = parse_int(data.get(f"{name}-limit"), default=PAGE_SIZE)
        value = {part: list(getlist(f"{name}-{part}")) for part in PARTS}
        value["q"] = clean_search(data.get(f"{name}-q"), max_length=200)
        value["limit"] = limit
        value["search"] = bool(data.get(f"{name}-search") or data.get(f"{name}-limit"))
        restore = str(data.get(f"{name}-restore", ""))
        if restore:
            # "Restore" without JavaScript: put the pre-filled segment back as it came, and
            # show the form again rather than saving it.
            for base, part in (("base_include", "include"), ("base_exclude", "exclude")):
                if restore in value[base] and restore not in value[part]:
                    value[part].append(restore)
            value["search"] = True
        return value

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
