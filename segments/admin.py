from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from segments.bulk import size_problem
from segments.models import Segment
from segments.selectors import segment_usage
from segments.services import (
    KEEP_SIZE,
    SegmentGone,
    SegmentIdTaken,
    SegmentInUse,
    segment_bulk_set_active,
    segment_create,
    segment_delete,
    segment_set_active,
    segment_update,
)


class SegmentAdminForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["channel", "name", "external_id", "link", "is_active", "size"]
        help_texts = {
            "size": "How many contacts it holds (typed); a Klaviyo count replaces it for Klaviyo "
            "segments. Empty: unknown.",
        }

    def clean_size(self):
        size = self.cleaned_data.get("size")
        if size is not None and (problem := size_problem(size)):
            raise forms.ValidationError(problem)
        return size

    def clean(self):
        data = super().clean()
        channel = data.get("channel") or getattr(self.instance, "channel", None)
        external_id = (data.get("external_id") or "").strip()
        if channel and external_id:
            taken = Segment.objects.filter(channel=channel, external_id=external_id)
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if existing := taken.first():
                self.add_error(
                    "external_id",
                    f"This channel already has a segment with this Segment ID: “{existing.name}”.",
                )
        return data


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ["name", "channel", "external_id", "is_active", "source", "size", "updated_at"]
    list_filter = ["channel", "is_active", "source"]
    list_select_related = ["channel"]
    search_fields = ["name", "external_id"]
    ordering = ["channel", "name", "pk"]
    actions = ["activate", "deactivate", "delete_unused"]
    fields = [
        "channel",
        "name",
        "external_id",
        "link",
        "is_active",
        "size",
        "size_source",
        "size_counted_at",
        "source",
        "kind",
        "klaviyo_missing_since",
        "last_synced_at",
        "created_at",
        "updated_at",
        "usage",
    ]
    readonly_fields = [
        "size_source",
        "size_counted_at",
        "source",
        "kind",
        "klaviyo_missing_since",
        "last_synced_at",
        "created_at",
        "updated_at",
        "usage",
    ]

    def get_readonly_fields(self, request, obj=None):
        # A segment stays in its channel; copy it to another channel from the Segments tab.
        return [*self.readonly_fields, "channel"] if obj else self.readonly_fields

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)  # replaced by delete_unused: usage is checked
        return actions

    @admin.display(description="Used by")
    def usage(self, obj: Segment):
        if not obj.pk:
            return "—"
        usage = segment_usage(segment=obj)
        if not usage.in_use:
            return "No audience or campaign uses this segment."
        rows = [
            *((_admin_link("audiences_audience", a), "audience") for a in usage.audiences),
            *((_admin_link("campaigns_campaign", c), "campaign") for c in usage.campaigns),
        ]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} ({})</li>", rows))

    def save_model(self, request, obj: Segment, form, change: bool) -> None:
        fields = {"name": obj.name, "external_id": obj.external_id, "link": obj.link}
        if change:
            # The size through the service (typed, with a history point) only when changed.
            size = obj.size if "size" in form.changed_data else KEEP_SIZE
            obj.size = form.initial.get("size")  # the form already put the new one on obj
            segment = segment_update(segment=obj, size=size, **fields)
            if "is_active" in form.changed_data:
                segment_set_active(segment=segment, is_active=obj.is_active)
        else:
            segment = segment_create(
                channel=obj.channel, is_active=obj.is_active, size=obj.size, **fields
            )
        obj.pk, obj.updated_at, obj.created_at = segment.pk, segment.updated_at, segment.created_at

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (SegmentIdTaken, SegmentGone, ValidationError) as exc:
            message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Not saved: {message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        segment = self.get_object(request, object_id)
        # The permission first: the refusal below names the segment.
        if segment is not None and not self.has_delete_permission(request, segment):
            raise PermissionDenied
        if segment is not None and segment_usage(segment=segment).in_use:
            self.message_user(
                request,
                f"“{segment.name}” cannot be deleted: audiences or campaigns use it. "
                "Make it inactive instead.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:segments_segment_change", args=[segment.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj: Segment) -> None:
        try:
            segment_delete(segment=obj)
        except (SegmentInUse, SegmentGone) as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Make selected segments active", permissions=["change"])
    def activate(self, request, queryset):
        changed = segment_bulk_set_active(segments=queryset, is_active=True)
        self.message_user(request, f"Activated {changed} segment(s).", messages.SUCCESS)

    @admin.action(description="Make selected segments inactive", permissions=["change"])
    def deactivate(self, request, queryset):
        changed = segment_bulk_set_active(segments=queryset, is_active=False)
        self.message_user(request, f"Deactivated {changed} segment(s).", messages.SUCCESS)

    @admin.action(
        description="Delete selected segments that nothing uses (1,000 at a time)",
        permissions=["delete"],
    )
    def delete_unused(self, request, queryset):
        deleted = kept = 0
        for segment in queryset.order_by("pk")[:1000]:
            try:
                segment_delete(segment=segment)
                deleted += 1
            except (SegmentInUse, SegmentGone):
                kept += 1
        text = f"Deleted {deleted} segment(s)."
        if kept:
            text += f" Kept {kept} that audiences or campaigns use (or that were already gone)."
        self.message_user(request, text, messages.SUCCESS if not kept else messages.WARNING)


def _admin_link(model: str, obj) -> str:
    try:
        url = reverse(f"admin:{model}_change", args=[obj.pk])
    except NoReverseMatch:
        return format_html("{}", obj.name)
    return format_html('<a href="{}">{}</a>', url, obj.name)
