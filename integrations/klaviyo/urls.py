from django.urls import path

from integrations.klaviyo import views

app_name = "klaviyo"

urlpatterns = [
    path("klaviyo/", views.klaviyo_settings, name="settings"),
]
