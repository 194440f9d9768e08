"""The picker as a form field, and what a form embedding it needs for a search round trip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict

from channels_app.models import Channel
from segments.models import Segment
from segments.picker.inputs import PARTS, ids, parse_ids
from segments.picker.state import PAGE_SIZE
from segments.picker.widget import SegmentPickerWidget
from segments.selection import segment_selection_check
from segments.selectors import segments_by_id


def _pk(value) -> int:
    return value.pk if isinstance(value, Segment) else int(value)


@dataclass
class PickerValue:
    """What the picker holds: ordered inclusion and exclusion segments (or bare ids)."""

    include: list = field(default_factory=list)
    exclude: list = field(default_factory=list)
    base_include_ids: list[int] = field(default_factory=list)
    base_exclude_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_ids(cls, *, include: Iterable = (), exclude: Iterable = ()) -> PickerValue:
        return cls(include=ids(include), exclude=ids(exclude))

    @property
    def include_ids(self) -> list[int]:
        return ids(self.include)

    @property
    def exclude_ids(self) -> list[int]:
        return ids(self.exclude)

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


class SegmentPickerField(forms.Field):
    """A form field holding inclusion and exclusion segments of one channel (see package doc)."""

    widget = SegmentPickerWidget
    default_error_messages = {
        "invalid": "Some chosen segments could not be read. Choose them again.",
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
        self.keep_inactive_ids = set(ids(keep_inactive_ids))
        if base_include_ids is not None or base_exclude_ids is not None:
            self.base_include_ids = ids(base_include_ids or ())
            self.base_exclude_ids = ids(base_exclude_ids or ())
        else:
            self.base_include_ids = self.base_exclude_ids = None
        self.labels = dict(labels or {})
        self.marks = dict(marks or {})

    def base_ids(self, raw: dict) -> tuple[list[int], list[int]]:
        """The pre-filled ids: configured ones if any, else those posted back."""
        if self.base_include_ids is not None:
            return self.base_include_ids, self.base_exclude_ids or []
        return ids(raw["base_include"]), ids(raw["base_exclude"])

    def raw(self, value) -> dict:
        """Any accepted value (bound data dict, PickerValue, None) as a dict of raw ids."""
        raw = {part: [] for part in PARTS} | {"q": "", "limit": PAGE_SIZE, "search": False}
        if isinstance(value, PickerValue):
            raw |= {
                "include": value.include_ids,
                "exclude": value.exclude_ids,
                "base_include": value.base_include_ids,
                "base_exclude": value.base_exclude_ids,
            }
        elif isinstance(value, Mapping):
            raw |= {part: list(value.get(part, [])) for part in PARTS}
            raw |= {key: value[key] for key in ("q", "limit", "search") if key in value}
        return raw

    def ids(self, value) -> tuple[list[int], list[int]]:
        """The readable inclusion and exclusion ids of any accepted value."""
        raw = self.raw(value)
        return ids(raw["include"]), ids(raw["exclude"])

    def has_changed(self, initial, data) -> bool:
        return self.ids(initial) != self.ids(data)

    def clean(self, value) -> PickerValue:
        raw = self.raw(value)
        include, bad_include = parse_ids(raw["include"])
        exclude, bad_exclude = parse_ids(raw["exclude"])
        if bad_include or bad_exclude:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        selection = segment_selection_check(
            channel=self.channel,
            include_ids=include,
            exclude_ids=exclude,
            # Read in the picker's channel only: a forged id of another is refused unnamed.
            segments=segments_by_id(ids=include + exclude, channel=self.channel),
            keep_inactive_ids=self.keep_inactive_ids,
            require_inclusion=self.require_inclusion,
            read_in_channel=True,
        )
        if selection.errors:
            raise ValidationError(selection.errors)
        base_include, base_exclude = self.base_ids(raw)
        return PickerValue(
            include=selection.include,
            exclude=selection.exclude,
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


class ShowAsTypedMixin:
    """A form that can be shown again exactly as typed, without validating it.

    For a round trip that is not a save: a picker search without JavaScript, or a campaign
    form refreshed for another channel or audience. After `show_as_typed()` the form has no
    errors and is never valid, so nothing typed is lost and nothing is saved by mistake.
    """

    shown_as_typed = False

    def show_as_typed(self):
        self.shown_as_typed = True
        return self

    @property
    def errors(self) -> ErrorDict:
        if self.shown_as_typed:
            return ErrorDict(renderer=self.renderer)
        return super().errors

    def is_valid(self) -> bool:
        return not self.shown_as_typed and super().is_valid()
