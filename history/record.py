"""The one write path of the history table: one entry per save (`change_record`) and many at
once for bulk work (`changes_write`: COPY on PostgreSQL, executemany on SQLite), always inside
the caller's transaction so a rolled-back change leaves no history either."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from history.actor import Actor, current_actor
from history.models import Change
from history.words import fields_key

TABLE = Change._meta.db_table
QUOTED_TABLE = f'"{TABLE}"'
# The columns of `changes_write` rows, in this order.
COLUMNS = (
    "at",
    "object_type",
    "object_id",
    "object_name",
    "channel_id",
    "action",
    "fields",
    "changes",
    "note",
    "user_id",
    "user_name",
    "via",
    "run_kind",
    "run_id",
)
ACTOR_COLUMNS = ("user_id", "user_name", "via", "run_kind", "run_id")


def diff(old: dict, new: dict) -> dict[str, list]:
    """{field: [old, new]} for the fields whose value differs (a missing field is None)."""
    return {
        field: [old.get(field), new.get(field)]
        for field in dict.fromkeys([*old, *new])
        if _comparable(field, old.get(field)) != _comparable(field, new.get(field))
    }


def _comparable(field: str, value):
    # Segment sets compare as sets of ids: their order and the names' spelling are no change.
    if isinstance(value, list) and value and isinstance(value[0], list):
        return frozenset(item[0] for item in value)
    return value


def change_record(
    *,
    object_type: str,
    object_id: int,
    object_name: str,
    action: str,
    changes: dict | None = None,
    channel_id: int | None = None,
    version: int | None = None,
    state: dict | None = None,
    note: str = "",
    actor: Actor | None = None,
    at: datetime | None = None,
) -> Change | None:
    """Record one save; an update that changed nothing records nothing (and returns None)."""
    changes = _jsonable(changes or {})
    if action == Change.Action.UPDATED and not changes:
        return None
    actor = actor or current_actor()
    return Change.objects.create(
        at=at or timezone.now(),
        object_type=object_type,
        object_id=object_id,
        object_name=object_name[:255],
        channel_id=channel_id,
        version=version,
        action=action,
        fields=fields_key(changes)[:500],
        changes=changes,
        state=_jsonable(state) if state is not None else None,
        note=note[:500],
        user_id=actor.user_id,
        user_name=actor.user_name,
        via=actor.via[:255],
        run_kind=actor.run_kind,
        run_id=actor.run_id,
    )


def _jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def actor_values(actor: Actor | None = None) -> tuple:
    actor = actor or current_actor()
    return (actor.user_id, actor.user_name, actor.via[:255], actor.run_kind, actor.run_id)


def changes_json(changes: dict) -> str:
    return json.dumps(changes, cls=DjangoJSONEncoder)


def changes_write(rows: Sequence[tuple]) -> None:
    """Write many entries at once: each row has the values of COLUMNS, `changes` as JSON text
    and `at` as the database adapts it (`connection.ops.adapt_datetimefield_value`)."""
    if not rows:
        return
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {QUOTED_TABLE} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(
                f"INSERT INTO {QUOTED_TABLE} ({columns}) VALUES ({marks})",  # noqa: S608
                rows,
            )


def state_change_record(
    *, object_type: str, obj, action: str, before: dict, after: dict, note: str = ""
) -> Change | None:
    """Record one save of a named, versioned object of a channel (an audience, a campaign)
    from its state before and after: the changes are their difference; the state kept is the
    one after (before, when it was deleted)."""
    return change_record(
        object_type=object_type,
        object_id=obj.pk,
        object_name=after.get("name") or before.get("name") or obj.name,
        channel_id=obj.channel_id,
        version=obj.version,
        action=action,
        changes=diff(before, after),
        state=after or before,
        note=note,
    )
