"""The project's URLs plus a stand-in for uploads:export_segments (built in another branch)."""

from django.http import HttpResponse
from django.urls import include, path

from access_audience import urls as project_urls
from integrations.uploads import views as upload_views


def export_segments(request, channel_slug):
    return HttpResponse("csv", content_type="text/csv")


uploads = (
    [
        path("upload/", upload_views.upload, name="upload"),
        path("export/<slug:channel_slug>/segments.csv", export_segments, name="export_segments"),
    ],
    "uploads",
)

urlpatterns = [
    p for p in project_urls.urlpatterns if getattr(p.pattern, "_route", "") != "data/"
] + [path("data/", include(uploads))]
