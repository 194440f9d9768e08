from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

from access_audience.params import strip_controls


class HtmxLoginRedirectMiddleware:
    """Send htmx requests whose session expired to the login page as a whole page.

    Without this, htmx follows the redirect and swaps the login form into whatever region the
    request targeted (a table row, a search result).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)
        ):
            # Come back to the page the user was on, not to the partial's URL.
            current = request.htmx.current_url_abs_path or "/"
            login = resolve_url(settings.LOGIN_URL)
            return HttpResponseClientRedirect(f"{login}?next={quote(current, safe='/')}")
        return response


class HtmxMessagesMiddleware:
    """Deliver Django messages with htmx responses as an out-of-band swap of #messages.

    Partials never contain the page's message area, so without this a "Saved" message would
    wait for the next full page load.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if (
            not htmx
            or htmx.boosted
            or response.status_code != 200
            or response.streaming
            or not response.get("Content-Type", "").startswith("text/html")
            or any(h in response for h in ("HX-Redirect", "HX-Location", "HX-Refresh"))
        ):
            return response
        storage = messages.get_messages(request)
        if not len(storage):
            return response
        html = render_to_string("base.html#messages", {"messages": storage}, request=request)
        response.content += (
            f'<div id="messages" class="messages" hx-swap-oob="true">{html}</div>'
        ).encode()
        return response


class VaryOnHtmxMiddleware:
    """Tell every cache that a response depends on `HX-Request`.

    A list page and its htmx partial share one URL (`render_page`). Without `Vary`, the browser
    keeps the last answer for that URL, the partial, and Back from another page shows the bare
    results fragment as the whole page. Applied to every response, so no view can forget it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        return response


class QueryStringControlCharactersMiddleware:
    """Remove control characters from every query string key and value, before any view,
    search index or query sees them.

    A NUL or an escape code in a link is never something a person typed into a search box:
    dropping it answers the search they meant (PostgreSQL refuses NUL in text outright).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_controls(request.GET):
            cleaned = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                cleaned.setlist(strip_controls(key), [strip_controls(v) for v in values])
            cleaned._mutable = False
            request.GET = cleaned
        return self.get_response(request)


def _has_controls(params: QueryDict) -> bool:
    return any(
        strip_controls(key) != key or any(strip_controls(v) != v for v in values)
        for key, values in params.lists()
    )
