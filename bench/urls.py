from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def floor(request: HttpRequest) -> HttpResponse:
    """The cheapest page a logged-in user can get: the full middleware stack, no work."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("", include("access_audience.urls")),
]
