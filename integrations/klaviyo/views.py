from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def klaviyo_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "klaviyo/settings.html", {})
