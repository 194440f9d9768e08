from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from channels_app.models import Channel
from segments.picker.state import picker_state_from_query


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def picker_search(request: HttpRequest, channel_slug: str) -> HttpResponse:
    """One page of the picker's search results (the `picker-results` region)."""
    channel = get_object_or_404(Channel, slug=channel_slug)
    state = picker_state_from_query(channel=channel, params=request.GET)
    return render(request, "segments/picker.html#picker-results", {"picker": state})
