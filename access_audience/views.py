import csv
import logging
import sys

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from access_audience.db import connections_reset_broken, is_connection_lost
from access_audience.htmx import render_page
from access_audience.pagination import paginate
from channels_app.models import Channel
from channels_app.selectors import channel_overview_list
from history.pages import activity_context
from integrations.uploads.reading import neutralise

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"overview": channel_overview_list()})


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check failed: the database did not answer.")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def _staff_only(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise PermissionDenied


@require_GET
@vary_on_headers("HX-Request")
def activity(request: HttpRequest) -> HttpResponse:
    """Admins: who changed what across the app, today or this week, with the history filters."""
    _staff_only(request)
    context = activity_context(request)
    context["page_obj"] = paginate(context.pop("changes"), request.GET.get("page"))
    _link_histories(context["page_obj"].object_list)
    return render_page(request, "activity.html", context, partial="activity-entries")


def _link_histories(changes) -> None:
    """Each entry's object's History tab (one query for the channels' slugs)."""
    slugs = dict(Channel.objects.values_list("pk", "slug"))
    for change in changes:
        slug = slugs.get(change.channel_id)
        if change.object_type == "campaign":
            change.history_url = reverse("campaigns:history", args=[change.object_id])
        elif slug:
            name = "audiences:history" if change.object_type == "audience" else "segments:history"
            change.history_url = reverse(name, args=[slug, change.object_id])


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def activity_export(request: HttpRequest) -> StreamingHttpResponse:
    """The Activity page's entries (same filters) as CSV, formulas neutralised."""
    _staff_only(request)
    context = activity_context(request)
    writer = csv.writer(_Echo())
    header = ["When", "Who", "What", "Name", "Channel id", "Change", "Details", "Note"]

    def rows():
        yield writer.writerow(header)
        for change in context["changes"].iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    neutralise(value)
                    for value in (
                        change.at.isoformat(),
                        change.who,
                        change.get_object_type_display(),
                        change.object_name,
                        "" if change.channel_id is None else str(change.channel_id),
                        change.get_action_display(),
                        "; ".join(change.lines),
                        change.note,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="activity-{context["period"]}.csv"'
    return response


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: whatever broke may be what they need (the database, say).
    from django.template import loader

    if is_connection_lost(sys.exception()):
        # The database went away under this request: a passing problem, not a bug. Nothing
        # was committed (every write is one transaction), and the next request reconnects.
        connections_reset_broken()
        return HttpResponse(
            loader.get_template("503.html").render(),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
