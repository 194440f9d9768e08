from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import Truncator

from channels_app.selectors import channel_list
from integrations.uploads.importers import IMPORTERS, Importer, MappingProblem
from integrations.uploads.reading import DELIMITERS, ENCODINGS


class ChooseForm(forms.Form):
    object_type = forms.ChoiceField(
        label="What to import",
        choices=[(key, importer.label) for key, importer in IMPORTERS.items()],
        initial="segments",
    )
    channel = forms.ModelChoiceField(
        label="Target channel",
        queryset=channel_list(),
        empty_label="Choose a channel…",
        to_field_name="slug",
        help_text="Segments are channel-specific: the import only changes this channel.",
    )
    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
        error_messages={
            "empty": "The file is empty. Choose a CSV file with a header row and data.",
            "required": "Choose the CSV file to upload.",
        },
    )

    def __init__(self, *args, refused: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if refused:  # the upload handler stopped a file past the size cap
            self.fields["file"].error_messages["required"] = refused
        self.fields["file"].help_text = (
            f"Up to {filesizeformat(settings.UPLOAD_MAX_BYTES)} and "
            f"{settings.UPLOAD_MAX_ROWS:,} rows, with a header row. Comma, semicolon, tab or "
            "pipe separated; any common encoding."
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the most is "
                f"{filesizeformat(settings.UPLOAD_MAX_BYTES)}. Split it into smaller files."
            )
        if upload.size == 0:
            raise forms.ValidationError(
                "The file is empty. Choose a CSV file with a header row and data."
            )
        return upload


class ReadForm(forms.Form):
    encoding = forms.ChoiceField(label="Encoding")
    delimiter = forms.ChoiceField(label="Delimiter", choices=list(DELIMITERS.items()))

    def __init__(self, *args, current_encoding: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        choices = list(ENCODINGS.items())
        if current_encoding and current_encoding not in ENCODINGS:
            choices.insert(0, (current_encoding, current_encoding))
        self.fields["encoding"].choices = choices


STATIC = "static"
LABEL_CHARS = 40
COLUMN_PREFIX = "column:"


class MappingForm(forms.Form):
    """For each field of the object type: a column, a fixed value, or (optional fields)
    nothing."""

    def __init__(self, *args, importer: Importer, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.importer = importer
        self.header = header
        for spec in importer.fields:
            choices = [("", "Choose…" if spec.required else "Not imported")]
            # Short labels: at the column cap the page holds fields times columns options.
            choices += [
                (f"{COLUMN_PREFIX}{name}", f"Column: {Truncator(name).chars(LABEL_CHARS)}")
                for name in header
            ]
            choices.append((STATIC, "A fixed value…"))
            self.fields[f"{spec.key}_source"] = forms.ChoiceField(
                label=spec.label,
                choices=choices,
                required=spec.required,
                help_text=spec.help,
                error_messages={"required": f"Choose the column with the {spec.label.lower()}."},
            )
            self.fields[f"{spec.key}_static"] = forms.CharField(
                label=f"{spec.label}: fixed value",
                required=False,
                max_length=2000,
            )

    def rows(self):
        """(source field, static field) per object field, for the template."""
        return [
            (self[f"{spec.key}_source"], self[f"{spec.key}_static"])
            for spec in self.importer.fields
        ]

    @staticmethod
    def initial_for(importer: Importer, mapping: dict) -> dict:
        initial = {}
        for spec in importer.fields:
            source = mapping.get(spec.key) or {}
            if "column" in source:
                initial[f"{spec.key}_source"] = f"{COLUMN_PREFIX}{source['column']}"
            elif "static" in source:
                initial[f"{spec.key}_source"] = STATIC
                initial[f"{spec.key}_static"] = source["static"]
        return initial

    def mapping(self) -> dict:
        mapping = {}
        for spec in self.importer.fields:
            source = self.cleaned_data.get(f"{spec.key}_source") or ""
            if source.startswith(COLUMN_PREFIX):
                mapping[spec.key] = {"column": source.removeprefix(COLUMN_PREFIX)}
            elif source == STATIC:
                mapping[spec.key] = {"static": self.cleaned_data.get(f"{spec.key}_static", "")}
        return mapping

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        for spec in self.importer.fields:
            if cleaned.get(f"{spec.key}_source") == STATIC:
                value = (cleaned.get(f"{spec.key}_static") or "").strip()
                problem = self.importer.check_static(spec.key, value)
                if problem:
                    self.add_error(f"{spec.key}_static", problem[:1].upper() + problem[1:])
        if not self.errors:
            try:
                self.importer.resolve(self.mapping(), self.header)
            except MappingProblem as exc:
                raise forms.ValidationError(str(exc)) from None
        return cleaned
