from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse

from channels_app.models import Channel
from channels_app.selectors import channel_has_data, channel_overview_list
from channels_app.services import ChannelInUse, channel_delete


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "position",
        "klaviyo_message_type",
        "quiet_window_hours",
        "segment_count",
        "audience_count",
        "campaign_count",
    ]
    list_editable = ["position", "klaviyo_message_type", "quiet_window_hours"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    actions = None  # no bulk delete: each deletion is checked on its own

    def get_queryset(self, request):
        return channel_overview_list()

    @admin.display(description="Segments", ordering="segment_count")
    def segment_count(self, obj: Channel) -> int:
        return obj.segment_count

    @admin.display(description="Audiences", ordering="audience_count")
    def audience_count(self, obj: Channel) -> int:
        return obj.audience_count

    @admin.display(description="Campaigns", ordering="campaign_count")
    def campaign_count(self, obj: Channel) -> int:
        return obj.campaign_count

    def delete_view(self, request, object_id, extra_context=None):
        channel = self.get_object(request, object_id)
        # The permission first: the refusal below names the channel.
        if channel is not None and not self.has_delete_permission(request, channel):
            raise PermissionDenied
        if channel is not None and channel_has_data(channel):
            self.message_user(
                request,
                f"“{channel.name}” cannot be deleted: it still has segments, audiences or "
                "campaigns. Delete or move them first.",
                messages.ERROR,
            )
            return HttpResponseRedirect(
                reverse("admin:channels_app_channel_change", args=[channel.pk])
            )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj: Channel) -> None:
        try:
            channel_delete(channel=obj)
        except ChannelInUse as exc:
            self.message_user(request, str(exc), messages.ERROR)
