from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse

from access_audience.params import IdModelMultipleChoiceField, parse_id
from audiences import services
from audiences.models import Audience
from audiences.selectors import _campaign_count
from channels_app.models import Channel
from segments.models import Segment


class SegmentChoiceField(IdModelMultipleChoiceField):
    def label_from_instance(self, obj: Segment) -> str:
        return obj.name if obj.is_active else f"{obj.name} (inactive)"


class AudienceAdminForm(forms.ModelForm):
    """The segment fields offer only the audience's channel; the services check the rest."""

    class Meta:
        model = Audience
        fields = ["channel", "name", "estimated_volume", "inclusion_segments", "exclusion_segments"]
        field_classes = {
            "inclusion_segments": SegmentChoiceField,
            "exclusion_segments": SegmentChoiceField,
        }

    def __init__(self, *args, channel: Channel | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            channel = self.instance.channel
            self.fields["channel"].disabled = True
            self.fields["channel"].help_text = "An audience stays in its channel. Clone it instead."
        elif channel is not None:
            self.fields["channel"].initial = channel.pk
            self.fields["channel"].disabled = True
            self.fields["channel"].help_text = "Chosen on the previous step."
        if channel is not None:
            segments = Segment.objects.filter(channel=channel).order_by("name", "pk")
            if not self.instance.pk:
                segments = segments.filter(is_active=True)
        else:
            segments = Segment.objects.none()  # the add view asks for the channel first
        for name in ("inclusion_segments", "exclusion_segments"):
            self.fields[name].queryset = segments
            self.fields[name].help_text = "Segments of the audience's channel."

    def clean(self):
        data = super().clean()
        channel = data.get("channel") or (self.instance.channel if self.instance.pk else None)
        if channel is None or self.errors:
            return data
        existing = []
        if self.instance.pk:
            existing = list(self.instance.inclusion_segments.values_list("pk", flat=True))
            existing += list(self.instance.exclusion_segments.values_list("pk", flat=True))
        try:
            services.audience_check_segments(
                channel=channel,
                include=list(data.get("inclusion_segments") or []),
                exclude=list(data.get("exclusion_segments") or []),
                existing_ids=existing,
            )
        except ValidationError as exc:
            for error in exc.error_dict.get("segments", []):
                self.add_error(None, error)
        return data


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    form = AudienceAdminForm
    list_display = ["name", "channel", "estimated_volume", "campaign_count", "updated_at"]
    list_filter = ["channel"]
    search_fields = ["name"]
    list_select_related = ["channel"]
    readonly_fields = ["version", "created_at", "created_by", "updated_at", "updated_by"]
    actions = None  # deletions go one by one through the service

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(campaign_count=_campaign_count())

    @admin.display(description="Campaigns", ordering="campaign_count")
    def campaign_count(self, obj: Audience) -> int:
        return obj.campaign_count

    @staticmethod
    def _chosen_channel(request) -> Channel | None:
        pk = parse_id(request.GET.get("channel"))
        return Channel.objects.filter(pk=pk).first() if pk is not None else None

    def add_view(self, request, form_url="", extra_context=None):
        # Segments are offered per channel, so the channel comes first (never every channel's
        # segments in one list). The permission is checked before that step: the chooser
        # names every channel.
        if not self.has_add_permission(request):
            raise PermissionDenied
        if self._chosen_channel(request) is None:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Add audience: choose its channel",
                "channels": Channel.objects.all(),
            }
            return TemplateResponse(
                request, "admin/audiences/audience/choose_channel.html", context
            )
        return super().add_view(request, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        channel = self._chosen_channel(request) if obj is None else None

        class ChannelForm(form_class):
            def __init__(self, *args, **kw):
                kw.setdefault("channel", channel)
                super().__init__(*args, **kw)

        return ChannelForm

    def save_model(self, request, obj: Audience, form, change: bool) -> None:
        data = form.cleaned_data
        values = {
            "name": data["name"],
            "estimated_volume": data.get("estimated_volume"),
            "include": list(data["inclusion_segments"]),
            "exclude": list(data["exclusion_segments"]),
            "user": request.user,
        }
        if change:
            saved = services.audience_update(audience=obj, version=obj.version, **values)
        else:
            saved = services.audience_create(channel=data["channel"], **values)
        obj.pk = saved.pk
        obj.version = saved.version

    def save_related(self, request, form, formsets, change: bool) -> None:
        # The services already saved the segments; only inlines (none today) remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj: Audience) -> None:
        services.audience_delete(audience=obj)
