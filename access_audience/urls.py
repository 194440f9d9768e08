from django.contrib import admin
from django.urls import include, path

from access_audience import views

admin.site.site_header = "Access Audience administration"
admin.site.site_title = "Access Audience admin"
admin.site.index_title = "Administration"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("activity/", views.activity, name="activity"),
    path("activity/export.csv", views.activity_export, name="activity_export"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("channels/<slug:channel_slug>/segments/", include("segments.urls")),
    path("channels/<slug:channel_slug>/audiences/", include("audiences.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("data/", include("integrations.uploads.urls")),
    path("integrations/", include("integrations.klaviyo.urls")),
]

handler403 = "access_audience.views.permission_denied"
handler404 = "access_audience.views.page_not_found"
handler500 = "access_audience.views.server_error"
