"""The Integrations → Klaviyo page, the run pages and the sync and sizes panels the Segments tab
loads."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from access_audience.htmx import render_page, wants_partial
from access_audience.pagination import paginate
from access_audience.params import parse_id
from campaigns.models import Campaign
from channels_app.models import Channel
from history.actor import RUN_SYNC as HISTORY_RUN_SYNC
from history.pages import run_changes_context
from integrations.klaviyo import background, crypto, push_selectors, selectors, services, sizes
from integrations.klaviyo.client import KlaviyoError
from integrations.klaviyo.forms import ApiKeyForm, ChannelSyncForm
from integrations.klaviyo.models import CampaignPush
from integrations.klaviyo.push import PushAlreadyRunning, PushRefused

VIEW_RUNS = "klaviyo.view_syncrun"
RUN_SYNC = "klaviyo.add_syncrun"
MANAGE_KEY = "klaviyo.manage_klaviyo_key"
VIEW_PUSH = "klaviyo.view_campaignpush"
PUSH = "klaviyo.add_campaignpush"
SEGMENTS_CHANGED = "segments-changed"
HISTORY_PER_PAGE = 20


def _settings_context(request: HttpRequest, **extra) -> dict:
    page_obj = paginate(
        selectors.sync_run_list(), request.GET.get("page"), per_page=HISTORY_PER_PAGE
    )
    selectors.sync_runs_as_shown(page_obj)
    return {
        "connection": selectors.connection_get(),
        "can_manage_key": request.user.has_perm(MANAGE_KEY),
        "can_sync": request.user.has_perm(RUN_SYNC),
        "channels": selectors.channel_sync_list(),
        "page_obj": page_obj,
        "key_form": ApiKeyForm(),
        **extra,
    }


@require_GET
@permission_required(VIEW_RUNS, raise_exception=True)
def klaviyo_settings(request: HttpRequest) -> HttpResponse:
    context = _settings_context(request)
    return render_page(request, "klaviyo/settings.html", context, partial="klaviyo-history")


@require_POST
@permission_required(MANAGE_KEY, raise_exception=True)
def key_save(request: HttpRequest) -> HttpResponse:
    if selectors.connection_get().from_environment:
        messages.error(
            request, "The key comes from KLAVIYO_API_KEY in the environment; change it there."
        )
        return redirect("klaviyo:settings")
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            services.klaviyo_key_save(api_key=form.cleaned_data["api_key"], user=request.user)
        except crypto.EncryptionNotConfigured as error:
            form.add_error(None, str(error))
        else:
            # Saving tests the key: the badge then says what was verified.
            result = services.klaviyo_connection_test()
            (messages.success if result.ok else messages.warning)(
                request, f"Klaviyo key saved. {result.message}"
            )
            if wants_partial(request):
                return HttpResponseClientRedirect(reverse("klaviyo:settings"))
            return redirect("klaviyo:settings")
    return render_page(
        request,
        "klaviyo/settings.html",
        _settings_context(request, key_form=form),
        partial="klaviyo-connection",
    )


@require_POST
@permission_required(MANAGE_KEY, raise_exception=True)
def key_delete(request: HttpRequest) -> HttpResponse:
    if services.klaviyo_key_delete(user=request.user):
        messages.success(request, "Klaviyo disconnected: the saved key was deleted.")
    else:
        messages.info(request, "There was no saved key to delete.")
    return redirect("klaviyo:settings")


@require_POST
@permission_required(MANAGE_KEY, raise_exception=True)
def connection_test(request: HttpRequest) -> HttpResponse:
    result = services.klaviyo_connection_test()
    if wants_partial(request):
        context = _settings_context(request, test_result=result)
        return render(request, "klaviyo/settings.html#klaviyo-connection", context)
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("klaviyo:settings")


@require_POST
@permission_required(RUN_SYNC, raise_exception=True)
def channel_switch(request: HttpRequest, channel_slug: str) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    form = ChannelSyncForm(request.POST)
    form.is_valid()  # a BooleanField that is not required is always valid
    enabled = form.cleaned_data.get("enabled", False)
    services.channel_sync_set(channel=channel, enabled=enabled)
    if not wants_partial(request):
        state = "on" if enabled else "off"
        messages.success(request, f"Sync from Klaviyo is {state} for {channel.name}.")
        return redirect("klaviyo:settings")
    return render(
        request,
        "klaviyo/settings.html#klaviyo-channels",
        {"channels": selectors.channel_sync_list(), "can_sync": True},
    )


@require_GET
@permission_required(VIEW_RUNS, raise_exception=True)
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.sync_run_get(run_id=run_id)
    if run is None:
        raise Http404("No such sync run.")
    context = {"run": run}
    if run.is_finished and not wants_partial(request):
        context.update(run_changes_context(request, run_kind=HISTORY_RUN_SYNC, run_id=run.pk))
    return render_page(request, "klaviyo/run_detail.html", context, partial="run-progress")


# -- the Segments tab's panel ----------------------------------------------------------------


def sync_panel_context(*, channel: Channel, user, notice: str = "", notice_run=None) -> dict:
    """Everything the panel shows, in two queries. A run whose worker stopped is shown failed
    and the channel free to sync again; starting that sync fails it for real."""
    result = selectors.channel_last_result(channel=channel)
    return {
        "channel": channel,
        "connection": selectors.connection_get(),
        "result": result,
        "run": result.run if result else None,
        "can_view": user.has_perm(VIEW_RUNS),
        "can_sync": user.has_perm(RUN_SYNC),
        "notice": notice,
        "notice_run": notice_run,
    }


def _panel_response(
    request: HttpRequest, context: dict, *, watched_run_id: int | None
) -> HttpResponse:
    response = render(request, "klaviyo/segments_sync_panel.html", context)
    run = context["run"]
    if run and run.is_finished and watched_run_id == run.pk:
        # The run this page was watching just ended: the segments table reloads itself.
        trigger_client_event(response, SEGMENTS_CHANGED, {"run": run.pk, "status": run.status})
    return response


@require_POST
@permission_required(RUN_SYNC, raise_exception=True)
def sync_start(request: HttpRequest, channel_slug: str) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    notice, notice_run, run_id = "", None, None
    try:
        run = background.sync_start(channel=channel, user=request.user)
        run_id = run.pk
    except services.NotConnected as error:
        notice = str(error)
    except services.SyncAlreadyRunning as error:
        notice, notice_run = "A sync from Klaviyo is already running for this channel.", error.run
    if not wants_partial(request):
        if notice:
            messages.error(request, notice)
        else:
            messages.success(request, "Sync from Klaviyo started.")
        return redirect("segments:list", channel_slug=channel.slug)
    context = sync_panel_context(
        channel=channel, user=request.user, notice=notice, notice_run=notice_run
    )
    return _panel_response(request, context, watched_run_id=run_id)


@require_GET
@permission_required(VIEW_RUNS, raise_exception=True)
def sync_panel(request: HttpRequest, channel_slug: str) -> HttpResponse:
    """The panel the Segments tab loads into its placeholder, and polls while a run goes on."""
    channel = get_object_or_404(Channel, slug=channel_slug)
    watched = parse_id(request.GET.get("run"))
    context = sync_panel_context(channel=channel, user=request.user)
    return _panel_response(request, context, watched_run_id=watched)


# -- the campaign page's In Klaviyo panel ---------------------------------------------------


def _panel(request: HttpRequest, campaign_id: int, **notices) -> HttpResponse:
    try:
        panel = push_selectors.push_panel_get(campaign_id=campaign_id)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign.") from None
    context = {
        "panel": panel,
        "can_push": request.user.has_perm(PUSH),
        "now_day": timezone.localdate().strftime("%Y%m%d"),
        **notices,
    }
    return render_page(request, "klaviyo/campaign_push.html", context, partial="klaviyo-push-panel")


def _after_post(
    request: HttpRequest, campaign_id: int, *, notice: str = "", ok: str = "", on_panel=False
):
    """`on_panel`: the panel shows the failure itself (its error box), so htmx gets no notice."""
    if wants_partial(request):
        return _panel(request, campaign_id, notice="" if on_panel else notice, notice_ok=ok)
    (messages.error if notice else messages.success)(request, notice or ok)
    return redirect("campaigns:detail", pk=campaign_id)


@require_GET
@permission_required(VIEW_PUSH, raise_exception=True)
def campaign_panel(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The panel the campaign page loads into its placeholder (and polls while sending)."""
    return _panel(request, campaign_id)


def _push(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    notice, on_panel = "", False
    try:
        pushed = background.push_start(campaign=campaign, user=request.user, action=action)
    except (services.NotConnected, PushRefused, PushAlreadyRunning) as error:
        notice = str(error)
    else:
        if pushed.state == CampaignPush.State.FAILED:
            notice, on_panel = pushed.error, True
    done = "Updated in Klaviyo." if action == CampaignPush.Action.UPDATE else "Sent to Klaviyo."
    if not notice and pushed.in_progress:
        done = "Queued: the worker sends it to Klaviyo; this panel follows its progress."
    return _after_post(
        request, campaign_id, notice=notice, ok="" if notice else done, on_panel=on_panel
    )


@require_POST
@permission_required(PUSH, raise_exception=True)
def campaign_send(request: HttpRequest, campaign_id: int) -> HttpResponse:
    return _push(request, campaign_id, CampaignPush.Action.CREATE)


@require_POST
@permission_required(PUSH, raise_exception=True)
def campaign_update(request: HttpRequest, campaign_id: int) -> HttpResponse:
    return _push(request, campaign_id, CampaignPush.Action.UPDATE)


@require_POST
@permission_required(PUSH, raise_exception=True)
def campaign_refresh(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        background.push_refresh(campaign=campaign)
    except (services.NotConnected, PushRefused, KlaviyoError) as error:
        return _after_post(request, campaign_id, notice=str(error))
    return _after_post(request, campaign_id, ok="Read the status from Klaviyo again.")


# -- the Segments tab's sizes panel -------------------------------------------------------------


def sizes_panel_context(*, channel: Channel, user, notice: str = "") -> dict:
    """What the sizes panel shows (two queries): the channel's latest count and its progress."""
    result = selectors.channel_last_size_result(channel=channel)
    run = result.run if result else None
    progress = sizes.size_run_progress(run) if run and run.is_in_progress else None
    return {
        "channel": channel,
        "connection": selectors.connection_get(),
        "size_result": result,
        "size_run": run,
        "progress": progress,
        "time_left": sizes.time_left_words(progress) if progress else "",
        "can_refresh": user.has_perm(RUN_SYNC),
        "notice": notice,
    }


def _sizes_response(request: HttpRequest, context: dict, *, watched: int | None) -> HttpResponse:
    response = render(request, "klaviyo/sizes_panel.html", context)
    run = context["size_run"]
    if run and not run.is_in_progress and watched == run.pk:
        # The count this page was watching ended: the segments table reloads its sizes.
        trigger_client_event(response, SEGMENTS_CHANGED, {"sizes": run.pk})
    return response


@require_POST
@permission_required(RUN_SYNC, raise_exception=True)
def sizes_refresh(request: HttpRequest, channel_slug: str) -> HttpResponse:
    channel = get_object_or_404(Channel, slug=channel_slug)
    notice, run_id = "", None
    try:
        run_id = background.sizes_start(channels=[channel], user=request.user).pk
    except services.NotConnected as error:
        notice = str(error)
    except sizes.SizesAlreadyRunning:
        notice = "Sizes are already being counted for this channel."
    if not wants_partial(request):
        (messages.error if notice else messages.success)(
            request, notice or "Counting sizes from Klaviyo: the Segments tab shows the progress."
        )
        return redirect("segments:list", channel_slug=channel.slug)
    context = sizes_panel_context(channel=channel, user=request.user, notice=notice)
    return _sizes_response(request, context, watched=run_id)


@require_GET
@permission_required(VIEW_RUNS, raise_exception=True)
def sizes_panel(request: HttpRequest, channel_slug: str) -> HttpResponse:
    """The panel the Segments tab loads, and polls while a count goes on."""
    channel = get_object_or_404(Channel, slug=channel_slug)
    watched = parse_id(request.GET.get("run"))
    context = sizes_panel_context(channel=channel, user=request.user)
    return _sizes_response(request, context, watched=watched)
