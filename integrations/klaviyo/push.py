"""Every write of the campaign push: a campaign's targeting becomes a Klaviyo draft campaign.

One `CampaignPush` per campaign. `campaign_push_start` records the attempt (committed) before
anything calls Klaviyo; `campaign_push_execute` (the worker's task, or the command) does the
calls. The Klaviyo campaign's name carries the push's marker, so a create that timed out
after Klaviyo made the campaign is found again instead of made twice. Nothing here ever sends
or schedules a campaign in Klaviyo: it only creates drafts and changes their audiences.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.selectors import campaign_get
from campaigns.targeting import targeting_fingerprint
from channels_app.models import Channel
from history.actor import VIA_COMMAND_LINE, user_actor
from history.models import Change
from history.record import change_record
from integrations.klaviyo.client import (
    KlaviyoAuthError,
    KlaviyoCampaign,
    KlaviyoClient,
    KlaviyoError,
    KlaviyoNotFound,
    KlaviyoScopeError,
)
from integrations.klaviyo.models import CampaignPush, KlaviyoAccount
from integrations.klaviyo.services import NotConnected, klaviyo_api_key

logger = logging.getLogger(__name__)

# Klaviyo's limit per side (included, excluded); whether the API counts exclusions is
# unconfirmed, so both sides are held to it.
MAX_AUDIENCES = 15
KLAVIYO_NAME_MAX = 255
CAMPAIGN_SCOPES = ("campaigns:read", "campaigns:write")
# Recipient estimate: poll after 3 s, each wait half as long again, give up after 5 minutes.
ESTIMATE_FIRST_WAIT = 3.0
ESTIMATE_FACTOR = 1.5
ESTIMATE_MAX_WAIT = 60.0
ESTIMATE_GIVE_UP_AFTER = timedelta(minutes=5)
ESTIMATE_MAX_POLLS = 15
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
KLAVIYO_CAMPAIGNS_URL = "https://www.klaviyo.com/campaigns"


class PushRefused(Exception):
    """A precondition failed: `problems` says, in words, what to fix."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


class PushAlreadyRunning(Exception):
    def __init__(self, push: CampaignPush):
        super().__init__("This campaign is being sent to Klaviyo already; wait for it to finish.")
        self.push = push


@dataclass(frozen=True)
class Payload:
    """What Klaviyo is given for a campaign."""

    name: str
    channel: str
    included: list[str]
    excluded: list[str]
    inclusion_fingerprint: int
    exclusion_fingerprint: int


def klaviyo_name(campaign: Campaign, marker: str) -> str:
    return f"{campaign.name.strip()} {marker}"


def new_marker() -> str:
    return f"[AA-{uuid.uuid4().hex[:10]}]"


def _segment_problems(campaign: Campaign) -> list[str]:
    problems = []
    sides = [
        ("inclusion", list(campaign.inclusion_segments.all())),
        ("exclusion", list(campaign.exclusion_segments.all())),
    ]
    not_klaviyo, missing = [], []
    for _side, segments in sides:
        for segment in segments:
            if segment.kind not in ("segment", "list") or not segment.external_id:
                not_klaviyo.append(segment.name)
            elif segment.klaviyo_missing_since is not None:
                missing.append(segment.name)
    if not_klaviyo:
        problems.append(
            "These segments did not come from Klaviyo, so Klaviyo cannot target them: "
            f"{_names(not_klaviyo)}. Replace them with Klaviyo lists or segments (Sync from "
            "Klaviyo brings them in)."
        )
    if missing:
        problems.append(
            "Klaviyo no longer has these segments (marked “not in Klaviyo”): "
            f"{_names(missing)}. Remove them from the campaign, or sync again if they are back."
        )
    included, excluded = sides[0][1], sides[1][1]
    if not included:
        problems.append("Add at least one inclusion segment: Klaviyo needs someone to send to.")
    for label, segments in (("inclusion", included), ("exclusion", excluded)):
        if len(segments) > MAX_AUDIENCES:
            problems.append(
                f"Klaviyo takes at most {MAX_AUDIENCES} lists and segments per campaign; this "
                f"one has {len(segments)} {label} segments. Combine some into one Klaviyo "
                "segment, or remove some."
            )
    return problems


def _names(names: list[str]) -> str:
    shown = ", ".join(f"“{n}”" for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def name_problems(name: str, marker: str) -> list[str]:
    """Names Klaviyo would refuse are caught here, before the call."""
    problems = []
    if not name.strip():
        problems.append("Give the campaign a name first.")
    if _CONTROL.search(name):
        problems.append(
            "The campaign name has a line break or another invisible character; "
            "edit the name and retype it on one line."
        )
    room = KLAVIYO_NAME_MAX - len(marker) - 1
    if len(name.strip()) > room:
        problems.append(
            f"Klaviyo takes campaign names of at most {room} characters here (the app adds "
            f"its marker {marker}); this one has {len(name.strip())}. Shorten it."
        )
    return problems


def scope_problems() -> list[str]:
    """Campaign scopes the last key check found missing (nothing when never checked)."""
    if settings.KLAVIYO_API_KEY:
        return []
    account = KlaviyoAccount.objects.filter(pk=KlaviyoAccount.SINGLETON_PK).first()
    if account is None:
        return ["Klaviyo is not connected: an administrator saves an API key first."]
    missing = [
        check["scope"]
        for check in account.check_scopes or []
        if check.get("scope") in CAMPAIGN_SCOPES and not check.get("works")
    ]
    if missing:
        return [
            f"The Klaviyo key lacks the {' and '.join(missing)} scope"
            f"{'s' if len(missing) > 1 else ''}: give the key full access to Campaigns in "
            "Klaviyo, then use Test connection on Integrations → Klaviyo."
        ]
    return []


def push_problems(
    *, campaign: Campaign, push: CampaignPush | None, action: str, check_scopes: bool = True
) -> list[str]:
    """Everything that stops a send (or an update) before Klaviyo is called, in words.
    `campaign` comes from campaigns.selectors.campaign_get (segments prefetched)."""
    channel: Channel = campaign.channel
    if not channel.sends_with_klaviyo:
        return [
            f"The {channel.name} channel does not send with Klaviyo (its Klaviyo message type "
            "is None; an administrator can change it in the admin)."
        ]
    problems = []
    if action == CampaignPush.Action.UPDATE:
        if push is None or not push.klaviyo_campaign_id or push.pushed_at is None:
            problems.append("This campaign is not in Klaviyo yet: use Send to Klaviyo.")
        elif push.klaviyo_deleted_at is not None:
            problems.append("The campaign was deleted in Klaviyo: send it as a new draft instead.")
        elif push.klaviyo_status and not push.is_draft_there:
            problems.append(
                f"Klaviyo says the campaign is {push.klaviyo_status}: only a Draft can be "
                "changed from here. The two now differ; change it in Klaviyo if needed."
            )
    elif push is not None and push.in_klaviyo:
        problems.append("This campaign is in Klaviyo already: use Update in Klaviyo.")
    marker = push.marker if push is not None else "[AA-0000000000]"
    problems += name_problems(campaign.name, marker)
    if (
        action == CampaignPush.Action.CREATE
        and campaign.send_at is not None
        and campaign.send_at <= timezone.now()
    ):
        problems.append(
            "The send time is in the past, and Klaviyo takes only a time to come: change the "
            "send time (or clear it) first."
        )
    problems += _segment_problems(campaign)
    if check_scopes:
        problems += scope_problems()
    return problems


def payload_for(campaign: Campaign, marker: str) -> Payload:
    included = list(campaign.inclusion_segments.all())
    excluded = list(campaign.exclusion_segments.all())
    return Payload(
        name=klaviyo_name(campaign, marker),
        channel=campaign.channel.klaviyo_message_type,
        included=sorted(s.external_id for s in included),
        excluded=sorted(s.external_id for s in excluded),
        inclusion_fingerprint=targeting_fingerprint(s.pk for s in included),
        exclusion_fingerprint=targeting_fingerprint(s.pk for s in excluded),
    )


# -- the state changes -----------------------------------------------------------------------


def campaign_push_start(
    *,
    campaign: Campaign,
    user: AbstractBaseUser | None,
    action: str = CampaignPush.Action.CREATE,
) -> CampaignPush:
    """Record a send (or an update) to Klaviyo as queued; the task or the command then runs
    `campaign_push_execute`. The push row is locked, so two presses at once queue one send.

    Raises PushRefused (nothing recorded) and PushAlreadyRunning.
    """
    full = campaign_get(campaign.pk)
    klaviyo_api_key()  # NotConnected before anything is recorded
    for _ in range(2):
        try:
            with transaction.atomic():
                push = CampaignPush.objects.select_for_update().filter(campaign=full).first()
                if push is not None and push.in_progress:
                    raise PushAlreadyRunning(push)
                problems = push_problems(campaign=full, push=push, action=action)
                if problems:
                    raise PushRefused(problems)
                now = timezone.now()
                if push is None:
                    push = CampaignPush(campaign=full, marker=new_marker())
                if action == CampaignPush.Action.CREATE and push.klaviyo_deleted_at:
                    # Deleted there: a new draft, found by the same marker if a try times out.
                    push.klaviyo_campaign_id = ""
                    push.klaviyo_deleted_at = None
                    push.klaviyo_status = ""
                push.state = CampaignPush.State.QUEUED
                push.action = action
                push.attempted_at = now
                push.heartbeat_at = now
                push.attempted_by = user if user is not None and user.is_authenticated else None
                push.step = "Waiting for the worker"
                push.error = ""
                push.error_kind = ""
                push.save()
                return push
        except IntegrityError:
            continue  # the other press created the row first: lock it and look again
    push = CampaignPush.objects.get(campaign=full)
    raise PushAlreadyRunning(push)


STALE_ERROR = (
    "The send stopped reporting progress (its worker probably stopped). Try again: a draft it "
    "may have made in Klaviyo is found, not made twice."
)


def campaign_pushes_fail_stale() -> int:
    """Fail queued or sending pushes silent for SYNC_STALE_AFTER_SECONDS (`manage.py cleanup`;
    pages only show them failed, and the next press takes them over)."""
    cutoff = timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER_SECONDS)
    return CampaignPush.objects.filter(
        state__in=CampaignPush.ACTIVE_STATES, heartbeat_at__lt=cutoff
    ).update(state=CampaignPush.State.FAILED, error=STALE_ERROR, error_kind="unexpected", step="")


def campaign_push_not_queued(*, push: CampaignPush) -> CampaignPush:
    _fail(push.pk, "The send could not be queued; try again.", kind="unexpected")
    push.refresh_from_db()
    return push


def _update(push_id: int, **fields) -> None:
    CampaignPush.objects.filter(pk=push_id).update(heartbeat_at=timezone.now(), **fields)


def _fail(push_id: int, message: str, *, kind: str) -> None:
    _update(push_id, state=CampaignPush.State.FAILED, error=message, error_kind=kind, step="")


def campaign_push_execute(*, push_id: int, by_command: bool = False) -> CampaignPush:
    """Call Klaviyo for a queued push and record what happened. Never raises a KlaviyoError:
    the push records it in words (and `error_kind` for the command's exit code)."""
    claimed = CampaignPush.objects.filter(pk=push_id, state=CampaignPush.State.QUEUED).update(
        state=CampaignPush.State.SENDING,
        heartbeat_at=timezone.now(),
        step="Checking the campaign",
        attempts=F("attempts") + 1,
    )
    push = CampaignPush.objects.select_related("campaign").get(pk=push_id)
    if not claimed:
        logger.warning("Klaviyo push %s is %s; not running it", push_id, push.state)
        return push
    try:
        _execute(push, by_command=by_command)
    except NotConnected as error:
        _fail(push_id, str(error), kind="no_key")
    except (KlaviyoAuthError, KlaviyoScopeError) as error:
        _fail(push_id, _nothing_changed(push_id, _key_words(error)), kind="key")
    except PushRefused as error:
        _fail(push_id, str(error), kind="refused")
    except KlaviyoError as error:
        _fail(push_id, _nothing_changed(push_id, str(error)), kind="klaviyo")
    except Campaign.DoesNotExist:
        _fail(push_id, "The campaign was deleted meanwhile.", kind="refused")
    except Exception as error:
        logger.exception("Klaviyo push %s failed", push_id)
        _fail(
            push_id,
            f"Unexpected error ({type(error).__name__}); see the server log.",
            kind="unexpected",
        )
    push.refresh_from_db()
    return push


def _key_words(error: KlaviyoError) -> str:
    if isinstance(error, KlaviyoScopeError):
        return (
            f"The Klaviyo key lacks the {error.scope} scope: give the key that scope in "
            "Klaviyo, then try again."
        )
    return "Klaviyo rejected the API key (it is wrong or was revoked)."


def _nothing_changed(push_id: int, message: str) -> str:
    """Say what is true in Klaviyo after a failed call."""
    push = CampaignPush.objects.get(pk=push_id)
    if push.action == CampaignPush.Action.UPDATE or push.state == CampaignPush.State.DONE:
        return f"{message} Klaviyo keeps the audience it had; nothing was changed there."
    if push.klaviyo_campaign_id:
        return (
            f"{message} The draft exists in Klaviyo, but its audience may not be the one "
            "shown here: try again to finish it."
        )
    return f"{message} Nothing was created in Klaviyo (a try that timed out is found again)."


def _execute(push: CampaignPush, *, by_command: bool) -> None:
    campaign = campaign_get(push.campaign_id)
    # Checked again: the targeting may have changed since the press (scopes were checked then).
    problems = push_problems(campaign=campaign, push=push, action=push.action, check_scopes=False)
    if problems:
        raise PushRefused(problems)
    payload = payload_for(campaign, push.marker)
    with KlaviyoClient(klaviyo_api_key()) as client:
        if push.action == CampaignPush.Action.UPDATE:
            result = _update_there(push, client, payload)
        else:
            result = _create_there(push, client, payload, campaign)
        campaign_push_record_sent(
            push=push, campaign=campaign, payload=payload, result=result, by_command=by_command
        )
        logger.info("Campaign %s is in Klaviyo as %s", push.campaign_id, result.id)
        _estimate_start(push.pk, client, result.id)


def campaign_push_record_sent(
    *,
    push: CampaignPush,
    campaign: Campaign,
    payload: Payload,
    result: KlaviyoCampaign,
    by_command: bool,
) -> None:
    """The one place a send or an update is recorded as done: Klaviyo has the draft with this
    name and audience. The campaign's history says so in the same transaction."""
    now = timezone.now()
    with transaction.atomic():
        _record_in_history(push, campaign, payload, result, by_command=by_command)
        _record_sent(push, payload, result, by_command=by_command, now=now)


def _record_in_history(
    push: CampaignPush,
    campaign: Campaign,
    payload: Payload,
    result: KlaviyoCampaign,
    *,
    by_command: bool,
) -> None:
    # `push` still holds what was true before this send: the draft Klaviyo had, if any.
    before = f"draft {push.klaviyo_campaign_id}" if push.pushed_at else None
    done = "audience updated" if push.action == CampaignPush.Action.UPDATE else "sent"
    after = (
        f"draft {result.id}, {done}: {len(payload.included)} included, "
        f"{len(payload.excluded)} excluded"
    )
    change_record(
        object_type=Change.ObjectType.CAMPAIGN,
        object_id=campaign.pk,
        object_name=campaign.name,
        channel_id=campaign.channel_id,
        version=campaign.version,
        action=Change.Action.UPDATED,
        changes={"klaviyo": [before, after]},
        actor=user_actor(push.attempted_by, via=VIA_COMMAND_LINE if by_command else ""),
    )


def _record_sent(
    push: CampaignPush, payload: Payload, result: KlaviyoCampaign, *, by_command: bool, now
) -> None:
    _update(
        push.pk,
        state=CampaignPush.State.DONE,
        step="",
        error="",
        error_kind="",
        klaviyo_campaign_id=result.id,
        klaviyo_status=result.status,
        klaviyo_status_at=now,
        klaviyo_deleted_at=None,
        sent_name=payload.name,
        sent_included=payload.included,
        sent_excluded=payload.excluded,
        inclusion_fingerprint=payload.inclusion_fingerprint,
        exclusion_fingerprint=payload.exclusion_fingerprint,
        pushed_at=now,
        pushed_by=push.attempted_by,
        pushed_by_command=by_command,
    )


def _create_there(
    push: CampaignPush, client: KlaviyoClient, payload: Payload, campaign: Campaign
) -> KlaviyoCampaign:
    found = None
    if push.klaviyo_campaign_id:
        try:
            found = client.campaign_get(push.klaviyo_campaign_id)
        except KlaviyoNotFound:
            found = None
    if found is None:
        _update(push.pk, step="Looking for a draft an earlier try made")
        found = client.campaign_find(marker=push.marker, channel=payload.channel)
    if found is None:
        _update(push.pk, step="Creating the draft in Klaviyo")
        created = client.campaign_create(
            name=payload.name,
            channel=payload.channel,
            included=payload.included,
            excluded=payload.excluded,
            send_at=campaign.send_at,
        )
        _update(push.pk, klaviyo_campaign_id=created.id, klaviyo_status=created.status)
        return created
    # An earlier try made it: finish that try's work.
    _update(push.pk, klaviyo_campaign_id=found.id, klaviyo_status=found.status)
    if not found.is_draft:
        return found
    if sorted(found.included) == payload.included and sorted(found.excluded) == payload.excluded:
        return found
    _update(push.pk, step="Setting the draft's audience")
    return client.campaign_set_audiences(
        found.id, included=payload.included, excluded=payload.excluded
    )


def _update_there(push: CampaignPush, client: KlaviyoClient, payload: Payload) -> KlaviyoCampaign:
    _update(push.pk, step="Reading the campaign in Klaviyo")
    try:
        current = client.campaign_get(push.klaviyo_campaign_id)
    except KlaviyoNotFound:
        _update(push.pk, klaviyo_deleted_at=timezone.now(), klaviyo_status="")
        raise PushRefused(
            ["The campaign was deleted in Klaviyo: send it as a new draft instead."]
        ) from None
    _update(push.pk, klaviyo_status=current.status, klaviyo_status_at=timezone.now())
    if not current.is_draft:
        raise PushRefused(
            [
                f"Klaviyo says the campaign is {current.status}: only a Draft can be changed "
                "from here, so nothing was changed. The two now differ."
            ]
        )
    _update(push.pk, step="Changing the draft's audience")
    return client.campaign_set_audiences(
        current.id, included=payload.included, excluded=payload.excluded
    )


def campaign_push_refresh(*, campaign: Campaign) -> CampaignPush:
    """Read the campaign's status in Klaviyo again (and notice a deletion there).

    Raises PushRefused when the campaign is not in Klaviyo, NotConnected and KlaviyoError."""
    push = CampaignPush.objects.filter(campaign=campaign).first()
    if push is None or not push.klaviyo_campaign_id:
        raise PushRefused(["This campaign is not in Klaviyo yet."])
    with KlaviyoClient(klaviyo_api_key()) as client:
        try:
            current = client.campaign_get(push.klaviyo_campaign_id)
        except KlaviyoNotFound:
            CampaignPush.objects.filter(pk=push.pk).update(
                klaviyo_deleted_at=timezone.now(),
                klaviyo_status="",
                klaviyo_status_at=timezone.now(),
            )
        else:
            CampaignPush.objects.filter(pk=push.pk).update(
                klaviyo_status=current.status,
                klaviyo_status_at=timezone.now(),
                klaviyo_deleted_at=None,
            )
            if current.is_draft and push.estimate_status != CampaignPush.Estimate.COUNTING:
                _estimate_start(push.pk, client, current.id)
    push.refresh_from_db()
    return push


# -- Klaviyo's recipient estimate ------------------------------------------------------------


def _estimate_start(push_id: int, client: KlaviyoClient, klaviyo_id: str) -> None:
    now = timezone.now()
    try:
        status = client.estimate_start(klaviyo_id)
    except KlaviyoError as error:
        _update(
            push_id, estimate_status=CampaignPush.Estimate.FAILED, estimate_error=str(error)[:500]
        )
        return
    CampaignPush.objects.filter(pk=push_id).update(
        estimate_status=CampaignPush.Estimate.COUNTING,
        estimate_requested_at=now,
        estimate_polls=0,
        estimate_error="",
    )
    if status == "complete":
        campaign_estimate_poll(push_id=push_id)


def estimate_wait(polls: int) -> float:
    """Seconds before the next look at the estimate job."""
    return min(ESTIMATE_FIRST_WAIT * ESTIMATE_FACTOR**polls, ESTIMATE_MAX_WAIT)


def campaign_estimate_poll(*, push_id: int) -> float | None:
    """Look at the estimate job once. Returns the seconds to wait before looking again, or
    None when the estimate is counted or given up (the task re-enqueues itself; it never
    sleeps)."""
    push = CampaignPush.objects.filter(pk=push_id).first()
    if push is None or push.estimate_status != CampaignPush.Estimate.COUNTING:
        return None
    try:
        with KlaviyoClient(klaviyo_api_key()) as client:
            status = client.estimate_job_status(push.klaviyo_campaign_id)
            if status == "complete":
                count = client.estimate_get(push.klaviyo_campaign_id)
                CampaignPush.objects.filter(pk=push_id).update(
                    estimate_status=CampaignPush.Estimate.DONE,
                    estimate_count=count,
                    estimated_at=timezone.now(),
                    estimate_error="",
                )
                return None
    except (KlaviyoError, NotConnected) as error:
        CampaignPush.objects.filter(pk=push_id).update(
            estimate_status=CampaignPush.Estimate.FAILED, estimate_error=str(error)[:500]
        )
        return None
    if status == "cancelled":
        CampaignPush.objects.filter(pk=push_id).update(
            estimate_status=CampaignPush.Estimate.FAILED,
            estimate_error="Klaviyo cancelled the count; press Refresh to ask again.",
        )
        return None
    requested = push.estimate_requested_at or timezone.now()
    if (
        timezone.now() - requested > ESTIMATE_GIVE_UP_AFTER
        or push.estimate_polls >= ESTIMATE_MAX_POLLS
    ):
        CampaignPush.objects.filter(pk=push_id).update(
            estimate_status=CampaignPush.Estimate.FAILED,
            estimate_error="Klaviyo had not finished counting after 5 minutes; press Refresh "
            "to ask again.",
        )
        return None
    CampaignPush.objects.filter(pk=push_id).update(estimate_polls=push.estimate_polls + 1)
    return estimate_wait(push.estimate_polls + 1)
