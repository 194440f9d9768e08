from django.urls import path

from integrations.uploads import views

app_name = "uploads"

urlpatterns = [
    path("", views.history, name="history"),
    path("upload/", views.upload, name="upload"),
    path("uploads/<int:pk>/", views.detail, name="detail"),
    path("uploads/<int:pk>/read/", views.read, name="read"),
    path("uploads/<int:pk>/map/", views.map_columns, name="map"),
    path("uploads/<int:pk>/import/", views.start_import, name="import"),
    path("uploads/<int:pk>/remap/", views.remap, name="remap"),
    path("uploads/<int:pk>/retry/", views.retry, name="retry"),
    path("uploads/<int:pk>/import-valid/", views.import_valid, name="import_valid"),
    path("uploads/<int:pk>/invalid-rows.csv", views.invalid_rows, name="invalid_rows"),
    path("uploads/<int:pk>/cancel/", views.abandon, name="abandon"),
    path("uploads/<int:pk>/errors.csv", views.error_report, name="error_report"),
    path("export/<slug:channel_slug>/segments.csv", views.export_segments, name="export_segments"),
]
