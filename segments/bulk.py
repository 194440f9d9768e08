"""The one bulk write path for segments: the Klaviyo sync, the CSV import, copy-to-channel and
the demo data build rows and call `segment_bulk_upsert`.

Rows are matched to a channel's segments by Segment ID; a row without an ID matches, by
case-insensitive trimmed name, a segment of the channel that has no ID either. Every row goes
through one validator (`segment_row_problems`). The rules that differ between callers are
options: never touch inactive segments, mark segments from Klaviyo that the input no longer has,
skip rows whose key the channel already has, a dry run, and all-or-nothing or skip invalid rows.

The input is streamed in batches, so a file of a million rows keeps memory flat: what must be
remembered across batches (keys seen, the channel's segments without an ID) moves to a throwaway
SQLite file once it grows. Writes are the fastest each database offers: PostgreSQL COPY for new
rows and COPY into a temporary table plus one UPDATE … FROM for changed ones; SQLite executemany
in the caller's one transaction. The search index (migration 0002) stays in step: PostgreSQL
computes its generated column; on SQLite a batch's new rows are indexed with one INSERT … SELECT
instead of a trigger call per row.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from channels_app.models import Channel
from segments.history import BulkHistory
from segments.models import Segment, SegmentSizePoint
from segments.validators import link_problem

NAME_MAX = Segment._meta.get_field("name").max_length
EXTERNAL_ID_MAX = Segment._meta.get_field("external_id").max_length
LINK_MAX = Segment._meta.get_field("link").max_length

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "active"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "inactive"})
ACTIVE_WORDS = "true/false, yes/no, y/n, 1/0 or active/inactive"

BATCH_SIZE = 2000
# Keys kept in memory before they move to the staging file.
SPILL_AFTER = 50_000
ANALYZE_AFTER = 10_000
LOOKUP_CHUNK = 1000

TABLE = Segment._meta.db_table
# Both databases quote names the same way; only this model's own table name is interpolated.
QUOTED_TABLE = f'"{TABLE}"'
FTS_INSERT_TRIGGER = "segments_segment_fts_insert"
# The fields a row may change on an existing segment, in the order of the lookups' values.
CHANGE_FIELDS = ("name", "link", "is_active", "kind")

# -- sizes -------------------------------------------------------------------------------------
# More contacts than any audience has: a figure above it is a mistake (a phone number, an ID).
SIZE_MAX = 10**12
POINT_TABLE = f'"{SegmentSizePoint._meta.db_table}"'
_SIZE_SPACES = "\u0020\u00a0\u202f\u2009"
_SIZE_FORMS = (
    re.compile(r"\d+"),
    re.compile(r"\d{1,3}(?:,\d{3})+"),  # 12,345 (a cell of a file not split on commas)
    re.compile(rf"\d{{1,3}}(?:[{_SIZE_SPACES}]\d{{3}})+"),  # 12 345
)
_SIZE_DECIMAL = re.compile(r"[+-]?(?:\d[\d,\s]*)?[.,]\d+|[+-]?\d+[.,]")


def parse_active(value: str) -> bool | None:
    """An active status as the CSV import accepts it, or None when the word is not one."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_size(value: str) -> tuple[int | None, str]:
    """A number of contacts as a CSV cell or a form gives it: (the number, "") or (None, why
    not). `12345`, `12,345` and `12 345` are numbers; an empty cell is (None, "")."""
    text = value.strip()
    if not text:
        return None, ""
    if any(form.fullmatch(text) for form in _SIZE_FORMS):
        number = int(re.sub(rf"[,{_SIZE_SPACES}]", "", text))
        if number > SIZE_MAX:
            return None, (
                f"“{text}” is more contacts than any segment has (the most is {SIZE_MAX:,})."
            )
        return number, ""
    if text.startswith("-") and any(form.fullmatch(text[1:].strip()) for form in _SIZE_FORMS):
        return None, f"“{text}” is negative: a size is a number of contacts, 0 or more."
    if _SIZE_DECIMAL.fullmatch(text):
        return None, f"“{text}” is not a whole number: a size counts contacts, e.g. 12,345."
    return None, f"“{text[:40]}” is not a number of contacts: write it like 12345 or 12,345."


def size_problem(size: int) -> str:
    """Why a number cannot be a segment's size, or ""."""
    if size < 0:
        return f"“{size}” is negative: a size is a number of contacts, 0 or more."
    if size > SIZE_MAX:
        return f"“{size:,}” is more contacts than any segment has (the most is {SIZE_MAX:,})."
    return ""


def name_key(name: str) -> str:
    """How rows without a Segment ID match: case-insensitive, trimmed."""
    return name.strip().lower()


@dataclass(frozen=True, slots=True)
class RowProblem:
    field: str  # "name", "external_id", "link", "is_active", "size"; "" for the row as a whole
    value: str
    message: str


@dataclass(slots=True)
class SegmentRow:
    """One segment as a caller wants it. None means "not given": an existing segment keeps its
    value, a new one gets the default (no link, active, no kind, the call's source)."""

    name: str
    external_id: str = ""
    link: str | None = None
    is_active: bool | str | None = None  # a word is parsed with parse_active
    kind: str | None = None
    source: str | None = None
    # What a new segment starts with (demo data); mark_synced sets last_synced_at for all.
    last_synced_at: datetime | None = None
    klaviyo_missing_since: datetime | None = None
    # Size (None: not given, the segment keeps its figure). A word is parsed with parse_size.
    # Counted at defaults to the call's now, the source to the call's; clear_size: unknown now.
    size: int | str | None = None
    size_counted_at: datetime | None = None
    size_source: str | None = None
    clear_size: bool = False
    ref: int = 0  # the caller's number for the row (a CSV row number); else its position
    problems: list[RowProblem] | None = None  # found by the caller (e.g. a malformed CSV row)


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    INVALID = "invalid"
    SKIPPED_INACTIVE = "skipped_inactive"
    SKIPPED = "skipped"
    MARKED_MISSING = "marked_missing"


# (row, outcome, changes): changes maps a changed field to (old, new) for UPDATED rows.
OnOutcome = Callable[[SegmentRow, Outcome, dict[str, tuple]], None]


@dataclass
class BulkResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    skipped_inactive: int = 0
    skipped: int = 0
    marked_missing: int = 0
    written: bool = False  # changes were committed
    rejected: bool = False  # all-or-nothing: invalid rows, so nothing was written


def link_check(link: str) -> str | None:
    """Why a link cannot be a segment's (too long, not http(s)), or None."""
    if len(link) > LINK_MAX:
        return f"The link is {len(link):,} characters long; the most is {LINK_MAX:,}."
    return link_problem(link)


def segment_row_problems(row: SegmentRow) -> list[RowProblem]:
    """The one row validator: trims the row in place, parses a worded active status, and says
    what is wrong with it (name and Segment ID lengths from the model, http(s) links, status)."""
    problems = list(row.problems or ())
    row.name = name = row.name.strip()
    if not name:
        problems.append(RowProblem("name", "", "The segment name is empty."))
    elif len(name) > NAME_MAX:
        problems.append(
            RowProblem(
                "name",
                name,
                f"The segment name is {len(name):,} characters long; the most is {NAME_MAX:,}.",
            )
        )
    row.external_id = external_id = row.external_id.strip()
    if len(external_id) > EXTERNAL_ID_MAX:
        problems.append(
            RowProblem(
                "external_id",
                external_id,
                f"The Segment ID is {len(external_id):,} characters long; "
                f"the most is {EXTERNAL_ID_MAX:,}.",
            )
        )
    if row.link is not None:
        row.link = link = row.link.strip()
        if problem := link_check(link):
            problems.append(RowProblem("link", link, problem))
    if isinstance(row.is_active, str):
        raw = row.is_active.strip()
        parsed = parse_active(raw)
        if parsed is None:
            problems.append(
                RowProblem(
                    "is_active",
                    raw,
                    f"“{raw}” is not an active status: use {ACTIVE_WORDS}."
                    if raw
                    else f"The active status is empty: use {ACTIVE_WORDS}.",
                )
            )
        else:
            row.is_active = parsed
    if isinstance(row.size, str):
        raw = row.size.strip()
        row.size, problem = parse_size(raw)
        if problem:
            problems.append(RowProblem("size", raw, problem))
    elif row.size is not None and (problem := size_problem(row.size)):
        problems.append(RowProblem("size", str(row.size), problem))
    return problems


def segment_bulk_upsert(
    *,
    channel: Channel,
    rows: Iterable[SegmentRow],
    source: str,
    keep_inactive: bool = False,
    mark_missing: bool = False,
    mark_synced: bool = False,
    skip_existing: bool = False,
    sizes_only: bool = False,
    dry_run: bool = False,
    skip_invalid: bool = False,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    on_outcome: OnOutcome | None = None,
    on_invalid: Callable[[SegmentRow], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> BulkResult:
    """Create or update the channel's segments from `rows`, in one transaction.

    - keep_inactive: an inactive segment is never changed (counted as skipped_inactive).
    - mark_missing: segments from Klaviyo (source or kind) that are active, have an ID and are
      not in `rows` get `klaviyo_missing_since`; matched ones lose it. Re-checked in the UPDATE.
    - mark_synced: created and updated segments get `last_synced_at = now`.
    - skip_existing: a row whose key the channel (or an earlier row) already has is skipped.
    - sizes_only: rows only carry sizes (a Klaviyo count): matched by Segment ID, never
      created (unmatched rows are skipped), and nothing but the size columns is compared or written.

    Sizes: a row's size (with its counted-at and source) is written when given; a figure that
    is new (another number or source) is also appended to the segment's size history. A Klaviyo
    figure only ever lands on a Klaviyo segment (source or kind); `clear_size` makes it unknown.
    - dry_run: reads only; the counts and outcomes say what would happen.
    - skip_invalid: write the valid rows; otherwise any invalid row means nothing is written
      (`rejected`), though every row is still checked so all problems are reported.

    Rows repeating an earlier row's key are invalid (skipped with skip_existing). `on_outcome`
    hears every row's outcome (and every segment marked missing, before the UPDATE that
    re-checks it); `on_invalid` hears only the invalid rows, with their `problems`; `on_batch`
    hears how many rows have been handled after each batch.
    Raises IntegrityError when another change gives the channel one of the new Segment IDs.
    """
    upsert = _Upsert(
        channel=channel,
        source=source,
        keep_inactive=keep_inactive,
        mark_missing=mark_missing,
        mark_synced=mark_synced,
        skip_existing=skip_existing,
        sizes_only=sizes_only,
        write=not dry_run,
        skip_invalid=skip_invalid,
        now=now or timezone.now(),
        on_outcome=on_outcome,
        on_invalid=on_invalid,
    )
    with _Staging() as staging:
        upsert.staging = staging
        if dry_run:
            upsert.process(rows, batch_size, on_batch)
            return upsert.result
        try:
            with transaction.atomic():
                upsert.process(rows, batch_size, on_batch)
                if upsert.result.invalid and not skip_invalid:
                    raise _Rollback
        except _Rollback:
            upsert.result.rejected = True
            return upsert.result
    upsert.result.written = True
    if connection.vendor == "postgresql" and upsert.result.created >= ANALYZE_AFTER:
        # Fresh statistics, or the planner keeps thinking the channel is small and scans it
        # instead of probing the Segment ID index on the next import.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {QUOTED_TABLE}")
    return upsert.result


class _Rollback(Exception):
    pass


def _batches(rows: Iterable[SegmentRow], size: int) -> Iterator[list[SegmentRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class _Store:
    """key → value, in memory until SPILL_AFTER keys, then in a table of the staging file."""

    def __init__(self, staging: _Staging, name: str, *, packed: bool = False):
        self.staging, self.name, self.packed = staging, name, packed
        self.memory: dict[str, object] | None = {}

    def _pack(self, value):
        return json.dumps(value) if self.packed else value

    def _unpack(self, value):
        return tuple(json.loads(value)) if self.packed else value

    def _spill(self) -> None:
        db = self.staging.open()
        db.execute(f"CREATE TABLE {self.name} (key TEXT PRIMARY KEY, value) WITHOUT ROWID")
        with db:
            db.executemany(
                f"INSERT INTO {self.name} VALUES (?, ?)",  # noqa: S608
                ((k, self._pack(v)) for k, v in self.memory.items()),
            )
        self.memory = None

    def add_new(self, items: dict[str, object]) -> dict[str, object]:
        """Add the keys not there yet; return {key: value already stored} for the others.
        Values must differ from the ones already stored (row refs do)."""
        if self.memory is not None:
            known = {k: self.memory[k] for k in items if k in self.memory}
            self.put(items)
            return known
        db = self.staging.db
        before = db.total_changes
        self.put(items)
        if db.total_changes - before == len(items):
            return {}
        # Some keys were there before (rare, so the slow way): which, and with what value.
        return {k: v for k, v in self.get_many(list(items)).items() if v != items[k]}

    def put(self, items: dict[str, object]) -> None:
        """Add the keys not there yet; keys already there keep their value."""
        if self.memory is not None:
            for k, v in items.items():
                self.memory.setdefault(k, v)
            if len(self.memory) > SPILL_AFTER:
                self._spill()
            return
        with self.staging.db:  # one transaction a batch: autocommit per row is six times slower
            self.staging.db.executemany(
                f"INSERT OR IGNORE INTO {self.name} VALUES (?, ?)",  # noqa: S608
                ((k, self._pack(v)) for k, v in items.items()),
            )

    def get_many(self, keys: list[str]) -> dict[str, object]:
        if self.memory is not None:
            return {k: self.memory[k] for k in keys if k in self.memory}
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self.staging.db.execute(
                f"SELECT key, value FROM {self.name} WHERE key IN ({marks})",  # noqa: S608
                chunk,
            ):
                found[key] = self._unpack(value)
        return found


class _Staging:
    """The throwaway SQLite file behind the stores, created only if one of them spills."""

    def __init__(self):
        self.db: sqlite3.Connection | None = None
        self.path: str | None = None

    def __enter__(self) -> _Staging:
        return self

    def open(self) -> sqlite3.Connection:
        if self.db is None:
            fd, self.path = tempfile.mkstemp(prefix="aa-segments-", suffix=".sqlite3")
            os.close(fd)
            self.db = sqlite3.connect(self.path)
            self.db.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8000;"
            )
        return self.db

    def __exit__(self, *exc) -> None:
        if self.db is not None:
            self.db.close()
            Path(self.path).unlink(missing_ok=True)


# The columns written for a new segment, in this order.
_INSERT_COLUMNS = (
    "channel_id",
    "name",
    "external_id",
    "link",
    "is_active",
    "source",
    "kind",
    "klaviyo_missing_since",
    "last_synced_at",
    "created_at",
    "updated_at",
    "size",
    "size_counted_at",
    "size_source",
)


class _Upsert:
    def __init__(
        self,
        *,
        channel,
        source,
        keep_inactive,
        mark_missing,
        mark_synced,
        skip_existing,
        write,
        skip_invalid,
        now,
        on_outcome,
        on_invalid,
        sizes_only=False,
    ):
        self.channel = channel
        self.source = source
        self.keep_inactive = keep_inactive
        self.mark_missing = mark_missing
        self.mark_synced = mark_synced
        self.skip_existing = skip_existing
        self.sizes_only = sizes_only
        self.write = write
        self.skip_invalid = skip_invalid
        self.now = now
        self.on_outcome = on_outcome
        self.on_invalid = on_invalid
        self.result = BulkResult()
        self.staging: _Staging
        self.postgres = connection.vendor == "postgresql"
        self.fts_trigger: str | None = None  # SQLite: the insert trigger, while it is dropped
        self.first_new_id = 0
        self.seen: _Store
        self.noid: _Store | None = None
        self.changes_table_ready = False
        self.sizes_table_ready = False
        self.created_sizes = False  # a new segment came with a size: its history point is due
        self.history: BulkHistory | None = None

    # -- the run ---------------------------------------------------------------------------

    def process(self, rows, batch_size, on_batch) -> None:
        self.seen = _Store(self.staging, "seen")
        # Segments created by this run cannot match a later row (a second row with the same
        # key is a duplicate), so a channel without Segment IDs needs no lookups at all.
        self.channel_has_ids = (
            Segment.objects.filter(channel=self.channel).exclude(external_id="").exists()
        )
        # Looked up once: per row, `connection.ops` and `channel.pk` cost more than the insert.
        self.adapt = connection.ops.adapt_datetimefield_value
        self.channel_id = self.channel.pk
        self.db_now = self.adapt(self.now)
        if self.write:
            self.history = BulkHistory(channel_id=self.channel_id, db_now=self.db_now)
        for batch in _batches(rows, batch_size):
            self._batch(batch)
            if on_batch:
                on_batch(self.result.total)
        if self.mark_missing:
            self._mark_missing()
        if self.write and self.created_sizes:
            self._created_size_points()
        if self.fts_trigger:
            self._restore_fts_trigger()

    def _batch(self, batch: list[SegmentRow]) -> None:
        result = self.result
        valid: list[SegmentRow] = []
        for row in batch:
            result.total += 1
            row.ref = row.ref or result.total
            if problems := segment_row_problems(row):
                row.problems = problems
                self._invalid(row)
            else:
                valid.append(row)
        keyed: dict[str, SegmentRow] = {}
        kept: list[SegmentRow] = []
        for row in valid:
            key = f"i:{row.external_id}" if row.external_id else f"n:{name_key(row.name)}"
            earlier = keyed.get(key)
            if earlier is None:
                keyed[key] = row
                kept.append(row)
            else:
                self._duplicate(row, earlier.ref)
        for key, first in self.seen.add_new({k: r.ref for k, r in keyed.items()}).items():
            row = keyed[key]
            kept.remove(row)
            self._duplicate(row, first)
        by_id = self._lookup_ids([r.external_id for r in kept if r.external_id])
        names = [name_key(r.name) for r in kept if not r.external_id]
        by_name = self._noid().get_many(names) if names else {}

        creates, updates, sizes = [], [], []
        for row in kept:
            found = (
                by_id.get(row.external_id) if row.external_id else by_name.get(name_key(row.name))
            )
            if found is None and self.sizes_only:
                result.skipped += 1
                self._tell(row, Outcome.SKIPPED)
                continue
            if found is None:
                result.created += 1
                creates.append(self._insert_values(row))
                if self.on_outcome:
                    self.on_outcome(row, Outcome.CREATED, {})
                continue
            pk, name, link, active, kind, missing, size, size_source, klaviyo = found
            if self.keep_inactive and not active:
                result.skipped_inactive += 1
                self._tell(row, Outcome.SKIPPED_INACTIVE)
                self._heard(pk, name, Outcome.SKIPPED_INACTIVE)
                continue
            if self.skip_existing:
                result.skipped += 1
                self._tell(row, Outcome.SKIPPED)
                continue
            size_write = self._size_write(row, pk, size, size_source, klaviyo)
            if size_write:
                sizes.append(size_write)
            size_new = bool(size_write) and size_write[-1]
            old = (name, link, active, kind)
            new = (
                old
                if self.sizes_only
                else (
                    row.name,
                    link if row.link is None else row.link,
                    active if row.is_active is None else row.is_active,
                    kind if row.kind is None else row.kind,
                )
            )
            back = self.mark_missing and missing
            if new == old and not back and not size_new:
                result.unchanged += 1
                self._tell(row, Outcome.UNCHANGED)
                self._heard(pk, name, Outcome.UNCHANGED)
                continue
            result.updated += 1
            if new != old or back:
                updates.append((pk, *new))
            if self.on_outcome or self.history:
                changes = {
                    f: (o, n) for f, o, n in zip(CHANGE_FIELDS, old, new, strict=True) if o != n
                }
                if back:
                    changes["klaviyo_missing_since"] = (missing, None)
                if size_new:
                    changes["size"] = (size, size_write[1])
                if self.on_outcome:
                    self.on_outcome(row, Outcome.UPDATED, changes)
                self._heard(pk, row.name, Outcome.UPDATED, changes)
        if self.write and (self.skip_invalid or not result.invalid):
            self._write_with_history(creates, updates)
        if self.write and sizes and (self.skip_invalid or not result.invalid):
            self.write_sizes(sizes)

    # -- history (segments.history) ------------------------------------------------------

    def _heard(self, pk: int, name: str, outcome: Outcome, changes: dict | None = None) -> None:
        if self.history:
            self.history.heard(pk, name, outcome.value, changes)

    def _write_with_history(self, creates: list[tuple], updates: list[tuple]) -> None:
        """Write the batch and its history entries, in the run's transaction."""
        if self.history:
            self.history.before_write(creates)
        if creates or updates:
            write_batch(self, creates, updates)
        if self.history:
            self.history.after_write(creates)

    def _size_write(self, row, pk, size, size_source, klaviyo) -> tuple | None:
        """(pk, size, counted at, source, is the figure new) for the row's size, or None when
        the row leaves the size as it is."""
        if row.clear_size:
            if size is None and not size_source:
                return None
            return (pk, None, None, "", True)
        if row.size is None:
            return None
        source = row.size_source or self.source
        if source == Segment.SizeSource.KLAVIYO and not klaviyo:
            return None  # Klaviyo's count of an object this segment is not
        counted = self.adapt(row.size_counted_at) if row.size_counted_at else self.db_now
        return (pk, row.size, counted, source, row.size != size or source != size_source)

    def _tell(self, row: SegmentRow, outcome: Outcome) -> None:
        if self.on_outcome:
            self.on_outcome(row, outcome, {})

    def _invalid(self, row: SegmentRow) -> None:
        self.result.invalid += 1
        if self.on_invalid:
            self.on_invalid(row)
        self._tell(row, Outcome.INVALID)

    def _duplicate(self, row: SegmentRow, first: int) -> None:
        if self.skip_existing:
            self.result.skipped += 1
            self._tell(row, Outcome.SKIPPED)
            return
        if row.external_id:
            problem = RowProblem(
                "external_id",
                row.external_id,
                f"The Segment ID “{row.external_id}” already appears on row {first}.",
            )
        else:
            problem = RowProblem(
                "name",
                row.name,
                f"The segment “{row.name}” (without a Segment ID) already appears on row {first}.",
            )
        row.problems = [problem]
        self._invalid(row)

    # -- reads -----------------------------------------------------------------------------

    def _lookup_ids(self, ids: list[str]) -> dict[str, tuple]:
        if not ids or not self.channel_has_ids:
            return {}
        table = QUOTED_TABLE
        columns = (
            "s.id, s.external_id, s.name, s.link, s.is_active, s.kind, s.klaviyo_missing_since,"
            " s.size, s.size_source, s.source"
        )
        found = {}
        with connection.cursor() as cursor:
            if self.postgres:
                # A join on unnest() probes the unique index once per ID (= ANY(array) of
                # 2,000 IDs is ten times slower).
                cursor.execute(
                    f"SELECT {columns} FROM unnest(%s::text[]) AS k(ext) JOIN {table} AS s"  # noqa: S608
                    " ON s.channel_id = %s AND NOT (s.external_id = '') AND s.external_id = k.ext",
                    [ids, self.channel.pk],
                )
                chunks = [cursor.fetchall()]
            else:
                chunks = []
                for start in range(0, len(ids), LOOKUP_CHUNK):
                    chunk = ids[start : start + LOOKUP_CHUNK]
                    # Repeating the partial unique index's condition word for word lets SQLite
                    # use it.
                    cursor.execute(
                        f"SELECT {columns} FROM {table} AS s WHERE s.channel_id = %s"  # noqa: S608
                        " AND NOT (s.external_id = '') AND s.external_id IN"
                        f" ({', '.join(['%s'] * len(chunk))})",
                        [self.channel.pk, *chunk],
                    )
                    chunks.append(cursor.fetchall())
        klaviyo = Segment.Source.KLAVIYO
        for rows in chunks:
            for pk, ext, name, link, active, kind, missing, size, size_source, source in rows:
                found[ext] = (
                    pk,
                    name,
                    link,
                    bool(active),
                    kind,
                    missing is not None,
                    size,
                    size_source,
                    bool(kind) or source == klaviyo,
                )
        return found

    def _noid(self) -> _Store:
        """The channel's segments without an ID by name key, read once (the first wins)."""
        if self.noid is None:
            self.noid = _Store(self.staging, "noid", packed=True)
            rows = (
                Segment.objects.filter(channel=self.channel, external_id="")
                .order_by("pk")
                .values_list(
                    "pk", "name", "link", "is_active", "kind", "size", "size_source", "source"
                )
            )
            batch: dict[str, tuple] = {}
            klaviyo = Segment.Source.KLAVIYO
            for pk, name, link, active, kind, size, size_source, source in rows.iterator(
                chunk_size=5000
            ):
                batch.setdefault(
                    name_key(name),
                    (
                        pk,
                        name,
                        link,
                        active,
                        kind,
                        False,
                        size,
                        size_source,
                        bool(kind) or source == klaviyo,
                    ),
                )
                if len(batch) >= 5000:
                    self.noid.put(batch)
                    batch = {}
            self.noid.put(batch)
        return self.noid

    # -- writes ----------------------------------------------------------------------------

    def _insert_values(self, row: SegmentRow) -> tuple:
        now = self.db_now
        adapt = self.adapt
        synced = now if self.mark_synced else row.last_synced_at and adapt(row.last_synced_at)
        size, counted, size_source = None, None, ""
        if row.size is not None and not row.clear_size:
            size_source = row.size_source or self.source
            klaviyo = (row.source or self.source) == Segment.Source.KLAVIYO or bool(row.kind)
            if size_source != Segment.SizeSource.KLAVIYO or klaviyo:
                size = row.size
                counted = adapt(row.size_counted_at) if row.size_counted_at else now
                self.created_sizes = True
            else:
                size_source = ""
        return (
            self.channel_id,
            row.name,
            row.external_id,
            row.link or "",
            True if row.is_active is None else row.is_active,
            row.source or self.source,
            row.kind or "",
            row.klaviyo_missing_since and adapt(row.klaviyo_missing_since),
            synced,
            now,
            now,
            size,
            counted,
            size_source,
        )

    def _update_tail(self) -> str:
        tail = ["updated_at = %s"]
        if self.mark_missing:
            tail.append("klaviyo_missing_since = NULL")
        if self.mark_synced:
            tail.append("last_synced_at = %s")
        return ", ".join(tail)

    def _update_params(self) -> list:
        return [self.db_now, self.db_now] if self.mark_synced else [self.db_now]

    def write_rows(self, creates: list[tuple], updates: list[tuple]) -> None:
        table = QUOTED_TABLE
        # keep_inactive is re-checked in the UPDATE: a user may have made one inactive meanwhile.
        recheck = " AND is_active" if self.keep_inactive else ""
        pg_recheck = " AND s.is_active" if self.keep_inactive else ""
        # Raw COPY bypasses Django's cursor: its errors are turned into Django's (IntegrityError).
        with connection.cursor() as cursor, connection.wrap_database_errors:
            if creates:
                columns = ", ".join(_INSERT_COLUMNS)
                if self.postgres:
                    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for values in creates:
                            copy.write_row(values)
                else:
                    self._drop_fts_trigger(cursor)
                    marks = ", ".join(["%s"] * len(_INSERT_COLUMNS))
                    cursor.executemany(
                        f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                        creates,
                    )
                    if self.fts_trigger:
                        self._index_new_rows(cursor)
            if not updates:
                return
            if self.postgres:
                if not self.changes_table_ready:
                    cursor.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS segments_bulk_changes (id bigint,"
                        " name text, link text, is_active boolean, kind text) ON COMMIT DROP"
                    )
                    self.changes_table_ready = True
                cursor.execute("TRUNCATE segments_bulk_changes")
                with cursor.cursor.copy("COPY segments_bulk_changes FROM STDIN") as copy:
                    for values in updates:
                        copy.write_row(values)
                cursor.execute(
                    f"UPDATE {table} AS s SET name = v.name, link = v.link,"  # noqa: S608
                    f" is_active = v.is_active, kind = v.kind, {self._update_tail()}"
                    f" FROM segments_bulk_changes AS v WHERE s.id = v.id{pg_recheck}",
                    self._update_params(),
                )
            else:
                params = self._update_params()
                cursor.executemany(
                    f"UPDATE {table} SET name = %s, link = %s, is_active = %s, kind = %s,"  # noqa: S608
                    f" {self._update_tail()} WHERE id = %s{recheck}",
                    [(*values[1:], *params, values[0]) for values in updates],
                )

    # -- sizes ---------------------------------------------------------------------------

    def write_sizes(self, sizes: list[tuple]) -> None:
        """One batch's size columns, and a history point for each new figure (COPY on PostgreSQL,
        executemany on SQLite). Rows are (pk, size, counted at, source, is new)."""
        table = QUOTED_TABLE
        recheck = " AND is_active" if self.keep_inactive else ""
        pg_recheck = " AND s.is_active" if self.keep_inactive else ""
        points = [row[:4] for row in sizes if row[4] and row[1] is not None]
        with connection.cursor() as cursor, connection.wrap_database_errors:
            if self.postgres:
                if not self.sizes_table_ready:
                    cursor.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS segments_bulk_sizes (id bigint,"
                        " size bigint, counted_at timestamptz, source text) ON COMMIT DROP"
                    )
                    self.sizes_table_ready = True
                cursor.execute("TRUNCATE segments_bulk_sizes")
                with cursor.cursor.copy("COPY segments_bulk_sizes FROM STDIN") as copy:
                    for row in sizes:
                        copy.write_row(row[:4])
                cursor.execute(
                    f"UPDATE {table} AS s SET size = v.size, size_counted_at = v.counted_at,"  # noqa: S608
                    " size_source = v.source, updated_at = %s"
                    f" FROM segments_bulk_sizes AS v WHERE s.id = v.id{pg_recheck}",
                    [self.db_now],
                )
                if points:
                    columns = "segment_id, size, counted_at, source"
                    with cursor.cursor.copy(f"COPY {POINT_TABLE} ({columns}) FROM STDIN") as copy:
                        for row in points:
                            copy.write_row(row)
            else:
                cursor.executemany(
                    f"UPDATE {table} SET size = %s, size_counted_at = %s, size_source = %s,"  # noqa: S608
                    f" updated_at = %s WHERE id = %s{recheck}",
                    [(size, at, source, self.db_now, pk) for pk, size, at, source, _ in sizes],
                )
                if points:
                    cursor.executemany(
                        f"INSERT INTO {POINT_TABLE} (segment_id, size, counted_at, source)"  # noqa: S608
                        " VALUES (%s, %s, %s, %s)",
                        points,
                    )

    def _created_size_points(self) -> None:
        """The first history point of each segment this call created with a size: one
        INSERT … SELECT (the new rows' ids are the database's, COPY does not return them)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {POINT_TABLE} (segment_id, size, counted_at, source)"  # noqa: S608
                f" SELECT id, size, size_counted_at, size_source FROM {QUOTED_TABLE}"
                " WHERE channel_id = %s AND created_at = %s AND size IS NOT NULL",
                [self.channel_id, self.db_now],
            )

    def _drop_fts_trigger(self, cursor) -> None:
        """SQLite: index each batch's new rows in one statement instead of one trigger
        call per row (four times faster). The trigger is dropped inside this
        transaction, so no one else ever sees it missing and a rollback restores it."""
        if self.fts_trigger is not None or self.first_new_id:
            return
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
            [FTS_INSERT_TRIGGER],
        )
        found = cursor.fetchone()
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {QUOTED_TABLE}")  # noqa: S608
        self.first_new_id = cursor.fetchone()[0] + 1
        if found:
            self.fts_trigger = found[0]
            cursor.execute(f"DROP TRIGGER {FTS_INSERT_TRIGGER}")

    def _index_new_rows(self, cursor) -> None:
        """Index the rows inserted since the last call, as the trigger of migration 0002 would
        have (a batch at a time, so the index's pending data stays small)."""
        cursor.execute(
            "INSERT INTO segments_segment_fts(rowid, name, external_id, channel)"  # noqa: S608
            " SELECT id, name, external_id, '§' || channel_id || '§'"
            f" FROM {QUOTED_TABLE} WHERE id >= %s",
            [self.first_new_id],
        )
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {QUOTED_TABLE}")  # noqa: S608
        self.first_new_id = cursor.fetchone()[0] + 1

    def _restore_fts_trigger(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.fts_trigger)
        self.fts_trigger = None

    def _mark_missing(self) -> None:
        """Segments from Klaviyo, active, with an ID the input did not have."""
        candidates = (
            Segment.objects.filter(
                Q(source=Segment.Source.KLAVIYO) | ~Q(kind=""),
                channel=self.channel,
                is_active=True,
                klaviyo_missing_since__isnull=True,
            )
            .exclude(external_id="")
            .order_by("pk")
            .values_list("pk", "name", "external_id")
        )
        batch: list[tuple[int, str, str]] = []
        for item in candidates.iterator(chunk_size=LOOKUP_CHUNK):
            batch.append(item)
            if len(batch) >= LOOKUP_CHUNK:
                self._mark_missing_batch(batch)
                batch = []
        self._mark_missing_batch(batch)

    def _mark_missing_batch(self, batch: list[tuple[int, str, str]]) -> None:
        if not batch:
            return
        seen = self.seen.get_many([f"i:{ext}" for _pk, _name, ext in batch])
        missing = [(pk, name, ext) for pk, name, ext in batch if f"i:{ext}" not in seen]
        if not missing:
            return
        for _pk, name, ext in missing:
            self._tell(SegmentRow(name=name, external_id=ext), Outcome.MARKED_MISSING)
        if not self.write:
            self.result.marked_missing += len(missing)
            return
        # Re-checked in the UPDATE: a user may have made one inactive meanwhile.
        pks = [pk for pk, _name, _ext in missing]
        self.result.marked_missing += Segment.objects.filter(
            pk__in=pks,
            is_active=True,
            klaviyo_missing_since__isnull=True,
        ).update(
            klaviyo_missing_since=self.now,
            updated_at=self.now,
            # Not a stale figure: Klaviyo no longer counts it.
            size=None,
            size_counted_at=None,
            size_source="",
        )
        if self.history:
            self.history.marked_missing(pks)


def segment_size_write(
    *, segment: Segment, size: int | None, source: str, now: datetime | None = None
) -> bool:
    """One segment's size as a person typed it (the form, the admin): the size columns, and a
    history point when the figure is new; None makes it unknown. Returns whether it changed.
    The caller holds the transaction."""
    if problem := (size_problem(size) if size is not None else ""):
        raise ValueError(problem)
    if size == segment.size:
        return False  # the same figure: it stays as counted, where it came from
    now = now or timezone.now()
    fields = (
        {"size": None, "size_counted_at": None, "size_source": ""}
        if size is None
        else {"size": size, "size_counted_at": now, "size_source": source}
    )
    Segment.objects.filter(pk=segment.pk).update(updated_at=now, **fields)
    if size is not None:
        SegmentSizePoint.objects.create(
            segment_id=segment.pk, size=size, counted_at=now, source=source
        )
    for key, value in fields.items():
        setattr(segment, key, value)
    return True


def write_batch(upsert: _Upsert, creates: list[tuple], updates: list[tuple]) -> None:
    """Write one batch's new and changed segments (a seam: the fault tests stop a worker here)."""
    upsert.write_rows(creates, updates)


__all__ = [
    "ACTIVE_WORDS",
    "BATCH_SIZE",
    "EXTERNAL_ID_MAX",
    "LINK_MAX",
    "NAME_MAX",
    "SIZE_MAX",
    "BulkResult",
    "Outcome",
    "RowProblem",
    "SegmentRow",
    "link_check",
    "name_key",
    "parse_active",
    "parse_size",
    "segment_bulk_upsert",
    "segment_row_problems",
    "segment_size_write",
    "size_problem",
]
