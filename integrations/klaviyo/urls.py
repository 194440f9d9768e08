from django.urls import path

from integrations.klaviyo import views

app_name = "klaviyo"

urlpatterns = [
    path("klaviyo/", views.klaviyo_settings, name="settings"),
    path("klaviyo/key/", views.key_save, name="key-save"),
    path("klaviyo/key/delete/", views.key_delete, name="key-delete"),
    path("klaviyo/test/", views.connection_test, name="test"),
    path(
        "klaviyo/channels/<slug:channel_slug>/switch/", views.channel_switch, name="channel-switch"
    ),
    path("klaviyo/channels/<slug:channel_slug>/sync/", views.sync_start, name="sync-start"),
    path("klaviyo/channels/<slug:channel_slug>/panel/", views.sync_panel, name="sync-panel"),
    path("klaviyo/runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("klaviyo/campaigns/<int:campaign_id>/", views.campaign_panel, name="campaign-panel"),
    path("klaviyo/campaigns/<int:campaign_id>/send/", views.campaign_send, name="campaign-send"),
    path(
        "klaviyo/campaigns/<int:campaign_id>/update/",
        views.campaign_update,
        name="campaign-update",
    ),
    path(
        "klaviyo/campaigns/<int:campaign_id>/refresh/",
        views.campaign_refresh,
        name="campaign-refresh",
    ),
    path("klaviyo/channels/<slug:channel_slug>/sizes/", views.sizes_refresh, name="sizes-refresh"),
    path(
        "klaviyo/channels/<slug:channel_slug>/sizes/panel/", views.sizes_panel, name="sizes-panel"
    ),
]
