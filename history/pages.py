"""What the History tabs and the Activity page show, from a request's filters (the views live
with the apps that own the objects)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from access_audience.pagination import paginate
from history.selectors import (
    PERIODS,
    RUN_OUTCOMES,
    HistoryFilter,
    activity_list,
    activity_people,
    kind_choices,
    last_object_name,
    object_change_exists,
    object_change_list,
    object_people,
    run_change_list,
)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def object_history_context(
    request: HttpRequest, *, object_type: str, object_id: int, channel_id: int | None, exists: bool
) -> dict:
    """A page of an object's history with the filters; the history of a deleted object stays
    readable (404 only when there is none in this channel)."""
    if not exists and not object_change_exists(
        object_type=object_type, object_id=object_id, channel_id=channel_id
    ):
        raise Http404("No such object and no history of it.")
    where = HistoryFilter.from_query(request.GET, object_type=object_type)
    since = _int(request.GET.get("since"))
    changes = object_change_list(
        object_type=object_type, object_id=object_id, where=where, since_version=since
    )
    context = {
        "page_obj": paginate(changes, request.GET.get("page")),
        "where": where,
        "people": object_people(object_type=object_type, object_id=object_id),
        "kinds": kind_choices(object_type),
        "since": since,
        "deleted": not exists,
    }
    if not exists:
        context["object_name"] = last_object_name(object_type=object_type, object_id=object_id)
    return context


def activity_context(request: HttpRequest) -> dict:
    period = request.GET.get("period", "today")
    if period not in dict(PERIODS):
        period = "today"
    where = HistoryFilter.from_query(request.GET)
    return {
        "changes": activity_list(period=period, where=where),
        "where": where,
        "period": period,
        "periods": PERIODS,
        "people": activity_people(period=period),
        "kinds": kind_choices(),
    }


def run_changes_context(request: HttpRequest, *, run_kind: str, run_id: int) -> dict:
    """A page of the segments a run touched, with a filter by what it did to them."""
    outcome = request.GET.get("outcome", "")
    if outcome not in dict(RUN_OUTCOMES):
        outcome = ""
    changes = run_change_list(run_kind=run_kind, run_id=run_id, outcome=outcome)
    return {
        "changes_page": paginate(changes, request.GET.get("page")),
        "outcome": outcome,
        "outcomes": RUN_OUTCOMES,
    }
