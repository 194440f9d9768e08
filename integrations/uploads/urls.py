from django.urls import path

from integrations.uploads import views

app_name = "uploads"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
]
