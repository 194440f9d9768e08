import re

from django import forms

KEY_PATTERN = re.compile(r"^pk_[A-Za-z0-9_-]{8,200}$")


class ApiKeyForm(forms.Form):
    api_key = forms.CharField(
        label="Private API key",
        max_length=210,
        strip=True,
        # Never sent back to the browser, not even after a validation error.
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "pk_…"},
        ),
        help_text="In Klaviyo: Settings → API keys → Create private API key, with read access "
        "to Segments and Lists.",
    )

    def clean_api_key(self) -> str:
        key = self.cleaned_data["api_key"]
        if not KEY_PATTERN.match(key):
            raise forms.ValidationError(
                "A private API key starts with pk_ followed by letters and digits "
                "(the 6-character public key, or site ID, will not work)."
            )
        return key


class ChannelSyncForm(forms.Form):
    enabled = forms.BooleanField(required=False)
