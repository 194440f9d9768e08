from django.contrib import admin

from history.models import Change


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    """Read-only: the history is never edited or deleted from the admin."""

    list_display = ["at", "object_type", "object_name", "action", "who_label"]
    list_filter = ["object_type", "action", "run_kind"]
    search_fields = ["object_name", "user_name", "via"]
    actions = None

    @admin.display(description="Who")
    def who_label(self, obj: Change) -> str:
        return obj.who

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
