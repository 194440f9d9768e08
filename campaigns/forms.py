from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import from_current_timezone
from django.http import QueryDict
from django.utils import timezone

from access_audience import params
from access_audience.text import with_article
from audiences.models import Audience
from campaigns import services
from campaigns.models import Campaign
from campaigns.selectors import KLAVIYO_FILTERS, audience_choices
from campaigns.services import audience_definition
from campaigns.targeting import Changes, Definition, apply_changes, changes
from channels_app.models import Channel
from segments.picker import PickerInput, PickerValue, SegmentPickerField, ShowAsTypedMixin
from segments.picker.inputs import PARTS
from segments.validators import validate_http_url


class CampaignFilterForm(forms.Form):
    """The list's filters; invalid values are ignored rather than shown as errors."""

    q = forms.CharField(required=False, label="Search", max_length=255)
    channel = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Campaign.Status.choices], required=False
    )
    date_from = params.BoundedDateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = params.BoundedDateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    klaviyo = forms.ChoiceField(
        required=False,
        label="Klaviyo",
        choices=[("", "In Klaviyo or not"), *KLAVIYO_FILTERS.items()],
    )

    def __init__(self, data, *, channels: list[Channel]):
        super().__init__(data)
        self.fields["channel"].choices = [("", "All channels")] + [
            (c.slug, c.name) for c in channels
        ]

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "query": data.get("q") or "",
            "channel_slug": data.get("channel") or "",
            "status": data.get("status") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "klaviyo": data.get("klaviyo") or "",
        }


def parse_month(value: str | None, today: date) -> tuple[int, int]:
    """`2026-12` → (2026, 12); anything else, or a month outside the bounds → the current month."""
    return params.parse_month(value, default=(today.year, today.month))


class CampaignForm(ShowAsTypedMixin, forms.Form):
    """The campaign form: channel first, then an audience of that channel, then the picker.

    `loaded_channel` and `loaded_audience` record what the picker was last filled for, so a
    changed channel or audience is noticed on the server (with or without JavaScript).
    """

    name = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    channel = forms.ChoiceField()
    audience = forms.ChoiceField(required=False, label="Audience")
    status = forms.ChoiceField(choices=Campaign.Status.choices)
    send_at = params.BoundedDateTimeField(
        required=False,
        label="Send time",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    link = forms.CharField(
        required=False,
        max_length=2000,
        label="Link in the ESP",
        validators=[validate_http_url],
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    version = params.BoundedIntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    loaded_channel = forms.CharField(required=False, widget=forms.HiddenInput)
    loaded_audience = forms.CharField(required=False, widget=forms.HiddenInput)
    segments = SegmentPickerField(
        label="Segments",
        help_text="Contacts in any included segment, except those in any excluded segment.",
    )

    def __init__(
        self,
        data=None,
        *,
        channels: list[Channel],
        channel: Channel,
        audiences: list[Audience],
        base: Definition,
        keep_inactive_ids=(),
        initial=None,
        campaign: Campaign | None = None,
        copy_of: Campaign | None = None,
    ):
        super().__init__(data, initial=initial)
        self.channel = channel
        self.campaign = campaign
        self.copy_of = copy_of  # a new campaign duplicated from this one
        self.audiences = {str(a.pk): a for a in audiences}
        self.fields["channel"].choices = [(c.slug, c.name) for c in channels]
        self.fields["audience"].choices = [("", "No audience (pick segments by hand)")] + [
            (str(a.pk), a.name) for a in audiences
        ]
        self.fields["send_at"].help_text = f"Time zone: {timezone.get_current_timezone_name()}."
        self.fields["segments"].configure(
            channel=channel,
            keep_inactive_ids=set(keep_inactive_ids) | base.inclusion | base.exclusion,
            base_include_ids=sorted(base.inclusion),
            base_exclude_ids=sorted(base.exclusion),
            labels={"base": "from audience", "removed": "removed for this campaign"},
        )

    def clean_audience(self) -> Audience | None:
        value = self.cleaned_data.get("audience") or ""
        return self.audiences.get(value)

    def clean(self):
        data = super().clean()
        picker_ok = "segments" in data
        include, exclude = self.fields["segments"].ids(
            data["segments"] if picker_ok else self["segments"].value()
        )
        try:
            services.campaign_validate(
                campaign=self.campaign,
                channel=self.channel,
                name=data.get("name", ""),
                status=data.get("status", ""),
                send_at=data.get("send_at"),
                link=data.get("link", "") if "link" in data else "",
                audience=data.get("audience"),
                inclusion_ids=include,
                exclusion_ids=exclude,
                copy_of=self.copy_of,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field == "segments" and not picker_ok:
                    continue  # the picker already says what is wrong with the segments
                if field in self.fields and field not in self.errors:
                    self.add_error(field, messages)
                elif field not in self.fields:
                    self.add_error(None, messages)
        return data

    # Reach and warnings before saving (campaigns/warnings.py: draft_checks) read the form as
    # it stands, valid or not.
    def draft_values(self) -> dict:
        """Status, send time and segment ids as typed (bound) or as filled in (unbound)."""
        include, exclude = self.fields["segments"].ids(self["segments"].value())
        return {
            "status": str(self["status"].value() or ""),
            "send_at": parse_send_at(self["send_at"].value()),
            "include_ids": include,
            "exclude_ids": exclude,
        }

    def apply_service_error(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            target = field if field in self.fields and field != "__all__" else None
            self.add_error("segments" if field == "segments" else target, messages)


def parse_send_at(value):
    """A send time as the form reads it, or None when empty or unreadable."""
    if value is None or isinstance(value, datetime):
        # An unbound form's initial value comes back naive, in the current time zone.
        return from_current_timezone(value) if value and timezone.is_naive(value) else value
    try:
        return CampaignForm.base_fields["send_at"].clean(value)
    except ValidationError:
        return None


@dataclass
class FormSetup:
    """What the campaign form shows for a request: channel, its audiences, the picker's base,
    and the other channels' choices set aside until the form is saved (`kept`, hidden inputs)."""

    data: QueryDict | None
    channel: Channel
    audiences: list[Audience]
    base: Definition
    notices: list[str]
    refreshed: bool
    kept: list[tuple[str, str]] = dataclass_field(default_factory=list)


def _audiences_of(channel: Channel) -> list[Audience]:
    return list(audience_choices(channel))


def _kept_name(channel: Channel, prefix: str) -> str:
    """Where a channel's set-aside picks travel in the form: `kept-<slug>-<prefix>-include` etc."""
    return f"kept-{channel.slug}-{prefix}"


def _segments_count(count: int) -> str:
    return f"{count} segment{'s' if count != 1 else ''}"


def _switch_channel(
    data: QueryDict, *, old: Channel, new: Channel, picker: PickerInput, prefix: str
) -> tuple[PickerInput, list[str]]:
    """Set the old channel's picks aside and bring back the new channel's, if it had any.

    Segments never cross channels, so the picker empties; but until the form is saved the old
    choices ride along as hidden inputs, and switching back restores them and their audience.
    """
    notices: list[str] = []
    set_aside = len(picker.include) + len(picker.exclude)
    old_name, new_name = _kept_name(old, prefix), _kept_name(new, prefix)
    if set_aside or picker.base_include or picker.base_exclude:
        picker.write(data, name=old_name)
        data[f"kept-{old.slug}-audience"] = data.get("loaded_audience", "")
    restored = PickerInput.from_data(data, name=new_name)
    audience = data.get(f"kept-{new.slug}-audience", "")
    audience = audience if audience.isdigit() else ""
    PickerInput().write(data, name=new_name)
    data.pop(f"kept-{new.slug}-audience", None)
    restored.write(data, name=prefix)
    data["audience"] = data["loaded_audience"] = audience
    # A search typed for the old channel would make the new channel's picker look empty.
    data[f"{prefix}-q"] = ""
    data.pop(f"{prefix}-limit", None)
    if set_aside:
        notices.append(
            f"Set aside {_segments_count(set_aside)} of {old.name}: "
            f"{with_article(new.name)} campaign uses {new.name} segments only. "
            f"Switch back to {old.name} before saving to get them back."
        )
    brought_back = len(restored.include) + len(restored.exclude)
    if brought_back:
        notices.append(
            f"Brought back the {_segments_count(brought_back)} of {new.name} picked before."
        )
    return restored, notices


def _kept_inputs(data: QueryDict, *, channels: list[Channel], prefix: str) -> list[tuple[str, str]]:
    """The set-aside choices of the other channels, as (name, value) hidden inputs."""
    names = []
    for channel in channels:
        base = _kept_name(channel, prefix)
        names += [f"{base}-{part}" for part in PARTS] + [f"kept-{channel.slug}-audience"]
    return [(name, value) for name in names for value in data.getlist(name) if value]


def follow_choices(
    data: QueryDict, *, channels: list[Channel], fallback: Channel, prefix: str = "segments"
) -> FormSetup:
    """Bring a posted form in line with its channel and audience choices.

    A new channel sets the old channel's segments and audience aside (segments never cross
    channels) and brings back those set aside for the new one. A new audience replaces the
    pre-filled segments with its own and keeps the segments the user added by hand. Either
    way the form is shown again, not saved.
    """
    data = data.copy()
    by_slug = {c.slug: c for c in channels}
    channel = by_slug.get(data.get("channel", ""), fallback)
    notices: list[str] = []
    refreshed = False
    picker = PickerInput.from_data(data, name=prefix)
    loaded_channel = by_slug.get(data.get("loaded_channel", ""))
    if loaded_channel is not None and loaded_channel != channel:
        picker, notices = _switch_channel(
            data, old=loaded_channel, new=channel, picker=picker, prefix=prefix
        )
        refreshed = True
    data["channel"] = channel.slug
    data["loaded_channel"] = channel.slug
    audiences = _audiences_of(channel)
    chosen = data.get("audience", "")
    if chosen != data.get("loaded_audience", ""):
        audience = next((a for a in audiences if str(a.pk) == chosen), None)
        old_base = Definition.of(picker.base_include, picker.base_exclude)
        delta = changes(old_base, Definition.of(picker.include, picker.exclude))
        own = Changes(delta.added_inclusions, delta.added_exclusions, frozenset(), frozenset())
        new_base = audience_definition(audience) if audience else Definition()
        target = apply_changes(new_base, own)
        picker = PickerInput(
            include=sorted(target.inclusion),
            exclude=sorted(target.exclusion),
            base_include=sorted(new_base.inclusion),
            base_exclude=sorted(new_base.exclusion),
        )
        picker.write(data, name=prefix)
        data["audience"] = str(audience.pk) if audience else ""
        data["loaded_audience"] = data["audience"]
        refreshed = True
    base = Definition.of(picker.base_include, picker.base_exclude)
    kept = _kept_inputs(data, channels=[c for c in channels if c != channel], prefix=prefix)
    return FormSetup(data, channel, audiences, base, notices, refreshed, kept)


def initial_setup(
    *,
    channel: Channel,
    audience: Audience | None = None,
    campaign: Campaign | None = None,
) -> tuple[FormSetup, dict]:
    """The unbound form's setup and initial values, for a new or an existing campaign."""
    audiences = _audiences_of(channel)
    if campaign is not None:
        include = [s.pk for s in campaign.inclusion_segments.all()]
        exclude = [s.pk for s in campaign.exclusion_segments.all()]
        snapshot = campaign.audience_snapshot or {}
        base = Definition.of(
            (s["id"] for s in snapshot.get("inclusion", [])),
            (s["id"] for s in snapshot.get("exclusion", [])),
        )
        initial = {
            "name": campaign.name,
            "status": campaign.status,
            "send_at": timezone.localtime(campaign.send_at) if campaign.send_at else None,
            "notes": campaign.notes,
            "link": campaign.link,
            "version": campaign.version,
        }
        audience = campaign.audience
    else:
        base = audience_definition(audience) if audience else Definition()
        include, exclude = sorted(base.inclusion), sorted(base.exclusion)
        initial = {"status": Campaign.Status.DRAFT}
    initial.update(
        channel=channel.slug,
        loaded_channel=channel.slug,
        audience=str(audience.pk) if audience else "",
        loaded_audience=str(audience.pk) if audience else "",
        segments=PickerValue(
            include=include,
            exclude=exclude,
            base_include_ids=sorted(base.inclusion),
            base_exclude_ids=sorted(base.exclusion),
        ),
    )
    return FormSetup(None, channel, audiences, base, [], False), initial
