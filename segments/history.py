"""Segments' entries in the history: one per save of the services, and, for the bulk path, one
per segment a run created, updated, marked not in Klaviyo or left alone, written in bulk in the
run's transaction (PostgreSQL COPY, SQLite executemany; created and marked segments with one
INSERT … SELECT from the rows just written, so their ids need no round trip)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from history.models import Change
from history.record import (
    ACTOR_COLUMNS,
    QUOTED_TABLE,
    actor_values,
    change_record,
    changes_json,
    changes_write,
)
from history.words import fields_key
from segments.models import Segment

SEGMENT = Change.ObjectType.SEGMENT
SEGMENT_TABLE = f'"{Segment._meta.db_table}"'
# A new segment's entry shows these fields.
CREATED_FIELDS = ("name", "external_id", "link", "is_active")


def segment_values(segment: Segment) -> dict:
    values = {field: getattr(segment, field) for field in CREATED_FIELDS}
    if getattr(segment, "size", None) is not None:
        values["size"] = segment.size
    return values


def segment_record(*, segment: Segment | dict, action: str, changes: dict, name: str = "") -> None:
    """Record one save of a segment (a model or its values with pk, name, channel_id)."""
    if isinstance(segment, Segment):
        pk, channel_id, current = segment.pk, segment.channel_id, segment.name
    else:
        pk, channel_id, current = segment["pk"], segment["channel_id"], segment["name"]
    change_record(
        object_type=SEGMENT,
        object_id=pk,
        object_name=name or current,
        channel_id=channel_id,
        action=action,
        changes=changes,
    )


def segments_record_active(segments: Iterable[tuple[int, str, int]], *, is_active: bool) -> None:
    """Record a bulk activate or deactivate: (pk, name, channel_id) of each segment changed."""
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    actor = actor_values()
    changes = changes_json({"is_active": [not is_active, is_active]})
    rows = [
        (
            at,
            SEGMENT,
            pk,
            name,
            channel_id,
            Change.Action.UPDATED,
            ",is_active,",
            changes,
            "",
            *actor,
        )
        for pk, name, channel_id in segments
    ]
    changes_write(rows)


class BulkHistory:
    """What one segment_bulk_upsert run records, a batch at a time."""

    def __init__(self, *, channel_id: int, db_now):
        self.channel_id = channel_id
        self.db_now = db_now
        self.actor = actor_values()
        self.rows: list[tuple] = []
        self.before_insert = 0

    def heard(self, pk: int, name: str, action: str, changes: dict | None = None) -> None:
        """An updated or left-alone segment of this batch."""
        self.rows.append(
            (
                self.db_now,
                SEGMENT,
                pk,
                name,
                self.channel_id,
                action,
                fields_key(changes) if changes else "",
                # Plain json: a row's values are text, booleans and None.
                json.dumps(changes) if changes else "{}",
                "",
                *self.actor,
            )
        )

    def before_write(self, creates: list) -> None:
        if creates:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT coalesce(max(id), 0) FROM {SEGMENT_TABLE}")  # noqa: S608
                self.before_insert = cursor.fetchone()[0]

    def after_write(self, creates: list) -> None:
        """Write the batch's entries: the segments it created straight from their rows."""
        if creates:
            self._insert_select(
                Change.Action.CREATED,
                ",name,external_id,link,is_active,",
                _created_json(),
                # "+ 0": only the primary key's range may drive the scan, never the channel's
                # indexes (which would read the whole channel once a batch).
                "s.id > %s AND s.channel_id + 0 = %s AND s.created_at = %s",
                [self.before_insert, self.channel_id, self.db_now],
            )
        changes_write(self.rows)
        self.rows = []

    def marked_missing(self, pks: list[int]) -> None:
        self._insert_select(
            Change.Action.MARKED_MISSING,
            ",klaviyo_missing_since,",
            _missing_json(),
            f"s.id IN ({', '.join(['%s'] * len(pks))}) AND s.klaviyo_missing_since = %s",
            [*pks, self.db_now],
        )

    def _insert_select(self, action, fields, changes_sql, where, params) -> None:
        columns = (
            "at, object_type, object_id, object_name, channel_id, action, fields, changes, note, "
            + ", ".join(ACTOR_COLUMNS)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {QUOTED_TABLE} ({columns})"  # noqa: S608
                f" SELECT %s, %s, s.id, s.name, s.channel_id, %s, %s, {changes_sql}, '',"
                f" %s, %s, %s, %s, %s FROM {SEGMENT_TABLE} AS s WHERE {where}",
                [self.db_now, SEGMENT, action, fields, *self.actor, *params],
            )


def _created_json() -> str:
    if connection.vendor == "postgresql":
        return (
            "jsonb_build_object('name', jsonb_build_array(NULL, s.name),"
            " 'external_id', jsonb_build_array(NULL, s.external_id),"
            " 'link', jsonb_build_array(NULL, s.link),"
            " 'is_active', jsonb_build_array(NULL, s.is_active))"
        )
    return (
        "json_object('name', json_array(NULL, s.name),"
        " 'external_id', json_array(NULL, s.external_id),"
        " 'link', json_array(NULL, s.link),"
        " 'is_active', json_array(NULL, json(CASE WHEN s.is_active THEN 'true' ELSE 'false' END)))"
    )


def _missing_json() -> str:
    if connection.vendor == "postgresql":
        return (
            "jsonb_build_object('klaviyo_missing_since',"
            " jsonb_build_array(NULL, s.klaviyo_missing_since))"
        )
    return "json_object('klaviyo_missing_since', json_array(NULL, s.klaviyo_missing_since))"


def segment_items(segments: Iterable[Segment]) -> list[list]:
    """A segment set as history keeps it: [[id, name], ...] by name."""
    return sorted(([s.pk, s.name] for s in segments), key=lambda item: (item[1].lower(), item[0]))


def restore_problems(*, channel_id: int, channel_name: str, items: Iterable[list]) -> list[str]:
    """Why the segments of an earlier save cannot be put back: gone, inactive, or of another
    channel (each named). Empty when they all can."""
    items = list(items)
    found = Segment.objects.select_related("channel").in_bulk([item[0] for item in items])
    problems = []
    for pk, name in items:
        segment = found.get(pk)
        if segment is None:
            problems.append(f"“{name}” no longer exists.")
        elif segment.channel_id != channel_id:
            problems.append(
                f"“{segment.name}” is a segment of {segment.channel.name}, not {channel_name}."
            )
        elif not segment.is_active:
            problems.append(f"“{segment.name}” is inactive now: make it active first.")
    return problems
