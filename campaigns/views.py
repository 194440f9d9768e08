from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from access_audience.htmx import render_page
from access_audience.links import id_url
from access_audience.pagination import paginate
from access_audience.params import month_bounds, parse_id, parse_int
from access_audience.submissions import SAVED_ONCE, once_per_form, submitted_once
from audiences.selectors import audience_find
from campaigns import forms as forms_module
from campaigns import selectors, services
from campaigns.forms import CampaignFilterForm, CampaignForm, parse_month
from campaigns.models import Campaign
from campaigns.targeting import Definition
from campaigns.warnings import (
    campaign_checks,
    campaign_checks_prefetched,
    campaign_warnings,
    draft_checks,
)
from channels_app.models import Channel
from channels_app.selectors import channel_colours, channels_for_request
from history.pages import object_history_context
from segments.picker import PickerInput, picker_search_requested


def _or_404(get: Callable[[int], Campaign], pk: int) -> Campaign:
    try:
        return get(pk)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign") from None


def _campaign_or_404(pk: int) -> Campaign:
    """The campaign with everything its detail and form pages show."""
    return _or_404(selectors.campaign_get, pk)


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    filters = CampaignFilterForm(request.GET, channels=channels_for_request(request))
    page = paginate(selectors.campaign_list(**filters.filters()), request.GET.get("page"))
    colours = channel_colours(channels_for_request(request))
    detail_url, duplicate_url = id_url("campaigns:detail"), id_url("campaigns:duplicate")
    checks = campaign_checks(page.object_list)
    rows = []
    for campaign in page.object_list:
        checked = checks[campaign.pk]
        final = Definition.of(checked.inclusion_ids, checked.exclusion_ids)
        campaign.colour = colours.get(campaign.channel_id, 0)
        campaign.url, campaign.duplicate_url = detail_url(campaign.pk), duplicate_url(campaign.pk)
        campaign.klaviyo_state = selectors.campaign_klaviyo_state(campaign, final)
        campaign.reach = checked.reach
        campaign.warnings, campaign.warnings_more = _compact_warnings(checked.warnings, detail_url)
        rows.append((campaign, selectors.campaign_changes(campaign, final).count))
    return render_page(
        request,
        "campaigns/list.html",
        {
            "filters": filters,
            "page_obj": page,
            "rows": rows,
            "filtered": any(request.GET.get(k) for k in filters.fields),
        },
        partial="campaign-results",
    )


# A row of the list, or a campaign under the calendar, shows this many of its warnings and
# links to its page for the rest.
WARNINGS_SHOWN = 2
# The calendar lists this many campaigns' warnings under the month; the list shows the rest.
MONTH_WARNINGS_SHOWN = 20


def _compact_warnings(warnings: list, detail_url) -> tuple[list, int]:
    """The warnings a row shows, each linking the campaign it collides with, and how many more
    the campaign has."""
    shown = warnings[:WARNINGS_SHOWN]
    for warning in shown:
        warning.other_url = detail_url(warning.other.id) if warning.other else ""
    return shown, len(warnings) - len(shown)


def _month_links(year: int, month: int, today) -> dict[str, object]:
    """The calendar's heading and its previous / next / this month links (`YYYY-MM`); no
    previous or next link leads outside the months a request may name."""
    prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    first, last = month_bounds()
    return {
        "month_start": timezone.datetime(year, month, 1).date(),
        "prev_month": f"{prev_year:04d}-{prev_month:02d}" if (year, month) > first else "",
        "next_month": f"{next_year:04d}-{next_month:02d}" if (year, month) < last else "",
        "this_month": f"{today.year:04d}-{today.month:02d}",
    }


def _colour_calendar(weeks, channels: list[Channel], detail_url, ids) -> list[Campaign]:
    """Give each campaign of the month its channel's colour, its link, its warnings and its
    title (what a pointer over it says), and each channel of the legend its colour. Returns
    the campaigns that have warnings, by send time."""
    colours = channel_colours(channels)
    month = [campaign for week in weeks for day in week for campaign in day.campaigns]
    warnings = campaign_warnings(month, ids=ids)
    for campaign in month:
        campaign.colour = colours.get(campaign.channel_id, 0)
        campaign.url = detail_url(campaign.pk)
        campaign.send_time = campaign.local_send_at.strftime("%H:%M")
        campaign.title = f"{campaign.channel.name} · {campaign.get_status_display()}"
        campaign.all_warnings = warnings[campaign.pk]
        if campaign.all_warnings:
            summaries = " · ".join(w.summary for w in campaign.all_warnings)
            campaign.title = f"{campaign.title} · {summaries}"
    for channel in channels:
        channel.colour = colours.get(channel.pk, 0)
    return [campaign for campaign in month if campaign.all_warnings]


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_calendar(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    year, month = parse_month(request.GET.get("month"), today)
    channels = channels_for_request(request)
    channel_slug = request.GET.get("channel", "")
    if channel_slug not in {c.slug for c in channels}:
        channel_slug = ""
    shown = {"year": year, "month": month, "channels": channels, "channel_slug": channel_slug}
    weeks = selectors.campaign_calendar(**shown)
    detail_url = id_url("campaigns:detail")
    ids = selectors.campaign_calendar_query(**shown).values("pk")
    warned = _colour_calendar(weeks, channels, detail_url, ids)
    for campaign in warned[:MONTH_WARNINGS_SHOWN]:
        campaign.warnings, campaign.warnings_more = _compact_warnings(
            campaign.all_warnings, detail_url
        )
    context = {
        "weeks": weeks,
        "warned": warned[:MONTH_WARNINGS_SHOWN],
        "warned_more": len(warned) - len(warned[:MONTH_WARNINGS_SHOWN]),
        "channel_slug": channel_slug,
        "channels": channels,
        **_month_links(year, month, today),
    }
    return render_page(request, "campaigns/calendar.html", context, partial="calendar")


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(pk)
    checks = campaign_checks_prefetched(campaign)
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "targeting": selectors.campaign_targeting(campaign),
            "warnings": checks.warnings,
            "reach": checks.reach,
        },
    )


@require_POST
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_reapply(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    version = parse_int(request.POST.get("version"), min_value=0)
    try:
        services.campaign_reapply_audience(
            campaign=campaign, user=request.user, expected_version=version
        )
    except services.CampaignChangedMeanwhile:
        messages.error(
            request,
            "Someone changed this campaign meanwhile. Here is its current state; "
            "re-apply again if you still want to.",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if not selectors.campaign_exists(pk):
            return redirect("campaigns:list")
    else:
        messages.success(
            request,
            "Re-applied the current audience. The campaign's own additions and removals were kept.",
        )
    return redirect("campaigns:detail", pk=pk)


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.delete_campaign", raise_exception=True)
def campaign_delete(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _or_404(selectors.campaign_get_with_channel, pk)
    if request.method == "POST":
        services.campaign_delete(campaign=campaign)
        messages.success(request, f"Deleted the campaign “{campaign.name}”.")
        return redirect(reverse("campaigns:list"))
    return render(request, "campaigns/delete.html", {"campaign": campaign})


def _form_page(request, *, setup, form, campaign=None, conflict=None) -> HttpResponse:
    checks = draft_checks(campaign=campaign, channel=form.channel, **form.draft_values())
    return render_page(
        request,
        "campaigns/form.html",
        {
            "form": form,
            "setup": setup,
            "campaign": campaign,
            "conflict": conflict,
            "checks": checks,
            "copy_of": form.copy_of,
        },
        partial="campaign-form",
    )


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_form_checks(request: HttpRequest) -> HttpResponse:
    """The form's reach and warnings for what it holds now (sent as segments are picked)."""
    channels = channels_for_request(request)
    if not channels:
        raise Http404("No channel yet")
    channel = next((c for c in channels if c.slug == request.GET.get("channel")), channels[0])
    campaign = selectors.campaign_find(parse_id(request.GET.get("campaign")))
    picker = PickerInput.from_data(request.GET, name="segments")
    checks = draft_checks(
        campaign=campaign,
        channel=channel,
        status=request.GET.get("status", ""),
        send_at=forms_module.parse_send_at(request.GET.get("send_at") or None),
        include_ids=picker.include,
        exclude_ids=picker.exclude,
    )
    context = {"checks": checks, "campaign": campaign, "channel": channel}
    return render(request, "campaigns/form.html#campaign-form-checks", context)


def _bound_form(
    request, *, fallback: Channel, campaign: Campaign | None, copy_of: Campaign | None = None
):
    channels = channels_for_request(request)
    setup = forms_module.follow_choices(request.POST, channels=channels, fallback=fallback)
    # Inactive segments the campaign (or the one it copies) already has may stay.
    source = campaign or copy_of
    for notice in setup.notices:
        messages.info(request, notice)
    form = CampaignForm(
        setup.data,
        channels=channels,
        channel=setup.channel,
        audiences=setup.audiences,
        base=setup.base,
        keep_inactive_ids=selectors.campaign_segment_ids(source) if source else [],
        campaign=campaign,
        copy_of=copy_of,
    )
    return setup, form


def _save_args(request, form: CampaignForm) -> dict:
    data = form.cleaned_data
    return {
        "user": request.user,
        "channel": form.channel,
        "name": data["name"],
        "status": data["status"],
        "send_at": data.get("send_at"),
        "notes": data.get("notes", ""),
        "link": data.get("link", ""),
        "audience": data.get("audience"),
        "inclusion_ids": data["segments"].include_ids,
        "exclusion_ids": data["segments"].exclude_ids,
    }


def _create_from_post(request, *, fallback: Channel, copy_of: Campaign | None = None):
    """Save a new campaign from the posted form, or show it again (refreshed or with errors)."""
    setup, form = _bound_form(request, fallback=fallback, campaign=None, copy_of=copy_of)
    if not _should_redisplay(request, setup, form) and form.is_valid():
        try:
            with submitted_once(request, fallback=reverse("campaigns:list")) as record:
                campaign = services.campaign_create(copy_of=copy_of, **_save_args(request, form))
                record(_detail_url(campaign))
        except ValidationError as exc:
            form.apply_service_error(exc)
        else:
            messages.success(request, f"Campaign “{campaign.name}” saved.")
            return redirect("campaigns:detail", pk=campaign.pk)
    return _form_page(request, setup=setup, form=form)


def _should_redisplay(request, setup, form) -> bool:
    """A channel/audience change or a picker search shows the form again instead of saving."""
    if setup.refreshed or "_refresh" in request.POST or picker_search_requested(form):
        if setup.refreshed and "_refresh" not in request.POST and not request.htmx:
            messages.info(request, "The segments changed with your choice. Review them, then save.")
        form.show_as_typed()
        return True
    return False


def _detail_url(campaign: Campaign) -> str:
    return reverse("campaigns:detail", args=[campaign.pk])


def _new_form_page(request, channels: list[Channel]) -> HttpResponse:
    """The empty form, for the channel and audience of the link that led here (if any)."""
    channel = next((c for c in channels if c.slug == request.GET.get("channel")), channels[0])
    audience = audience_find(channel=channel, pk=parse_id(request.GET.get("audience")))
    setup, initial = forms_module.initial_setup(channel=channel, audience=audience)
    form = CampaignForm(
        channels=channels,
        channel=channel,
        audiences=setup.audiences,
        base=setup.base,
        initial=initial,
    )
    return _form_page(request, setup=setup, form=form)


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.add_campaign", raise_exception=True)
@once_per_form()
def campaign_create(request: HttpRequest) -> HttpResponse:
    channels = channels_for_request(request)
    if not channels:
        messages.error(request, "There is no channel yet. An administrator adds channels.")
        return redirect("campaigns:list")
    if request.method == "GET":
        return _new_form_page(request, channels)
    return _create_from_post(request, fallback=channels[0])


def _copy_form_page(request, source: Campaign) -> HttpResponse:
    """The new-campaign form filled in from `source`, as a Draft under a free copy name."""
    setup, initial = forms_module.initial_setup(channel=source.channel, campaign=source)
    initial.update(
        name=selectors.campaign_copy_name(source), status=Campaign.Status.DRAFT, version=None
    )
    form = CampaignForm(
        channels=channels_for_request(request),
        channel=source.channel,
        audiences=setup.audiences,
        base=setup.base,
        keep_inactive_ids=selectors.campaign_segment_ids(source),
        initial=initial,
        copy_of=source,
    )
    return _form_page(request, setup=setup, form=form)


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.add_campaign", raise_exception=True)
@once_per_form()
def campaign_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    """Duplicate: the form filled in from this campaign; the copy exists only once saved."""
    source = _campaign_or_404(pk)
    if request.method == "GET":
        return _copy_form_page(request, source)
    return _create_from_post(request, fallback=source.channel, copy_of=source)


def _edit_form_page(request, campaign: Campaign) -> HttpResponse:
    """The form filled with the campaign as it is saved."""
    setup, initial = forms_module.initial_setup(channel=campaign.channel, campaign=campaign)
    form = CampaignForm(
        channels=channels_for_request(request),
        channel=campaign.channel,
        audiences=setup.audiences,
        base=setup.base,
        keep_inactive_ids=selectors.campaign_segment_ids(campaign),
        initial=initial,
        campaign=campaign,
    )
    return _form_page(request, setup=setup, form=form, campaign=campaign)


@require_http_methods(["GET", "POST"])
@permission_required("campaigns.change_campaign", raise_exception=True)
@once_per_form(message=SAVED_ONCE)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(pk)
    if request.method == "GET":
        return _edit_form_page(request, campaign)
    setup, form = _bound_form(request, fallback=campaign.channel, campaign=campaign)
    conflict = None
    if not _should_redisplay(request, setup, form) and form.is_valid():
        version = form.cleaned_data.get("version")
        try:
            with submitted_once(request, fallback=_detail_url(campaign)) as record:
                saved = services.campaign_update(
                    campaign=campaign, expected_version=version, **_save_args(request, form)
                )
                record(_detail_url(saved))
        except services.CampaignChangedMeanwhile as exc:
            conflict = selectors.campaign_get(exc.campaign.pk)  # their segments, by name
        except ValidationError as exc:
            form.apply_service_error(exc)
        else:
            messages.success(request, f"Campaign “{saved.name}” saved.")
            return redirect("campaigns:detail", pk=saved.pk)
    return _form_page(request, setup=setup, form=form, campaign=campaign, conflict=conflict)


@require_GET
@permission_required("campaigns.view_campaign", raise_exception=True)
@vary_on_headers("HX-Request")
def campaign_history(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = Campaign.objects.filter(pk=pk).first()
    context = object_history_context(
        request, object_type="campaign", object_id=pk, channel_id=None, exists=bool(campaign)
    )
    context.update(object_label="Campaign", back_url=reverse("campaigns:list"))
    context["back_label"] = "Campaigns"
    if campaign is not None:
        context.update(object_name=campaign.name, current_version=campaign.version)
        context["detail_url"] = reverse("campaigns:detail", args=[pk])
        if request.user.has_perm("campaigns.change_campaign"):
            context["restore_url"] = reverse("campaigns:restore", args=[pk])
    return render_page(request, "history/object.html", context, partial="history-entries")


@require_POST
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_restore(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    version = request.POST.get("version", "")
    try:
        services.campaign_restore(
            campaign=campaign,
            change_id=int(request.POST.get("change", "") or 0),
            expected_version=int(version) if version.isdigit() else None,
            user=request.user,
        )
    except services.CampaignChangedMeanwhile:
        messages.error(request, "Someone saved this campaign meanwhile: nothing was restored.")
    except (ValidationError, ValueError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", ["Choose a save to restore."])))
    else:
        messages.success(request, f"Restored the targeting of “{campaign.name}”.")
    return redirect("campaigns:history", pk)
