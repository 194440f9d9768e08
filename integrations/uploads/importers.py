"""What an upload can import, and the import of segments from a CSV file.

An object type is an `Importer`: its fields (what the mapping step offers) and a `run` that
streams rows into the database. Segments are the only type today; another one is a new entry
in IMPORTERS with its own fields and run. The segment importer reads and maps the file; the
rules and the writing belong to segments.bulk.
"""

import csv
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields

from django.utils import timezone

from channels_app.models import Channel
from integrations.uploads.reading import NO_DATA_ROWS, CsvFile, FileProblem, clean, line_breaks
from segments.bulk import (
    ACTIVE_WORDS,
    EXTERNAL_ID_MAX,
    NAME_MAX,
    BulkResult,
    Outcome,
    RowProblem,
    SegmentRow,
    link_check,
    name_key,
    parse_active,
    parse_size,
    segment_bulk_upsert,
)
from segments.models import Segment

BATCH_SIZE = 2000  # rows a batch, and how often the progress moves
EXTRA_VALUES = RowProblem("", "", "This row has more values than the header.")


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
class ImportResult(BulkResult):
    """The bulk write's counts, plus the invalid rows for the error report."""

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
        preview: "ChangePreview | None" = None,
    ) -> ImportResult:
        """Stream the file into the channel (all-or-nothing unless skip_invalid); `preview`
        collects what changes."""
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
            f"{ACTIVE_WORDS}. Not imported: new segments are "
            "active and existing ones keep their status.",
            ("active status", "active", "status", "is active", "enabled", "state"),
            ("active", "status", "actif", "statut"),
        ),
        # Sizes: a figure per row (or one for all), recorded as counted now, from the CSV.
        FieldSpec(
            "size",
            "Size",
            False,
            "How many contacts the segment holds: 12345, 12,345 or 12 345. "
            "Not imported: segments keep their sizes; an empty cell keeps that segment's.",
            ("size", "segment size", "contacts", "members", "profile count", "total members"),
            ("size", "contacts", "members", "taille", "count"),
        ),
    )

    def check_static(self, key: str, value: str) -> str | None:
        if key == "name":
            if not value:
                return "enter a name."
            if len(value) > NAME_MAX:
                return f"at most {NAME_MAX} characters."
        elif key == "external_id" and len(value) > EXTERNAL_ID_MAX:
            return f"at most {EXTERNAL_ID_MAX} characters."
        elif key == "link":
            return link_check(value)
        elif key == "is_active" and parse_active(value) is None:
            return f"use {ACTIVE_WORDS}."
        elif key == "size":
            return parse_size(value)[1] or None
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
        preview: "ChangePreview | None" = None,
    ) -> ImportResult:
        header = csv_file.header()
        resolved = self.resolve(mapping, header)
        labels = {spec.key: _column_label(header, resolved, spec) for spec in self.fields}
        labels[""] = ""
        result = ImportResult()

        def invalid(row: SegmentRow) -> None:
            for problem in row.problems:
                result.errors.add(
                    RowError(row.ref, labels[problem.field], problem.value, problem.message)
                )

        started = timezone.now()
        done = segment_bulk_upsert(
            channel=channel,
            rows=_rows(csv_file, resolved),
            source=Segment.Source.CSV,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            batch_size=BATCH_SIZE,
            on_invalid=invalid,
            on_batch=on_progress,
            on_outcome=preview.hear if preview else None,
        )
        if done.total == 0:
            raise FileProblem(NO_DATA_ROWS)
        if preview:
            # After a real import, the segments it created are not "another segment".
            preview.finish(channel, created_since=started if done.written else None)
        for counted in fields(BulkResult):
            setattr(result, counted.name, getattr(done, counted.name))
        return result


class ChangePreview:
    """What an import changes, for the preview: the first rows that would change with their
    old → new values, how many rows change each field, and new segments whose name another
    segment of the channel (or an earlier new row) has: a warning, not a reason to refuse."""

    SHOWN = 20
    NAMES_TRACKED = 200_000  # new names remembered to find twins; past that, not checked

    FIELD_LABELS = {"name": "Name", "link": "Link", "is_active": "Status", "size": "Size"}

    def __init__(self):
        self.rows: list[dict] = []
        self.counts = {"name": 0, "link": 0, "is_active": 0, "size": 0}
        self.new_names: dict[str, tuple[int, str]] = {}  # name key → (row, name)
        self.twins: list[dict] = []
        self.twin_count = 0

    def hear(self, row: SegmentRow, outcome: Outcome, changes: dict) -> None:
        if outcome == Outcome.CREATED:
            self._new(row)
        elif outcome == Outcome.UPDATED:
            shown = []
            for key, (old, new) in changes.items():
                if key in self.counts:
                    self.counts[key] += 1
                    shown.append([self.FIELD_LABELS[key], _shown(key, old), _shown(key, new)])
            if len(self.rows) < self.SHOWN:
                self.rows.append(
                    {"row": row.ref, "kind": "updated", "name": row.name, "changes": shown}
                )

    def _new(self, row: SegmentRow) -> None:
        if len(self.rows) < self.SHOWN:
            status = "" if row.is_active is None else _shown("is_active", row.is_active)
            self.rows.append(
                {
                    "row": row.ref,
                    "kind": "created",
                    "name": row.name,
                    "external_id": row.external_id,
                    "link": row.link or "",
                    "status": status or "Active",
                }
            )
        key = name_key(row.name)
        earlier = self.new_names.get(key)
        if earlier is not None:
            self._twin(row, f"row {earlier[0]} of this file")
        elif len(self.new_names) < self.NAMES_TRACKED:
            self.new_names[key] = (row.ref, row.name)

    def _twin(self, row_number: int | SegmentRow, other: str, name: str = "") -> None:
        if isinstance(row_number, SegmentRow):
            row_number, name = row_number.ref, row_number.name
        self.twin_count += 1
        if len(self.twins) < self.SHOWN:
            self.twins.append({"row": row_number, "name": name, "other": other})

    def finish(self, channel: Channel, *, created_since=None) -> None:
        """New names the channel's other segments already have (read once, by name)."""
        if not self.new_names:
            return
        existing = Segment.objects.filter(channel=channel).order_by("pk")
        if created_since is not None:
            existing = existing.filter(created_at__lt=created_since)
        existing = existing.values_list("name", "external_id")
        for name, external_id in existing.iterator(chunk_size=5000):
            found = self.new_names.get(name_key(name))
            if found is None:
                continue
            other = f"segment “{name}”" + (f" (ID {external_id})" if external_id else "")
            self._twin(found[0], f"the existing {other}", found[1])
        self.twins.sort(key=lambda twin: twin["row"])

    def as_json(self, result: BulkResult) -> dict:
        return {
            "rows": self.rows,
            "counts": {"created": result.created, **self.counts},
            "twins": self.twins,
            "twin_count": self.twin_count,
        }


def _shown(key: str, value) -> str:
    if key == "is_active":
        return "Active" if value else "Inactive"
    if key == "size":
        return "unknown" if value is None else f"{value:,}"
    return value or ""


def _column_label(header: list[str], resolved: dict, spec: FieldSpec) -> str:
    kind, where = resolved.get(spec.key, ("", ""))
    if kind == "column":
        return header[where]
    return f"{spec.label} (fixed value)"


def _rows(csv_file: CsvFile, resolved: dict) -> Iterator[SegmentRow]:
    """The file's rows as segment rows: cells cleaned, fixed values filled in."""
    name_col, name_where = resolved["name"][0] == "column", resolved["name"][1]
    id_kind, id_where = resolved.get("external_id", ("static", ""))
    link_kind, link_where = resolved.get("link", ("", None))
    active_kind, active_where = resolved.get("is_active", ("", None))
    size_kind, size_where = resolved.get("size", ("", None))
    size_col = size_kind == "column"
    id_col, link_col, active_col = (
        id_kind == "column",
        link_kind == "column",
        active_kind == "column",
    )
    if active_kind == "static":
        active_where = parse_active(active_where)  # checked with the mapping
    for row in csv_file.rows():
        cells = row.cells
        problems = [EXTRA_VALUES] if row.extra else []
        if row.problem:
            problems.append(RowProblem("", "", row.problem))
        name = clean(cells[name_where]) if name_col else name_where
        external_id = clean(cells[id_where]) if id_col else id_where
        checked = [("name", name_where, name)] if name_col else []
        if id_col:
            checked.append(("external_id", id_where, external_id))
        for key, where, value in checked:
            if "\n" in value or "\r" in value:
                problems.append(_line_break_problem(key, value, row, cells, where))
        yield SegmentRow(
            name=name,
            external_id=external_id,
            link=clean(cells[link_where]) if link_col else link_where,
            is_active=cells[active_where] if active_col else active_where,
            size=cells[size_where] if size_col else size_where,  # parsed by segments.bulk
            ref=row.number,
            problems=problems or None,
        )


def _line_break_problem(key: str, value: str, row, cells: list[str], where: int) -> RowProblem:
    """A name or Segment ID holding a line break is most often a quote left open: say at
    which line of the file the value starts."""
    line = row.number + sum(line_breaks(cell) for cell in cells[:where])
    what = "segment name" if key == "name" else "Segment ID"
    return RowProblem(
        key,
        value,
        f"The {what} starting at line {line} runs over more than one line (a quote left "
        "open?). Put it on one line.",
    )


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
        out.append({"number": row.number, "cells": cells, "problem": row.problem})
    return out
