import re

from django import forms
from django.core.exceptions import ValidationError

from access_audience.params import BoundedIntegerField, parse_int
from audiences.models import Audience
from channels_app.models import Channel
from segments.picker import PickerValue, SegmentPickerField, ShowAsTypedMixin


class VolumeField(BoundedIntegerField):
    """A whole number ≥ 0 that may be typed with thousands separators (12,500 or 12 500)."""

    def to_python(self, value):
        if isinstance(value, str):
            value = re.sub(r"[\s,_'\u2019]", "", value)
        return super().to_python(value)


class AudienceForm(ShowAsTypedMixin, forms.Form):
    name = forms.CharField(
        max_length=255,
        help_text="A descriptive label, e.g. “Highly engaged” or “Repeat buyers”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    estimated_volume = VolumeField(
        required=False,
        min_value=0,
        label="Estimated volume",
        help_text="An approximate number of contacts, for reference.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={
            "invalid": "Enter a whole number of contacts, like 12,500.",
            "max_value": "Enter a number of contacts no larger than %(limit)s.",
        },
    )
    # Free text so a mangled hidden value cannot block the form; see clean_version.
    version = forms.CharField(required=False, widget=forms.HiddenInput)
    segments = SegmentPickerField(
        label="Segments",
        help_text="Contacts in any included segment, except those in any excluded segment.",
    )

    def __init__(
        self,
        *args,
        channel: Channel,
        audience: Audience | None = None,
        clone_of: Audience | None = None,
        copy_name: str = "",
        **kwargs,
    ):
        """`audience`: the one being edited. `clone_of`: a new audience starting as a copy of
        that one (named `copy_name`); nothing exists until the form is saved."""
        source = audience or clone_of
        if source is not None and not kwargs.get("data") and not args:
            kwargs.setdefault(
                "initial",
                {
                    "name": source.name if audience else copy_name,
                    "estimated_volume": source.estimated_volume,
                    "version": source.version if audience else None,
                    "segments": PickerValue(
                        include=list(source.inclusion_segments.all()),
                        exclude=list(source.exclusion_segments.all()),
                    ),
                },
            )
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.audience = audience
        # Inactive segments already in the definition (of this audience or the cloned one) may stay.
        self.keep_inactive_ids: list[int] = []
        if source is not None:
            self.keep_inactive_ids = [s.pk for s in source.inclusion_segments.all()]
            self.keep_inactive_ids += [s.pk for s in source.exclusion_segments.all()]
        self.fields["segments"].configure(
            channel=channel, require_inclusion=True, keep_inactive_ids=self.keep_inactive_ids
        )

    # Reach (segments/reach.py): the ids the picker holds now, and "Use as estimated volume"
    # without JavaScript (a submit button that fills the field and shows the form again).
    def segment_ids(self) -> tuple[list[int], list[int]]:
        return self.fields["segments"].ids(self["segments"].value())

    def use_reach_requested(self) -> bool:
        value = str(self.data.get("_use_reach", "")).strip() if self.is_bound else ""
        if not value.isdigit():
            return False
        self.data = self.data.copy()
        self.data["estimated_volume"] = value
        return True

    def clean_version(self) -> int | None:
        return parse_int(self.cleaned_data.get("version"), min_value=0)

    def apply_service_error(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the fields it names."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)
