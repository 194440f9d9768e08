from django import forms
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from access_audience.params import parse_int
from channels_app.models import Channel
from channels_app.selectors import channel_others
from segments.bulk import parse_size
from segments.models import Segment
from segments.selectors import STATUS_CHOICES
from segments.validators import validate_http_url


class SegmentForm(forms.Form):
    """Name, Segment ID and link of a segment; the services check the ID is free."""

    name = forms.CharField(
        label="Segment name",
        max_length=255,
        help_text="The name marketers pick it by, e.g. “VIP customers”.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    external_id = forms.CharField(
        label="Segment ID",
        max_length=255,
        required=False,
        help_text="Optional. The segment's ID in your ESP or data platform.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    link = forms.CharField(
        label="Link",
        max_length=2000,
        required=False,
        validators=[validate_http_url],
        help_text="Optional. An http:// or https:// address of the segment, opened in a new tab.",
        widget=forms.URLInput(attrs={"placeholder": "https://", "spellcheck": "false"}),
    )

    size = forms.CharField(
        label="Size",
        max_length=40,
        required=False,
        help_text="Optional. How many contacts it holds, e.g. 12,345. "
        "A Klaviyo segment's count from Klaviyo replaces it.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_size(self) -> int | None:
        size, problem = parse_size(self.cleaned_data.get("size") or "")
        if problem:
            raise forms.ValidationError(problem)
        return size

    def add_id_taken_error(self, existing: Segment | None) -> None:
        """The Segment ID is used: name and link the segment that has it."""
        if existing is None:
            self.add_error("external_id", "This channel already has a segment with this ID.")
            return
        try:
            url = reverse("segments:detail", args=[existing.channel.slug, existing.pk])
        except NoReverseMatch:  # pragma: no cover - the URL is defined next to this form
            url = ""
        self.add_error(
            "external_id",
            format_html(
                'This Segment ID is already used by <a href="{}">{}</a> in this channel.',
                url,
                existing.name,
            ),
        )


class IdListField(forms.Field):
    """The ticked row checkboxes: a list of positive ids (zero and negatives are ignored)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        ids = []
        for item in value or []:
            number = parse_int(item)
            if number is None:
                raise forms.ValidationError("The selection is not valid.")
            if number > 0:
                ids.append(number)
        return ids


class BulkForm(forms.Form):
    """What to do with the selected segments (or with every segment matching the search)."""

    ACTIONS = [("activate", "Activate"), ("deactivate", "Deactivate"), ("copy", "Copy")]

    action = forms.ChoiceField(choices=ACTIONS)
    segment = IdListField(required=False)
    select_all = forms.BooleanField(required=False)
    target = forms.ModelChoiceField(queryset=Channel.objects.none(), required=False)
    q = forms.CharField(required=False, max_length=255)
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)

    def __init__(self, *args, channel: Channel, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.fields["target"].queryset = channel_others(channel)
        self.fields["target"].to_field_name = "slug"

    def clean(self):
        data = super().clean()
        if not data.get("select_all") and not data.get("segment"):
            raise forms.ValidationError("Select at least one segment first.")
        if data.get("action") == "copy" and not data.get("target"):
            self.add_error("target", "Choose the channel to copy the segments to.")
        return data
