from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from access_audience.params import IdModelChoiceField, IdModelMultipleChoiceField
from campaigns import services
from campaigns.models import Campaign


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "channel",
            "status",
            "send_at",
            "notes",
            "link",
            "audience",
            "inclusion_segments",
            "exclusion_segments",
        ]
        # Typed ids (raw id widgets) are checked to be ids before the database is asked.
        field_classes = {
            "audience": IdModelChoiceField,
            "inclusion_segments": IdModelMultipleChoiceField,
            "exclusion_segments": IdModelMultipleChoiceField,
        }

    def clean(self):
        data = super().clean()
        if self.errors or data.get("channel") is None:
            return data
        try:
            services.campaign_validate(
                campaign=self.instance if self.instance.pk else None,
                channel=data["channel"],
                name=data.get("name", ""),
                status=data.get("status", ""),
                send_at=data.get("send_at"),
                link=data.get("link", ""),
                audience=data.get("audience"),
                inclusion_ids=[s.pk for s in data.get("inclusion_segments", [])],
                exclusion_ids=[s.pk for s in data.get("exclusion_segments", [])],
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                target = "inclusion_segments" if field == "segments" else field
                self.add_error(target if target in self.fields else None, messages)
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = ["name", "channel", "status", "send_at", "audience", "updated_at"]
    list_filter = ["channel", "status"]
    search_fields = ["name", "notes"]
    list_select_related = ["channel", "audience"]
    date_hierarchy = "send_at"
    raw_id_fields = ["audience", "inclusion_segments", "exclusion_segments"]
    readonly_fields = ["audience_applied_at", "version", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {
            "user": request.user,
            "channel": data["channel"],
            "name": data["name"],
            "status": data["status"],
            "send_at": data.get("send_at"),
            "notes": data.get("notes", ""),
            "link": data.get("link", ""),
            "audience": data.get("audience"),
            "inclusion_ids": [s.pk for s in data.get("inclusion_segments", [])],
            "exclusion_ids": [s.pk for s in data.get("exclusion_segments", [])],
        }
        if change:
            saved = services.campaign_update(campaign=obj, expected_version=None, **fields)
        else:
            saved = services.campaign_create(**fields)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The service already saved the segments; only inline formsets (none today) remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        # Through the service, so the deletion is in the campaign's history.
        services.campaign_delete(campaign=obj)

    def delete_queryset(self, request, queryset):
        for campaign in queryset.order_by("pk"):
            services.campaign_delete(campaign=campaign)
