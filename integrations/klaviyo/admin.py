from django.contrib import admin

from integrations.klaviyo.models import (
    CampaignPush,
    ChannelSyncSetting,
    KlaviyoAccount,
    SizeRun,
    SizeRunChannel,
    SyncRun,
    SyncRunChannel,
)


@admin.register(KlaviyoAccount)
class KlaviyoAccountAdmin(admin.ModelAdmin):
    """Shows only the mask; the key is saved and replaced on the Integrations page."""

    list_display = ["__str__", "connected_at", "connected_by", "checked_at", "check_ok"]
    fields = ["key_mask", "connected_at", "connected_by", "checked_at", "check_ok", "check_message"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SyncRunChannelInline(admin.TabularInline):
    model = SyncRunChannel
    extra = 0
    can_delete = False
    fields = [
        "channel",
        "in_progress",
        "created",
        "updated",
        "unchanged",
        "skipped_inactive",
        "marked_missing",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "created_at", "status", "trigger", "started_by", "items_fetched", "error"]
    list_filter = ["status", "trigger"]
    list_select_related = ["started_by"]
    readonly_fields = [
        "status",
        "trigger",
        "started_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "pages_fetched",
        "items_fetched",
        "segments_fetched",
        "lists_fetched",
        "error",
    ]
    inlines = [SyncRunChannelInline]

    def has_add_permission(self, request):
        return False


@admin.register(ChannelSyncSetting)
class ChannelSyncSettingAdmin(admin.ModelAdmin):
    list_display = ["channel", "enabled", "changed_at"]
    list_editable = ["enabled"]


@admin.register(CampaignPush)
class CampaignPushAdmin(admin.ModelAdmin):
    """What each campaign's Send to Klaviyo did; read-only (the campaign page sends)."""

    list_display = [
        "campaign",
        "state",
        "klaviyo_campaign_id",
        "klaviyo_status",
        "pushed_at",
        "estimate_count",
    ]
    list_filter = ["state", "klaviyo_status"]
    list_select_related = ["campaign"]
    search_fields = ["campaign__name", "klaviyo_campaign_id", "marker"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SizeRunChannelInline(admin.TabularInline):
    model = SizeRunChannel
    extra = 0
    can_delete = False
    fields = ["channel", "in_progress", "counted", "cleared"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SizeRun)
class SizeRunAdmin(admin.ModelAdmin):
    """Size counts as they went; started from the Segments tab or manage.py klaviyo_sizes."""

    list_display = ["pk", "created_at", "status", "trigger", "started_by", "error"]
    list_filter = ["status", "trigger"]
    list_select_related = ["started_by"]
    fields = readonly_fields = [
        "status",
        "trigger",
        "started_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "segments_done",
        "lists_done",
        "reports_made",
        "lists_requested",
        "next_report_at",
        "next_list_at",
        "next_step_at",
        "daily_cap_hit",
        "waiting_reason",
        "error",
    ]
    inlines = [SizeRunChannelInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
