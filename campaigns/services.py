"""Every write to a campaign goes through here."""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from audiences.models import Audience
from campaigns.history import campaign_record, campaign_stored_state
from campaigns.models import Campaign
from campaigns.targeting import Definition, reapply
from channels_app.models import Channel
from history.models import Change
from history.selectors import object_change_get
from history.words import when_and_who
from segments.history import restore_problems
from segments.selection import segment_selection_check
from segments.selectors import segments_by_id
from segments.validators import validate_http_url


class CampaignChangedMeanwhile(Exception):
    """Someone saved the campaign after the form was opened."""

    def __init__(self, campaign: Campaign):
        super().__init__(
            f"“{campaign.name}” was changed by someone else meanwhile. "
            "Their version is shown below; your changes were not saved."
        )
        self.campaign = campaign


def audience_definition(audience: Audience) -> Definition:
    return Definition.of(
        audience.inclusion_segments.values_list("pk", flat=True),
        audience.exclusion_segments.values_list("pk", flat=True),
    )


def snapshot_of(audience: Audience) -> dict:
    """The audience's definition as stored on a campaign when applied."""
    inclusion = list(audience.inclusion_segments.order_by("name").values("id", "name"))
    exclusion = list(audience.exclusion_segments.order_by("name").values("id", "name"))
    return {
        "audience_id": audience.pk,
        "audience_name": audience.name,
        "version": audience.version,
        "inclusion": inclusion,
        "exclusion": exclusion,
    }


def snapshot_definition(snapshot: dict) -> Definition:
    return Definition.of(
        (s["id"] for s in snapshot.get("inclusion", [])),
        (s["id"] for s in snapshot.get("exclusion", [])),
    )


def _validate(
    *,
    channel: Channel,
    name: str,
    status: str,
    send_at: datetime | None,
    link: str,
    audience: Audience | None,
    inclusion_ids: set[int],
    exclusion_ids: set[int],
    allowed_inactive: set[int],
) -> None:
    errors: dict[str, list[str | ValidationError]] = {}

    def error(field: str, message: str | ValidationError) -> None:
        errors.setdefault(field, []).append(message)

    if not name.strip():
        error("name", "Give the campaign a name.")
    elif len(name.strip()) > 255:
        error("name", "Use at most 255 characters.")
    if status not in Campaign.Status.values:
        error("status", "Choose a status.")
    if link:
        try:
            validate_http_url(link)
        except ValidationError as exc:
            errors.setdefault("link", []).extend(exc.messages)
    if audience is not None and audience.channel_id != channel.pk:
        error("audience", f"Choose an audience of the {channel.name} channel.")
    selection = segment_selection_check(
        channel=channel,
        include_ids=sorted(inclusion_ids),
        exclude_ids=sorted(exclusion_ids),
        segments=segments_by_id(ids=inclusion_ids | exclusion_ids),
        keep_inactive_ids=allowed_inactive,
        require_inclusion=status == Campaign.Status.SCHEDULED,
    )
    for message in selection.errors:
        error("segments", message)
    if status == Campaign.Status.SCHEDULED and send_at is None:
        error("send_at", "A scheduled campaign needs a send time.")
    if errors:
        raise ValidationError(errors)


def campaign_validate(
    *,
    campaign: Campaign | None,
    channel: Channel,
    name: str,
    status: str,
    send_at: datetime | None,
    link: str,
    audience: Audience | None,
    inclusion_ids: Iterable[int],
    exclusion_ids: Iterable[int],
    copy_of: Campaign | None = None,
) -> None:
    """The rules every save obeys (for forms that validate before calling a service)."""
    snapshot = (campaign.audience_snapshot if campaign and campaign.pk else {}) or {}
    if campaign is None and copy_of is not None:
        snapshot = copy_of.audience_snapshot or {}
    if audience is not None and audience.pk != snapshot.get("audience_id"):
        snapshot = snapshot_of(audience)
    _validate(
        channel=channel,
        name=name,
        status=status,
        send_at=send_at,
        link=link,
        audience=audience,
        inclusion_ids=set(inclusion_ids),
        exclusion_ids=set(exclusion_ids),
        allowed_inactive=_allowed_inactive(campaign or copy_of, snapshot),
    )


def _allowed_inactive(campaign: Campaign | None, snapshot: dict) -> set[int]:
    """Inactive segments a campaign may keep: those it had, and those of its base audience."""
    allowed = set(snapshot_definition(snapshot).inclusion | snapshot_definition(snapshot).exclusion)
    if campaign is not None and campaign.pk:
        allowed |= set(campaign.inclusion_segments.values_list("pk", flat=True))
        allowed |= set(campaign.exclusion_segments.values_list("pk", flat=True))
    return allowed


@transaction.atomic
def campaign_create(
    *,
    user,
    channel: Channel,
    name: str,
    status: str = Campaign.Status.DRAFT,
    send_at: datetime | None = None,
    notes: str = "",
    link: str = "",
    audience: Audience | None = None,
    inclusion_ids: Iterable[int] = (),
    exclusion_ids: Iterable[int] = (),
    copy_of: Campaign | None = None,
) -> Campaign:
    """Create a campaign; with an audience, its current definition is recorded as the base.

    `copy_of`: the campaign this one was duplicated from. With the same audience the copy keeps
    the base that campaign was built on, and the inactive segments it already had may stay.
    """
    inclusion, exclusion = set(inclusion_ids), set(exclusion_ids)
    snapshot = snapshot_of(audience) if audience is not None else {}
    applied_at = timezone.now() if audience else None
    copied = (copy_of.audience_snapshot or {}) if copy_of is not None else {}
    if audience is not None and copied.get("audience_id") == audience.pk:
        snapshot, applied_at = copied, copy_of.audience_applied_at or applied_at
    _validate(
        channel=channel,
        name=name,
        status=status,
        send_at=send_at,
        link=link,
        audience=audience,
        inclusion_ids=inclusion,
        exclusion_ids=exclusion,
        allowed_inactive=_allowed_inactive(copy_of, snapshot),
    )
    campaign = Campaign.objects.create(
        channel=channel,
        name=name.strip(),
        status=status,
        send_at=send_at,
        notes=notes,
        link=link,
        audience=audience,
        audience_snapshot=snapshot,
        audience_applied_at=applied_at,
        created_by=user,
        updated_by=user,
    )
    campaign.inclusion_segments.set(inclusion)
    campaign.exclusion_segments.set(exclusion)
    campaign_record(
        campaign=campaign,
        action=Change.Action.CREATED,
        before={},
        after=campaign_stored_state(campaign),
    )
    return campaign


def _locked(campaign: Campaign, expected_version: int | None) -> Campaign:
    current = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    if current is None:
        raise ValidationError(
            {NON_FIELD_ERRORS: "This campaign was deleted meanwhile; nothing was saved."}
        )
    if expected_version is not None and current.version != expected_version:
        raise CampaignChangedMeanwhile(current)
    return current


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    user,
    expected_version: int | None,
    channel: Channel,
    name: str,
    status: str,
    send_at: datetime | None,
    notes: str,
    link: str,
    audience: Audience | None,
    inclusion_ids: Iterable[int],
    exclusion_ids: Iterable[int],
) -> Campaign:
    """Save the campaign form. A newly chosen audience becomes the new base."""
    return _campaign_save(
        campaign=campaign,
        user=user,
        expected_version=expected_version,
        channel=channel,
        name=name,
        status=status,
        send_at=send_at,
        notes=notes,
        link=link,
        audience=audience,
        inclusion_ids=inclusion_ids,
        exclusion_ids=exclusion_ids,
    )


def _campaign_save(
    *,
    campaign: Campaign,
    user,
    expected_version: int | None,
    channel: Channel,
    name: str,
    status: str,
    send_at: datetime | None,
    notes: str,
    link: str,
    audience: Audience | None,
    inclusion_ids: Iterable[int],
    exclusion_ids: Iterable[int],
    action: str = Change.Action.UPDATED,
    note: str = "",
) -> Campaign:
    current = _locked(campaign, expected_version)
    before = campaign_stored_state(current)
    inclusion, exclusion = set(inclusion_ids), set(exclusion_ids)
    snapshot = current.audience_snapshot or {}
    applied_at = current.audience_applied_at
    if audience is not None and audience.pk != snapshot.get("audience_id"):
        snapshot, applied_at = snapshot_of(audience), timezone.now()
    elif audience is None and current.audience_id is not None:
        snapshot, applied_at = {}, None  # the user removed the audience
    _validate(
        channel=channel,
        name=name,
        status=status,
        send_at=send_at,
        link=link,
        audience=audience,
        inclusion_ids=inclusion,
        exclusion_ids=exclusion,
        allowed_inactive=_allowed_inactive(current, snapshot),
    )
    current.channel = channel
    current.name = name.strip()
    current.status = status
    current.send_at = send_at
    current.notes = notes
    current.link = link
    current.audience = audience
    current.audience_snapshot = snapshot
    current.audience_applied_at = applied_at
    current.updated_by = user
    current.version += 1
    current.save()
    current.inclusion_segments.set(inclusion)
    current.exclusion_segments.set(exclusion)
    campaign_record(
        campaign=current,
        action=action,
        before=before,
        after=campaign_stored_state(current),
        note=note,
    )
    return current


@transaction.atomic
def campaign_restore(
    *, campaign: Campaign, change_id: int, user, expected_version: int | None
) -> Campaign:
    """Put the campaign's inclusions and exclusions back as they were after an earlier save (a
    new save, recorded as a restore); everything else, its base audience too, stays.

    Raises ValidationError naming the segments that no longer exist, are inactive or belong to
    another channel than the campaign's now (nothing is saved), and CampaignChangedMeanwhile.
    """
    try:
        change = object_change_get(
            object_type=Change.ObjectType.CAMPAIGN, object_id=campaign.pk, pk=change_id
        )
    except Change.DoesNotExist:
        raise ValidationError("This campaign has no such save to restore.") from None
    current = _locked(campaign, expected_version)
    state = change.state or {}
    inclusions, exclusions = state.get("inclusions", []), state.get("exclusions", [])
    if problems := restore_problems(
        channel_id=current.channel_id,
        channel_name=current.channel.name,
        items=inclusions + exclusions,
    ):
        raise ValidationError(f"This version cannot be restored: {' '.join(problems)}")
    return _campaign_save(
        campaign=current,
        user=user,
        expected_version=current.version,
        channel=current.channel,
        name=current.name,
        status=current.status,
        send_at=current.send_at,
        notes=current.notes,
        link=current.link,
        audience=current.audience,
        inclusion_ids=[item[0] for item in inclusions],
        exclusion_ids=[item[0] for item in exclusions],
        action=Change.Action.RESTORED,
        note=f"Restored the targeting saved {when_and_who(change)}.",
    )


@transaction.atomic
def campaign_reapply_audience(
    *, campaign: Campaign, user, expected_version: int | None
) -> Campaign:
    """Take the audience's current definition as the new base, keeping the campaign's own
    additions and removals."""
    current = _locked(campaign, expected_version)
    before = campaign_stored_state(current)
    audience = current.audience
    if audience is None:
        raise ValidationError("This campaign has no audience to re-apply.")
    final = Definition.of(
        current.inclusion_segments.values_list("pk", flat=True),
        current.exclusion_segments.values_list("pk", flat=True),
    )
    new_snapshot = snapshot_of(audience)
    target = reapply(
        snapshot_definition(current.audience_snapshot), audience_definition(audience), final
    )
    current.audience_snapshot = new_snapshot
    current.audience_applied_at = timezone.now()
    current.updated_by = user
    current.version += 1
    current.save()
    current.inclusion_segments.set(target.inclusion)
    current.exclusion_segments.set(target.exclusion)
    campaign_record(
        campaign=current,
        action=Change.Action.UPDATED,
        before=before,
        after=campaign_stored_state(current),
        note=f"Re-applied the current audience “{audience.name}”.",
    )
    return current


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    campaign_record(
        campaign=campaign,
        action=Change.Action.DELETED,
        before=campaign_stored_state(campaign),
        after={},
    )
    campaign.delete()
