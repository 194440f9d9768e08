from datetime import date

from django import forms

from campaigns.models import Campaign
from channels_app.models import Channel


class CampaignFilterForm(forms.Form):
    """The list's filters; invalid values are ignored rather than shown as errors."""

    q = forms.CharField(required=False, label="Search", max_length=255)
    channel = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Campaign.Status.choices], required=False
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
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
        }


def parse_month(value: str | None, today: date) -> tuple[int, int]:
    """`2026-12` → (2026, 12); anything else → the current month."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1 <= month <= 12 and 1900 <= year <= 9999:
            return year, month
    except ValueError:
        pass
    return today.year, today.month
