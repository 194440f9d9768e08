from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from access_audience.htmx import render_page
from access_audience.pagination import paginate
from access_audience.submissions import SAVED_ONCE, once_per_form, submitted_once
from audiences import selectors, services
from audiences.forms import AudienceForm
from audiences.models import Audience
from channels_app.models import Channel
from history.pages import object_history_context
from segments.picker import PickerInput, picker_search_requested
from segments.reach import segment_reach


def _channel(slug: str) -> Channel:
    return get_object_or_404(Channel, slug=slug)


def _audience(channel: Channel, pk: int) -> Audience:
    try:
        return selectors.audience_get(channel=channel, pk=pk)
    except Audience.DoesNotExist as exc:
        raise Http404("No such audience in this channel.") from exc


@require_GET
@permission_required("audiences.view_audience", raise_exception=True)
def audience_list(request: HttpRequest, channel_slug: str) -> HttpResponse:
    channel = _channel(channel_slug)
    query = request.GET.get("q", "").strip()[:200]
    page_obj = paginate(
        selectors.audience_list(channel=channel, query=query), request.GET.get("page")
    )
    context = {"channel": channel, "query": query, "page_obj": page_obj}
    if not page_obj.paginator.count and not query:
        context["has_segments"] = selectors.channel_has_segments(channel=channel)
    return render_page(request, "audiences/list.html", context, partial="audience-results")


@require_GET
@permission_required("audiences.view_audience", raise_exception=True)
def audience_detail(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = _channel(channel_slug)
    audience = _audience(channel, pk)
    reach = selectors.audience_reach(audience)
    volume = audience.estimated_volume
    outside = volume is not None and reach.known and not reach.contains(volume)
    context = {"channel": channel, "audience": audience, "reach": reach, "volume_outside": outside}
    return render(request, "audiences/detail.html", context)


@require_GET
@permission_required("audiences.view_audience", raise_exception=True)
def audience_reach(request: HttpRequest, channel_slug: str) -> HttpResponse:
    """The form's reach region for the segments the picker holds (sent as they are ticked)."""
    channel = _channel(channel_slug)
    picker = PickerInput.from_data(request.GET, name="segments")
    reach = segment_reach(channel=channel, include_ids=picker.include, exclude_ids=picker.exclude)
    return render(
        request, "audiences/form.html#audience-reach", {"channel": channel, "reach": reach}
    )


def _form_page(request, *, channel, form, audience=None, conflict=None, clone_of=None):
    include, exclude = form.segment_ids()
    reach = segment_reach(channel=channel, include_ids=include, exclude_ids=exclude)
    context = {"channel": channel, "form": form, "audience": audience, "conflict": conflict}
    return render(request, "audiences/form.html", {**context, "reach": reach, "clone_of": clone_of})


def _fields(request: HttpRequest, form: AudienceForm) -> dict:
    """What the services take from a valid form."""
    data = form.cleaned_data
    return {
        "name": data["name"],
        "estimated_volume": data["estimated_volume"],
        "include": data["segments"].include,
        "exclude": data["segments"].exclude,
        "user": request.user,
    }


def _detail_url(channel: Channel, audience: Audience) -> str:
    return reverse("audiences:detail", args=[channel.slug, audience.pk])


def _list_url(channel: Channel) -> str:
    return reverse("audiences:list", args=[channel.slug])


def _create_from_post(request: HttpRequest, *, channel: Channel, clone_of=None) -> HttpResponse:
    """Save a new audience from the posted form (or show it again with what is wrong)."""
    form = AudienceForm(request.POST, channel=channel, clone_of=clone_of)
    page = {"channel": channel, "clone_of": clone_of}
    if picker_search_requested(form) or form.use_reach_requested():
        return _form_page(request, form=form.show_as_typed(), **page)
    if form.is_valid():
        try:
            with submitted_once(request, fallback=_list_url(channel)) as record:
                audience = services.audience_create(
                    channel=channel,
                    allow_inactive_ids=form.keep_inactive_ids,
                    **_fields(request, form),
                )
                record(_detail_url(channel, audience))
        except ValidationError as exc:
            form.apply_service_error(exc)
        else:
            messages.success(request, f"Audience “{audience.name}” created.")
            return redirect("audiences:detail", channel.slug, audience.pk)
    return _form_page(request, form=form, **page)


@require_http_methods(["GET", "POST"])
@permission_required("audiences.add_audience", raise_exception=True)
@once_per_form()
def audience_create(request: HttpRequest, channel_slug: str) -> HttpResponse:
    channel = _channel(channel_slug)
    if request.method == "GET":
        return _form_page(request, channel=channel, form=AudienceForm(channel=channel))
    return _create_from_post(request, channel=channel)


def _keep_typed_over(form: AudienceForm, conflict: Audience) -> None:
    """Keep everything typed; a second save knowingly replaces the newer version."""
    form.data = form.data.copy()
    form.data["version"] = str(conflict.version)


@require_http_methods(["GET", "POST"])
@permission_required("audiences.change_audience", raise_exception=True)
@once_per_form(message=SAVED_ONCE)
def audience_edit(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = _channel(channel_slug)
    audience = _audience(channel, pk)
    page = {"channel": channel, "audience": audience}
    if request.method == "GET":
        return _form_page(request, form=AudienceForm(channel=channel, audience=audience), **page)
    form = AudienceForm(request.POST, channel=channel, audience=audience)
    if picker_search_requested(form) or form.use_reach_requested():
        return _form_page(request, form=form.show_as_typed(), **page)
    conflict = None
    if form.is_valid():
        version = form.cleaned_data["version"] or audience.version
        try:
            with submitted_once(request, fallback=_detail_url(channel, audience)) as record:
                audience = services.audience_update(
                    audience=audience, version=version, **_fields(request, form)
                )
                record(_detail_url(channel, audience))
        except services.AudienceChanged as exc:
            conflict = selectors.audience_get(channel=channel, pk=exc.current.pk)
            _keep_typed_over(form, conflict)
        except ValidationError as exc:
            form.apply_service_error(exc)
        else:
            messages.success(request, f"Audience “{audience.name}” saved.")
            return redirect("audiences:detail", channel.slug, audience.pk)
    return _form_page(request, form=form, conflict=conflict, **page)


@require_http_methods(["GET", "POST"])
@permission_required("audiences.add_audience", raise_exception=True)
@once_per_form()
def audience_clone(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    """The new-audience form filled in from another one; the copy exists only once saved."""
    channel = _channel(channel_slug)
    source = _audience(channel, pk)
    if request.method == "POST":
        return _create_from_post(request, channel=channel, clone_of=source)
    name = selectors.audience_copy_name(source)
    form = AudienceForm(channel=channel, clone_of=source, copy_name=name)
    return _form_page(request, channel=channel, form=form, clone_of=source)


@require_http_methods(["GET", "POST"])
@permission_required("audiences.delete_audience", raise_exception=True)
def audience_delete(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = _channel(channel_slug)
    audience = _audience(channel, pk)
    if request.method == "POST":
        name = audience.name
        services.audience_delete(audience=audience)
        messages.success(request, f"Audience “{name}” deleted.")
        return redirect("audiences:list", channel.slug)
    return render(request, "audiences/delete.html", {"channel": channel, "audience": audience})


@require_GET
@permission_required("audiences.view_audience", raise_exception=True)
@vary_on_headers("HX-Request")
def audience_history(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = _channel(channel_slug)
    audience = Audience.objects.filter(channel=channel, pk=pk).first()
    context = object_history_context(
        request, object_type="audience", object_id=pk, channel_id=channel.pk, exists=bool(audience)
    )
    context.update(
        channel=channel,
        object_label=f"{channel.name} audience",
        back_url=_list_url(channel),
        back_label=f"{channel.name} audiences",
    )
    if audience is not None:
        context.update(object_name=audience.name, detail_url=_detail_url(channel, audience))
        context["current_version"] = audience.version
        if request.user.has_perm("audiences.change_audience"):
            context["restore_url"] = reverse("audiences:restore", args=[channel.slug, pk])
    return render_page(request, "history/object.html", context, partial="history-entries")


@require_POST
@permission_required("audiences.change_audience", raise_exception=True)
def audience_restore(request: HttpRequest, channel_slug: str, pk: int) -> HttpResponse:
    channel = _channel(channel_slug)
    audience = _audience(channel, pk)
    version = request.POST.get("version", "")
    try:
        services.audience_restore(
            audience=audience,
            change_id=int(request.POST.get("change", "") or 0),
            version=int(version) if version.isdigit() else None,
            user=request.user,
        )
    except services.AudienceChanged:
        messages.error(request, "Someone saved this audience meanwhile: nothing was restored.")
    except (ValidationError, ValueError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", ["Choose a save to restore."])))
    else:
        messages.success(request, f"Restored the targeting of “{audience.name}”.")
    return redirect("audiences:history", channel.slug, pk)
