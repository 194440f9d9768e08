from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def wants_partial(request: HttpRequest) -> bool:
    """True for an htmx request that swaps one region (not a boosted page or a history restore)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the whole page, or only its `{% partialdef partial %}` region for htmx."""
    if partial and wants_partial(request):
        template = f"{template}#{partial}"
    return render(request, template, context, status=status)
