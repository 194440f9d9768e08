"""What an upload can import, and the engine that imports segments from a CSV file.

An object type is an `Importer`: its fields (what the mapping step offers) and a `run` that
streams rows into the database. Segments are the only type today; another one is a new entry
in IMPORTERS with its own fields and run.
"""

import csv
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from channels_app.models import Channel
from integrations.uploads.reading import NO_DATA_ROWS, CsvFile, FileProblem, clean
from segments.models import Segment
from segments.validators import validate_http_url

BATCH_SIZE = 2000
ANALYZE_AFTER = 10_000
MAX_LENGTH = 255

TRUE_WORDS = {"true", "yes", "y", "1", "active"}
FALSE_WORDS = {"false", "no", "n", "0", "inactive"}


class MappingProblem(Exception):
    """The mapping cannot be used (required field missing, unknown column, bad fixed value)."""


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    required: bool
    help: str
    synonyms: tuple[str, ...]
    words: tuple[str, ...] = ()  # a header containing one of these words, when no synonym fits


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    written: bool = False  # changes were committed
    rejected: bool = False  # all-or-nothing: invalid rows, so nothing was written
    errors: "ErrorSpool" = field(default_factory=lambda: ErrorSpool())

    @property
    def valid(self) -> int:
        return self.created + self.updated + self.unchanged


class ErrorSpool:
    """Invalid rows, kept in a temporary file so a million bad rows do not fill memory."""

    def __init__(self):
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 closed by close()
        self._writer = csv.writer(self._file)
        self.count = 0

    def add(self, error: RowError) -> None:
        self._writer.writerow([error.row, error.column, error.value[:200], error.reason])
        self.count += 1

    def __iter__(self) -> Iterator[RowError]:
        self._file.flush()
        self._file.seek(0)
        for row, column, value, reason in csv.reader(self._file):
            yield RowError(int(row), column, value, reason)
        self._file.seek(0, os.SEEK_END)

    def close(self) -> None:
        self._file.close()


def parse_active(value: str) -> bool | None:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


# A strict subset of what URLValidator accepts, checked first because the full validator
# costs ~11 µs a link; anything this does not match goes through validate_http_url.
_SIMPLE_URL = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}[a-z]{2,24}"
    r"(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~/%-]*)?(?:\?[A-Za-z0-9._~%=&-]*)?",
    re.ASCII,
)


def link_problem(value: str) -> str | None:
    """Why a link is refused, or None when it is an acceptable http(s) link."""
    if not value or (len(value) <= 500 and _SIMPLE_URL.fullmatch(value)):
        return None
    if len(value) > 2000:
        return f"The link is {len(value):,} characters long; the most is 2,000."
    try:
        validate_http_url(value)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def normalise_header(name: str) -> str:
    return " ".join(re.sub(r"[_\-.]+", " ", name.strip().lower()).split())


class Importer:
    key: str
    label: str
    fields: tuple[FieldSpec, ...]

    def field(self, key: str) -> FieldSpec:
        return next(f for f in self.fields if f.key == key)

    def suggest(self, header: list[str]) -> dict[str, dict[str, str]]:
        """A mapping guessed from the header names (each column used at most once)."""
        by_name = {normalise_header(name): name for name in header}
        mapping: dict[str, dict[str, str]] = {}
        used: set[str] = set()
        for spec in self.fields:
            for synonym in spec.synonyms:
                column = by_name.get(synonym)
                if column and column not in used:
                    mapping[spec.key] = {"column": column}
                    used.add(column)
                    break
        for spec in self.fields:
            if spec.key in mapping:
                continue
            for normalised, column in by_name.items():
                if column not in used and set(normalised.split()) & set(spec.words):
                    mapping[spec.key] = {"column": column}
                    used.add(column)
                    break
        return mapping

    def check_static(self, key: str, value: str) -> str | None:
        """Why a fixed value is refused for a field, or None."""
        raise NotImplementedError

    def run(
        self,
        *,
        channel: Channel,
        csv_file: CsvFile,
        mapping: dict,
        dry_run: bool,
        skip_invalid: bool,
        on_progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Stream the file into the channel (all-or-nothing unless skip_invalid)."""
        raise NotImplementedError

    def resolve(self, mapping: dict, header: list[str]) -> dict[str, tuple[str, int | str]]:
        """{field: ("column", index) | ("static", cleaned value)}; MappingProblem if unusable."""
        positions = {name.casefold(): i for i, name in enumerate(header)}
        resolved: dict[str, tuple[str, int | str]] = {}
        for spec in self.fields:
            source = mapping.get(spec.key) or {}
            if "column" in source:
                index = positions.get(str(source["column"]).strip().casefold())
                if index is None:
                    raise MappingProblem(
                        f"{spec.label}: the file has no column “{source['column']}”. "
                        f"Its columns are: {', '.join(header)}."
                    )
                resolved[spec.key] = ("column", index)
            elif "static" in source:
                value = clean(str(source["static"]))
                problem = self.check_static(spec.key, value)
                if problem:
                    raise MappingProblem(f"{spec.label}: {problem}")
                resolved[spec.key] = ("static", value)
            elif spec.required:
                raise MappingProblem(f"{spec.label} is required: choose a column or a value.")
        return resolved

    def mapping_labels(self, mapping: dict) -> list[tuple[str, str]]:
        """(field label, "column “X”" / "fixed value “Y”" / "not imported") for display."""
        out = []
        for spec in self.fields:
            source = mapping.get(spec.key) or {}
            if "column" in source:
                out.append((spec.label, f"column “{source['column']}”"))
            elif "static" in source:
                out.append((spec.label, f"fixed value “{source['static']}”"))
            else:
                out.append((spec.label, "not imported"))
        return out


class SegmentImporter(Importer):
    key = "segments"
    label = "Segments"
    fields = (
        FieldSpec(
            "name",
            "Segment name",
            True,
            "The name shown everywhere in Access Audience.",
            ("segment name", "name", "segment", "segment title", "title", "segmentname"),
            ("name", "nom", "nombre", "segment"),
        ),
        FieldSpec(
            "external_id",
            "Segment ID",
            False,
            "Matches existing segments; rows without one match by name among segments "
            "without an ID.",
            (
                "segment id",
                "id",
                "segmentid",
                "external id",
                "external_id",
                "identifier",
                "list id",
            ),
            ("id", "identifier", "identifiant", "key"),
        ),
        FieldSpec(
            "link",
            "Link",
            False,
            "An http:// or https:// address.",
            ("link", "url", "segment url", "segment link", "href", "web link"),
            ("link", "url", "lien", "href"),
        ),
        FieldSpec(
            "is_active",
            "Active status",
            False,
            "true/false, yes/no, y/n, 1/0 or active/inactive. Not imported: new segments are "
            "active and existing ones keep their status.",
            ("active status", "active", "status", "is active", "enabled", "state"),
            ("active", "status", "actif", "statut"),
        ),
    )

    def check_static(self, key: str, value: str) -> str | None:
        if key == "name":
            if not value:
                return "enter a name."
            if len(value) > MAX_LENGTH:
                return f"at most {MAX_LENGTH} characters."
        elif key == "external_id" and len(value) > MAX_LENGTH:
            return f"at most {MAX_LENGTH} characters."
        elif key == "link":
            return link_problem(value)
        elif key == "is_active" and parse_active(value) is None:
            return "use true/false, yes/no, y/n, 1/0 or active/inactive."
        return None

    def run(
        self,
        *,
        channel: Channel,
        csv_file: CsvFile,
        mapping: dict,
        dry_run: bool,
        skip_invalid: bool,
        on_progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        header = csv_file.header()
        resolved = self.resolve(mapping, header)
        with _Staging() as staging:
            run = _SegmentRun(
                channel=channel,
                header=header,
                resolved=resolved,
                staging=staging,
                write=not dry_run,
                skip_invalid=skip_invalid,
            )
            if dry_run:
                run.process(csv_file, on_progress)
                return run.result
            try:
                with transaction.atomic():
                    run.process(csv_file, on_progress)
                    if run.result.invalid and not skip_invalid:
                        raise _Rollback
            except _Rollback:
                run.result.rejected = True
                run.result.written = False
                return run.result
            run.result.written = True
            if connection.vendor == "postgresql" and run.result.created >= ANALYZE_AFTER:
                # Fresh statistics, or the planner keeps thinking the channel is small and
                # scans it instead of probing the Segment ID index on the next import.
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(Segment._meta.db_table)}")
            return run.result


class _Rollback(Exception):
    pass


class _Staging:
    """A throwaway SQLite file for what must be remembered across batches (Segment IDs and
    names seen in the file, the channel's segments without an ID by name), so memory stays
    flat whatever the size of the file or the channel."""

    def __enter__(self) -> "_Staging":
        fd, self.path = tempfile.mkstemp(prefix="aa-import-", suffix=".sqlite3")
        os.close(fd)
        self.db = sqlite3.connect(self.path)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8000;"
            "CREATE TABLE seen (key TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID;"
            "CREATE TABLE noid (key TEXT PRIMARY KEY, pk INTEGER, name TEXT, link TEXT,"
            " active INTEGER) WITHOUT ROWID;"
        )
        self.noid_loaded = False
        return self

    def __exit__(self, *exc) -> None:
        self.db.close()
        Path(self.path).unlink(missing_ok=True)

    def first_seen(self, items: list[tuple[str, int]]) -> dict[str, int]:
        """Remember keys; return {key\x00row: earlier row} for the ones seen before (in this
        batch too)."""
        fresh: dict[str, int] = {}
        repeated: list[tuple[str, int]] = []
        for key, row in items:
            if key in fresh:
                repeated.append((key, row))
            else:
                fresh[key] = row
        before = self.db.total_changes
        with self.db:  # one transaction a batch: autocommit per row is six times slower
            self.db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", fresh.items())
        duplicates: dict[str, int] = {}
        earlier: dict[str, int] = {}
        if self.db.total_changes - before < len(fresh):
            # Some keys were seen in an earlier batch: find which (rare, so the slow way).
            keys = list(fresh)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, first in self.db.execute(
                    f"SELECT key, row FROM seen WHERE key IN ({marks})",  # noqa: S608
                    chunk,
                ):
                    if first != fresh[key]:
                        duplicates[f"{key}\x00{fresh[key]}"] = first
                        earlier[key] = first
        for key, row in repeated:
            duplicates[f"{key}\x00{row}"] = earlier.get(key, fresh[key])
        return duplicates

    def load_noid(self, channel: Channel) -> None:
        if self.noid_loaded:
            return
        self.noid_loaded = True
        rows = (
            Segment.objects.filter(channel=channel, external_id="")
            .order_by("pk")
            .values_list("pk", "name", "link", "is_active")
        )
        batch = []
        for pk, name, link, active in rows.iterator(chunk_size=5000):
            batch.append((name_key(name), pk, name, link, int(active)))
            if len(batch) >= 5000:
                with self.db:
                    self.db.executemany("INSERT OR IGNORE INTO noid VALUES (?,?,?,?,?)", batch)
                batch = []
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO noid VALUES (?,?,?,?,?)", batch)

    def noid_lookup(self, keys: list[str]) -> dict[str, tuple[int, str, str, bool]]:
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, pk, name, link, active in self.db.execute(
                f"SELECT key, pk, name, link, active FROM noid WHERE key IN ({marks})",  # noqa: S608
                chunk,
            ):
                found[key] = (pk, name, link, bool(active))
        return found


def name_key(name: str) -> str:
    """How rows without a Segment ID match: case-insensitive, trimmed."""
    return name.strip().lower()


@dataclass(slots=True)
class _Candidate:
    row: int
    name: str
    external_id: str
    link: str | None  # None: not mapped
    is_active: bool | None  # None: not mapped


class _SegmentRun:
    def __init__(self, *, channel, header, resolved, staging, write, skip_invalid):
        self.channel = channel
        self.header = header
        self.resolved = resolved
        self.staging = staging
        self.write = write
        self.skip_invalid = skip_invalid
        self.result = ImportResult()
        # Raw executemany: the fastest batch write on both SQLite and PostgreSQL. Only
        # placeholders and the model's own table name are interpolated.
        table = connection.ops.quote_name(Segment._meta.db_table)
        columns = (
            "channel_id, name, external_id, link, is_active, source, kind, created_at, updated_at"
        )
        self.insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 9)})"  # noqa: S608
        # PostgreSQL: COPY (executemany there costs a round trip or a quoted literal a row);
        # SQLite: executemany, which is its fastest path.
        self.postgres = connection.vendor == "postgresql"
        # A join on unnest() probes the unique index once per ID (= ANY(array) of 2,000 IDs
        # is ten times slower).
        self.lookup_any_sql = (
            "SELECT s.id, s.external_id, s.name, s.link, s.is_active"  # noqa: S608
            f" FROM unnest(%s::text[]) AS k(ext) JOIN {table} AS s ON s.channel_id = %s"
            " AND NOT (s.external_id = '') AND s.external_id = k.ext"
        )
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        self.update_from_sql = (
            f"UPDATE {table} AS s SET name = v.name, link = v.link,"  # noqa: S608
            " is_active = v.is_active, updated_at = v.updated_at FROM aa_upload_changes AS v"
            " WHERE s.id = v.id"
        )
        self.lookup_sql = lambda n: (
            f"SELECT id, external_id, name, link, is_active FROM {table}"  # noqa: S608
            # Repeating the partial unique index's condition word for word lets SQLite use it.
            f" WHERE channel_id = %s AND NOT (external_id = '') AND external_id IN"
            f" ({', '.join(['%s'] * n)})"
        )
        # Segments created by this import cannot match a later row (a second row with the same
        # ID is a duplicate), so a channel without Segment IDs needs no lookups at all.
        self.channel_has_ids = (
            Segment.objects.filter(channel=channel).exclude(external_id="").exists()
        )
        self.update_sql = f"UPDATE {table} SET name = %s, link = %s, is_active = %s, updated_at = %s WHERE id = %s"  # noqa: S608, E501

    def _column_label(self, key: str, spec_label: str) -> str:
        kind, where = self.resolved.get(key, ("", ""))
        if kind == "column":
            return self.header[where]
        return f"{spec_label} (fixed value)"

    def process(self, csv_file: CsvFile, on_progress) -> None:
        self._process(csv_file, on_progress)
        if self.result.total == 0:
            raise FileProblem(NO_DATA_ROWS)

    def _process(self, csv_file: CsvFile, on_progress) -> None:
        resolved = self.resolved
        getters = {}
        for key, (kind, where) in resolved.items():
            getters[key] = (kind == "column", where)
        labels = {spec.key: self._column_label(spec.key, spec.label) for spec in SEGMENT.fields}
        errors = self.result.errors
        result = self.result
        has_link = "link" in resolved
        has_active = "is_active" in resolved
        name_col, name_where = getters["name"]
        id_col, id_where = getters.get("external_id", (False, ""))
        link_col, link_where = getters.get("link", (False, ""))
        active_col, active_where = getters.get("is_active", (False, ""))
        static_active = parse_active(active_where) if has_active and not active_col else None
        batch: list[_Candidate] = []
        for row in csv_file.rows():
            result.total += 1
            cells = row.cells
            bad = False
            if row.extra:
                errors.add(
                    RowError(row.number, "", "", "This row has more values than the header.")
                )
                bad = True
            name = clean(cells[name_where]) if name_col else name_where
            if not name:
                errors.add(RowError(row.number, labels["name"], "", "The segment name is empty."))
                bad = True
            elif len(name) > MAX_LENGTH:
                errors.add(
                    RowError(
                        row.number,
                        labels["name"],
                        name,
                        f"The segment name is {len(name):,} characters long; the most is 255.",
                    )
                )
                bad = True
            external_id = clean(cells[id_where]) if id_col else id_where
            if len(external_id) > MAX_LENGTH:
                errors.add(
                    RowError(
                        row.number,
                        labels["external_id"],
                        external_id,
                        f"The Segment ID is {len(external_id):,} characters long; the most is 255.",
                    )
                )
                bad = True
            link = None
            if has_link:
                link = clean(cells[link_where]) if link_col else link_where
                problem = link_problem(link) if link_col else None
                if problem:
                    errors.add(RowError(row.number, labels["link"], link, problem))
                    bad = True
            is_active = None
            if has_active:
                if active_col:
                    raw = cells[active_where]
                    is_active = parse_active(raw)
                    if is_active is None:
                        errors.add(
                            RowError(
                                row.number,
                                labels["is_active"],
                                raw.strip(),
                                f"“{raw.strip()}” is not an active status: use true/false, "
                                "yes/no, y/n, 1/0 or active/inactive."
                                if raw.strip()
                                else "The active status is empty: use true/false, yes/no, "
                                "y/n, 1/0 or active/inactive.",
                            )
                        )
                        bad = True
                else:
                    is_active = static_active
            if bad:
                result.invalid += 1
                continue
            batch.append(_Candidate(row.number, name, external_id, link, is_active))
            if len(batch) >= BATCH_SIZE:
                self._flush(batch, labels)
                batch = []
                if on_progress:
                    on_progress(result.total)
        if batch:
            self._flush(batch, labels)
        if on_progress:
            on_progress(result.total)

    def _flush(self, batch: list[_Candidate], labels: dict[str, str]) -> None:
        result = self.result
        keyed = [
            ((f"i:{c.external_id}" if c.external_id else f"n:{name_key(c.name)}"), c.row)
            for c in batch
        ]
        duplicates = self.staging.first_seen(keyed)
        if duplicates:
            kept = []
            for (key, row), c in zip(keyed, batch, strict=True):
                first = duplicates.get(key + f"\x00{row}")
                if first is None:
                    kept.append(c)
                    continue
                result.invalid += 1
                if c.external_id:
                    result.errors.add(
                        RowError(
                            c.row,
                            labels["external_id"],
                            c.external_id,
                            f"The Segment ID “{c.external_id}” already appears on row {first}.",
                        )
                    )
                else:
                    result.errors.add(
                        RowError(
                            c.row,
                            labels["name"],
                            c.name,
                            f"The segment “{c.name}” (without a Segment ID) already appears "
                            f"on row {first}.",
                        )
                    )
            batch = kept
        ids = [c.external_id for c in batch if c.external_id] if self.channel_has_ids else []
        by_id: dict[str, tuple[int, str, str, bool]] = {}
        if ids:
            with connection.cursor() as cursor:
                if self.postgres:
                    cursor.execute(self.lookup_any_sql, [ids, self.channel.pk])
                    chunks = [cursor.fetchall()]
                else:
                    chunks = []
                    for start in range(0, len(ids), 1000):
                        chunk = ids[start : start + 1000]
                        cursor.execute(self.lookup_sql(len(chunk)), [self.channel.pk, *chunk])
                        chunks.append(cursor.fetchall())
                for rows in chunks:
                    for pk, ext, name, link, active in rows:
                        by_id[ext] = (pk, name, link, bool(active))
        names = [name_key(c.name) for c in batch if not c.external_id]
        by_name: dict[str, tuple[int, str, str, bool]] = {}
        if names:
            self.staging.load_noid(self.channel)
            by_name = self.staging.noid_lookup(names)
        creates = []
        updates = []
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        for c in batch:
            found = by_id.get(c.external_id) if c.external_id else by_name.get(name_key(c.name))
            if found is None:
                result.created += 1
                creates.append(
                    (
                        self.channel.pk,
                        c.name,
                        c.external_id,
                        c.link or "",
                        True if c.is_active is None else c.is_active,
                        Segment.Source.CSV.value,
                        "",
                        now,
                        now,
                    )
                )
                continue
            pk, name, link, active = found
            new_link = link if c.link is None else c.link
            new_active = active if c.is_active is None else c.is_active
            if (c.name, new_link, new_active) == (name, link, active):
                result.unchanged += 1
            else:
                result.updated += 1
                updates.append((c.name, new_link, new_active, now, pk))
        if not self.write or (result.invalid and not self.skip_invalid):
            return  # a dry run, or an all-or-nothing import that will be rolled back
        with connection.cursor() as cursor:
            if creates:
                if self.postgres:
                    with cursor.cursor.copy(self.copy_sql) as copy:
                        for row in creates:
                            copy.write_row(row)
                else:
                    cursor.executemany(self.insert_sql, creates)
            if updates:
                if self.postgres:
                    cursor.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS aa_upload_changes (name text,"
                        " link text, is_active boolean, updated_at timestamptz, id bigint)"
                        " ON COMMIT DROP"
                    )
                    cursor.execute("TRUNCATE aa_upload_changes")
                    with cursor.cursor.copy("COPY aa_upload_changes FROM STDIN") as copy:
                        for row in updates:
                            copy.write_row(row)
                    cursor.execute(self.update_from_sql)
                else:
                    cursor.executemany(self.update_sql, updates)


SEGMENT = SegmentImporter()
IMPORTERS: dict[str, Importer] = {SEGMENT.key: SEGMENT}


def preview_rows(importer: Importer, mapping: dict, header: list[str], rows) -> list[dict]:
    """Rows as they would be imported: per field the cleaned value and any problem with it
    (duplicates across the file are found by the dry run, not here)."""
    positions = {name.casefold(): i for i, name in enumerate(header)}
    out = []
    for row in rows:
        cells = []
        for spec in importer.fields:
            source = mapping.get(spec.key) or {}
            if "column" in source:
                index = positions.get(str(source["column"]).casefold())
                raw = row.cells[index] if index is not None else ""
                value = raw.strip() if spec.key == "is_active" else clean(raw)
                from_column = True
            elif "static" in source:
                value, from_column = clean(str(source["static"])), False
            else:
                cells.append({"value": "", "problem": "", "unmapped": True})
                continue
            problem = importer.check_static(spec.key, value)
            if spec.key == "is_active" and from_column and problem:
                problem = f"“{value}” is not an active status." if value else "Empty status."
            elif problem:
                problem = problem[:1].upper() + problem[1:]
            if spec.key == "is_active" and not problem:
                value = "Active" if parse_active(value) else "Inactive"
            cells.append({"value": value, "problem": problem or "", "unmapped": False})
        out.append({"number": row.number, "cells": cells})
    return out
