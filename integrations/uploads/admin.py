from django.contrib import admin

from integrations.uploads.models import Upload, UploadError


class UploadErrorInline(admin.TabularInline):
    model = UploadError
    extra = 0
    can_delete = False
    fields = ["row", "column", "value", "reason"]
    readonly_fields = fields
    max_num = 0


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = [
        "file_name",
        "object_type",
        "channel",
        "created_by",
        "created_at",
        "status",
        "total_rows",
        "created_count",
        "updated_count",
        "invalid_count",
    ]
    list_filter = ["status", "object_type", "channel"]
    search_fields = ["file_name"]
    list_select_related = ["channel", "created_by"]
    readonly_fields = [f.name for f in Upload._meta.fields]
    inlines = [UploadErrorInline]

    def has_add_permission(self, request):
        return False  # uploads go through Data → Upload
