"""Every write to an audience goes through here, so the rules hold for forms, admin and scripts.

Rules: a name (unique per channel, case-insensitive) and the segment rules of
segments.selection with at least one inclusion (an inactive segment already in the audience
stays and is flagged where shown).
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audiences.history import audience_record, audience_state, audience_stored_state
from audiences.models import Audience
from channels_app.models import Channel
from history.models import Change
from history.selectors import object_change_get
from history.words import when_and_who
from segments.history import restore_problems
from segments.models import Segment
from segments.selection import segment_ids, segment_selection_check
from segments.selectors import segments_by_id

NAME_TAKEN = "This channel already has an audience named “{name}”. Choose another name."


class AudienceChanged(Exception):
    """The audience was saved by someone else since the form was opened."""

    def __init__(self, current: Audience):
        self.current = current
        super().__init__(
            f"“{current.name}” was changed by someone else meanwhile (now version "
            f"{current.version})."
        )


def _user(user: AbstractBaseUser | None):
    return user if (user is not None and user.is_authenticated) else None


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the audience a name."]})
    if len(name) > 255:
        raise ValidationError({"name": ["Keep the name to 255 characters or fewer."]})
    return name


def _check_volume(estimated_volume: int | None) -> None:
    if estimated_volume is not None and estimated_volume < 0:
        raise ValidationError({"estimated_volume": ["The estimated volume cannot be negative."]})


def _check_name_free(*, channel: Channel, name: str, exclude_pk: int | None = None) -> None:
    taken = Audience.objects.filter(channel=channel, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"name": [NAME_TAKEN.format(name=name)]})


def audience_check_segments(
    *,
    channel: Channel,
    include: Sequence[Segment | int],
    exclude: Sequence[Segment | int],
    existing_ids: Sequence[int] = (),
) -> tuple[list[Segment], list[Segment]]:
    """The inclusion and exclusion segments, re-read from the database and checked.

    Raises ValidationError (key "segments") when a rule of segment_selection_check is broken;
    `existing_ids` are segments the audience already has, which may stay even though inactive.
    """
    inc_ids, exc_ids = segment_ids(include), segment_ids(exclude)
    selection = segment_selection_check(
        channel=channel,
        include_ids=inc_ids,
        exclude_ids=exc_ids,
        segments=segments_by_id(ids=inc_ids + exc_ids),
        keep_inactive_ids=existing_ids,
        require_inclusion=True,
    )
    if selection.errors:
        raise ValidationError({"segments": selection.errors})
    return selection.include, selection.exclude


def _save_name_safely(save) -> None:
    """Run a write that may hit the unique name constraint (a race with another save)."""
    try:
        with transaction.atomic():
            save()
    except IntegrityError as exc:
        if "audience_unique_name_per_channel" in str(exc) or "UNIQUE" in str(exc).upper():
            raise ValidationError(
                {"name": ["Another audience with this name was saved just now. Choose another."]}
            ) from exc
        raise


@transaction.atomic
def audience_create(
    *,
    channel: Channel,
    name: str,
    include: Sequence[Segment | int],
    exclude: Sequence[Segment | int] = (),
    estimated_volume: int | None = None,
    user: AbstractBaseUser | None = None,
    allow_inactive_ids: Sequence[int] = (),
) -> Audience:
    """Create an audience of `channel` from inclusion and exclusion segments."""
    name = _clean_name(name)
    _check_volume(estimated_volume)
    _check_name_free(channel=channel, name=name)
    inc, exc = audience_check_segments(
        channel=channel, include=include, exclude=exclude, existing_ids=allow_inactive_ids
    )
    audience = Audience(
        channel=channel,
        name=name,
        estimated_volume=estimated_volume,
        created_by=_user(user),
        updated_by=_user(user),
    )
    _save_name_safely(audience.save)
    audience.inclusion_segments.set(inc)
    audience.exclusion_segments.set(exc)
    audience_record(
        audience=audience,
        action=Change.Action.CREATED,
        before={},
        after=audience_state(audience, inc, exc),
    )
    return audience


@transaction.atomic
def audience_update(
    *,
    audience: Audience,
    name: str,
    include: Sequence[Segment | int],
    exclude: Sequence[Segment | int] = (),
    estimated_volume: int | None = None,
    version: int | None = None,
    user: AbstractBaseUser | None = None,
) -> Audience:
    """Save new values; refuse with AudienceChanged if `version` is no longer the current one."""
    return _audience_save(
        audience=audience,
        name=name,
        include=include,
        exclude=exclude,
        estimated_volume=estimated_volume,
        version=version,
        user=user,
    )


def _audience_save(
    *,
    audience: Audience,
    name: str,
    include: Sequence[Segment | int],
    exclude: Sequence[Segment | int],
    estimated_volume: int | None,
    version: int | None,
    user: AbstractBaseUser | None,
    action: str = Change.Action.UPDATED,
    note: str = "",
) -> Audience:
    name = _clean_name(name)
    _check_volume(estimated_volume)
    _check_name_free(channel=audience.channel, name=name, exclude_pk=audience.pk)
    before = audience_stored_state(audience)
    existing = {item[0] for item in before["inclusions"] + before["exclusions"]}
    inc, exc = audience_check_segments(
        channel=audience.channel, include=include, exclude=exclude, existing_ids=list(existing)
    )
    expected = audience.version if version is None else version
    fields = {
        "name": name,
        "estimated_volume": estimated_volume,
        "updated_by": _user(user),
        "version": F("version") + 1,
    }
    updated = 0

    def save() -> None:
        nonlocal updated
        # A conditional UPDATE: of two saves from the same version only the first matches.
        updated = Audience.objects.filter(pk=audience.pk, version=expected).update(
            **fields, updated_at=timezone.now()
        )

    _save_name_safely(save)
    if not updated:
        current = Audience.objects.filter(pk=audience.pk).first()
        if current is None:
            raise ValidationError("This audience was deleted meanwhile.")
        raise AudienceChanged(current)
    audience.refresh_from_db()
    audience.inclusion_segments.set(inc)
    audience.exclusion_segments.set(exc)
    audience_record(
        audience=audience,
        action=action,
        before=before,
        after=audience_state(audience, inc, exc),
        note=note,
    )
    return audience


@transaction.atomic
def audience_restore(
    *,
    audience: Audience,
    change_id: int,
    version: int | None = None,
    user: AbstractBaseUser | None = None,
) -> Audience:
    """Put the audience's inclusions and exclusions back as they were after an earlier save
    (a new save, recorded as a restore). Name and estimated volume stay as they are.

    Raises ValidationError naming the segments that no longer exist, are inactive or belong to
    another channel (nothing is saved), and AudienceChanged when `version` is not current.
    """
    try:
        change = object_change_get(
            object_type=Change.ObjectType.AUDIENCE, object_id=audience.pk, pk=change_id
        )
    except Change.DoesNotExist:
        raise ValidationError("This audience has no such save to restore.") from None
    state = change.state or {}
    inclusions, exclusions = state.get("inclusions", []), state.get("exclusions", [])
    if problems := restore_problems(
        channel_id=audience.channel_id,
        channel_name=audience.channel.name,
        items=inclusions + exclusions,
    ):
        raise ValidationError(f"This version cannot be restored: {' '.join(problems)}")
    return _audience_save(
        audience=audience,
        name=audience.name,
        include=[item[0] for item in inclusions],
        exclude=[item[0] for item in exclusions],
        estimated_volume=audience.estimated_volume,
        version=audience.version if version is None else version,
        user=user,
        action=Change.Action.RESTORED,
        note=f"Restored the targeting saved {when_and_who(change)}.",
    )


@transaction.atomic
def audience_delete(*, audience: Audience) -> None:
    """Delete an audience. Campaigns that used it keep their own targeting and snapshot."""
    audience_record(
        audience=audience,
        action=Change.Action.DELETED,
        before=audience_stored_state(audience),
        after={},
    )
    audience.delete()
