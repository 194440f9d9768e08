from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from access_audience.htmx import render_page
from access_audience.pagination import paginate
from access_audience.params import clean_search
from access_audience.submissions import once_per_form, submitted_once
from channels_app.models import Channel
from channels_app.selectors import channels_for_request
from history.pages import object_history_context
from segments.forms import BulkForm, SegmentForm
from segments.models import SIZE_STALE_AFTER, Segment
from segments.selectors import (
    STATUS_CHOICES,
    clean_order,
    clean_status,
    segment_get,
    segment_same_name,
    segment_search,
    segment_selection,
    segment_size_history,
    segment_usage,
    segment_usage_counts,
)
from segments.services import (
    CopyConflict,
    SegmentGone,
    SegmentIdTaken,
    SegmentInUse,
    segment_bulk_set_active,
    segment_copy_to_channel,
    segment_create,
    segment_delete,
    segment_set_active,
    segment_update,
)
from segments.size_chart import size_chart

PER_PAGE = 50


def size_context() -> dict:
    """What the size cells compare with: a figure counted before `size_stale_before` is faded."""
    now = timezone.now()
    return {"now": now, "size_stale_before": now - SIZE_STALE_AFTER}


def _search_state(params) -> dict[str, str]:
    """The search the user is looking at, from the query string (bad values fall back)."""
    return {
        "query": clean_search(params.get("q")),
        "status": clean_status(params.get("status")),
        "order": clean_order(params.get("order")),
    }


def _list_url(channel: Channel) -> str:
    return reverse("segments:list", args=[channel.slug])


def _back(request: HttpRequest, channel: Channel) -> str:
    """Where to go after a write: the `next` page when it is ours, else the Segments tab."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() would take any other word for a view's name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return _list_url(channel)


def _sort_links(order: str) -> dict[str, dict[str, str]]:
    name_next = "-name" if order == "name" else "name"
    updated_next = "updated" if order == "-updated" else "-updated"
    size_next = "size" if order == "-size" else "-size"  # biggest first on the first click
    return {
        "size": {
            "next": size_next,
            "aria": {"size": "ascending", "-size": "descending"}.get(order, ""),
        },
        "name": {
            "next": name_next,
            "aria": {"name": "ascending", "-name": "descending"}.get(order, ""),
        },
        "updated": {
            "next": updated_next,
            "aria": {"updated": "ascending", "-updated": "descending"}.get(order, ""),
        },
    }


def _permissions(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "can_add": user.has_perm("segments.add_segment"),
        "can_change": user.has_perm("segments.change_segment"),
        "can_delete": user.has_perm("segments.delete_segment"),
    }


def _gone(request: HttpRequest, channel: Channel) -> HttpResponse:
    messages.error(request, str(SegmentGone()))
    if request.htmx:
        # An empty answer swapped over the row removes it.
        return HttpResponse("")
    return redirect(_back(request, channel))


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def segment_list(request: HttpRequest, channel_slug: str) -> HttpResponse:
    # One query for the channel and the other channels (the "Copy to" choices), shared with
    # the navigation.
    channels = channels_for_request(request)
    channel = next((c for c in channels if c.slug == channel_slug), None)
    if channel is None:
        raise Http404("No such channel.")
    state = _search_state(request.GET)
    page_obj = paginate(segment_search(channel=channel, **state), request.GET.get("page"))
    page_obj.object_list = segment_usage_counts(page_obj.object_list)
    perms = _permissions(request)
    context = {
        "channel": channel,
        "segments_url": _list_url(channel),
        "page_obj": page_obj,
        "segments": page_obj.object_list,
        "q": state["query"],
        "status": state["status"],
        "order": state["order"],
        "filtered": bool(state["query"]) or state["status"] != "all",
        "status_choices": STATUS_CHOICES,
        "status_label": dict(STATUS_CHOICES)[state["status"]],
        "sort": _sort_links(state["order"]),
        **size_context(),
        "other_channels": [c for c in channels if c != channel] if perms["can_add"] else [],
        **perms,
    }
    return render_page(request, "segments/list.html", context, partial="segment-results")


@require_http_methods(["GET", "POST"])
@permission_required("segments.add_segment", raise_exception=True)
@once_per_form()
def segment_add(request: HttpRequest, channel_slug: str) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    form = SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with submitted_once(request, fallback=_list_url(channel)) as record:
                segment = segment_create(channel=channel, **form.cleaned_data)
                found_url = f"{_list_url(channel)}?q={_quote(segment.external_id or segment.name)}"
                record(found_url)
        except SegmentIdTaken as exc:
            form.add_id_taken_error(exc.existing)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Added “{segment.name}” to {channel.name}.")
            _warn_same_name(request, channel, segment)
            if "add_another" in request.POST:
                return redirect("segments:add", channel.slug)
            return HttpResponseRedirect(found_url)
    return render(request, "segments/form.html", {"channel": channel, "form": form})


def _warn_same_name(request: HttpRequest, channel: Channel, segment: Segment) -> None:
    """Same-named segments are allowed (warned, never refused): say so, since a person picks
    segments by name."""
    others = segment_same_name(segment=segment)
    if not others:
        return
    if len(others) == 1:
        who = f"Another {channel.name} segment is"
    else:
        who = f"{len(others)}{'+' if len(others) == 5 else ''} other {channel.name} segments are"
    ids = [o.external_id for o in others if o.external_id]
    told = f" (Segment ID {', '.join(ids)})" if ids else " (without a Segment ID)"
    messages.warning(
        request,
        format_html(
            "{} also called “{}”{}. Both are kept; a distinct name or a Segment ID tells them "
            'apart in the picker. <a href="{}">See them side by side</a>.',
            who,
            segment.name,
            told,
            f"{_list_url(channel)}?q={_quote(segment.name)}",
        ),
    )


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def segment_detail(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    segment = get_object_or_404(Segment, channel=channel, pk=pk)
    context = {
        "channel": channel,
        "segment": segment,
        "usage": segment_usage(segment=segment),
        "size_chart": size_chart(segment_size_history(segment=segment)),
        **size_context(),
        **_permissions(request),
    }
    return render(request, "segments/detail.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("segments.change_segment", raise_exception=True)
def segment_edit(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    segment = segment_get(channel=channel, pk=pk)
    if segment is None:
        return _gone(request, channel)
    initial = {
        "name": segment.name,
        "external_id": segment.external_id,
        "link": segment.link,
        "size": "" if segment.size is None else f"{segment.size:,}",
    }
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            segment_update(segment=segment, **form.cleaned_data)
        except SegmentGone:
            return _gone(request, channel)
        except SegmentIdTaken as exc:
            form.add_id_taken_error(exc.existing)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved “{segment.name}”.")
            _warn_same_name(request, channel, segment)
            return redirect(_back(request, channel))
    next_url = _back(request, channel)
    context = {"channel": channel, "form": form, "segment": segment, "next": next_url}
    context["same_name"] = segment_same_name(segment=segment)
    return render(request, "segments/form.html", context)


@require_POST
@permission_required("segments.change_segment", raise_exception=True)
def segment_set_active_view(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    """Make one segment active (active=1) or inactive (active=0): a row button or a plain form."""
    channel = get_object_or_404(Channel, slug=channel_slug)
    segment = segment_get(channel=channel, pk=pk)
    if segment is None:
        return _gone(request, channel)
    is_active = request.POST.get("active") == "1"
    try:
        segment_set_active(segment=segment, is_active=is_active)
    except SegmentGone:
        return _gone(request, channel)
    state = "active" if is_active else "inactive"
    messages.success(request, f"“{segment.name}” is now {state}.")
    if request.htmx:
        segment = segment_usage_counts([segment])[0]
        context = {"channel": channel, "segments_url": _list_url(channel), "segment": segment}
        context.update(_permissions(request), **size_context())
        return render(request, "segments/list.html#segment-row", context)
    return redirect(_back(request, channel))


@require_POST
@permission_required("segments.change_segment", raise_exception=True)
def segment_bulk(request: HttpRequest, channel_slug: str) -> HttpResponse:
    """Activate, deactivate or copy the ticked segments, or every segment matching the search."""
    channel = get_object_or_404(Channel, slug=channel_slug)
    form = BulkForm(request.POST, channel=channel)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_back(request, channel))
    data = form.cleaned_data
    selection = segment_selection(
        channel=channel,
        ids=data["segment"],
        select_all=data["select_all"],
        query=data["q"],
        status=data["status"],
    )
    if data["action"] == "copy":
        if not request.user.has_perm("segments.add_segment"):
            raise PermissionDenied
        _bulk_copy(request, selection, data["target"])
    else:
        _bulk_set_active(request, selection, is_active=data["action"] == "activate")
    return redirect(_back(request, channel))


def _bulk_copy(request: HttpRequest, selection, target: Channel) -> None:
    try:
        result = segment_copy_to_channel(segments=selection, target=target)
    except CopyConflict as exc:
        messages.error(request, str(exc))
        return
    text = f"Copied {_count(result.copied)} to {target.name}."
    if result.skipped:
        text += (
            f" Skipped {_count(result.skipped)} that {target.name} already has "
            "(same Segment ID, or same name for segments without ID)."
        )
    messages.success(request, text)


def _bulk_set_active(request: HttpRequest, selection, *, is_active: bool) -> None:
    changed = segment_bulk_set_active(segments=selection, is_active=is_active)
    if changed:
        verb = "Activated" if is_active else "Deactivated"
        messages.success(request, f"{verb} {_count(changed)}.")
    else:
        state = "active" if is_active else "inactive"
        messages.info(request, f"Nothing changed: the selected segments were already {state}.")


def _count(n: int) -> str:
    return f"{n:,} segment" if n == 1 else f"{n:,} segments"


@require_http_methods(["GET", "POST"])
@permission_required("segments.delete_segment", raise_exception=True)
def segment_delete_view(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    segment = segment_get(channel=channel, pk=pk)
    if segment is None:
        return _gone(request, channel)
    if request.method == "POST":
        try:
            segment_delete(segment=segment)
        except SegmentGone:
            return _gone(request, channel)
        except SegmentInUse as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Deleted “{segment.name}”.")
            return redirect("segments:list", channel.slug)
    context = {
        "channel": channel,
        "segment": segment,
        "usage": segment_usage(segment=segment),
        **_permissions(request),
    }
    return render(request, "segments/delete.html", context)


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
@vary_on_headers("HX-Request")
def segment_history(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    segment = Segment.objects.filter(channel=channel, pk=pk).first()
    context = object_history_context(
        request, object_type="segment", object_id=pk, channel_id=channel.pk, exists=bool(segment)
    )
    context.update(
        channel=channel,
        object_label=f"{channel.name} segment",
        back_url=reverse("segments:list", args=[channel.slug]),
        back_label=f"{channel.name} segments",
    )
    if segment is not None:
        context["object_name"] = segment.name
        context["detail_url"] = reverse("segments:detail", args=[channel.slug, pk])
    return render_page(request, "history/object.html", context, partial="history-entries")
