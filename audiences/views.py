from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from channels_app.models import Channel


def audience_list(request: HttpRequest, channel_slug: str) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    return render(request, "audiences/list.html", {"channel": channel})
