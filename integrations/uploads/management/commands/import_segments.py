import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels_app.models import Channel
from integrations.uploads.importers import SEGMENT, ChangePreview, MappingProblem
from integrations.uploads.reading import (
    CsvFile,
    FileProblem,
    check_encoding,
    delimiter_label,
    detect,
    encoding_label,
    parse_delimiter,
)
from integrations.uploads.services import segments_import

EXIT_INVALID_ROWS = 1
EXIT_UNUSABLE = 2
SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Import segments from a CSV file into one channel, like Data → Upload. Exit codes: 0 "
        "imported (or the dry run found nothing wrong), 1 invalid rows (nothing written unless "
        "--skip-invalid), 2 the file, channel or mapping cannot be used."
    )

    def add_arguments(self, parser):
        fields = ", ".join(spec.key for spec in SEGMENT.fields)
        parser.add_argument("file", type=Path)
        parser.add_argument("--channel", required=True, help="The channel's slug, e.g. email.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help=f"Take FIELD from the CSV column COLUMN. Fields: {fields}. "
            "Without any --map or --static the mapping is suggested from the header.",
        )
        parser.add_argument(
            "--static",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="Use VALUE for FIELD on every row.",
        )
        parser.add_argument("--delimiter", help="comma, semicolon, tab, pipe (or the char).")
        parser.add_argument(
            "--encoding",
            help="A text encoding, e.g. utf-8, utf-16, cp1252 (default: detected). It is used "
            "as given, even where detection would say otherwise.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid rows, skip the others."
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}", returncode=EXIT_UNUSABLE)
        try:
            channel = Channel.objects.get(slug=options["channel"])
        except Channel.DoesNotExist:
            slugs = ", ".join(Channel.objects.values_list("slug", flat=True))
            raise CommandError(
                f"No channel “{options['channel']}”. Channels: {slugs}.", returncode=EXIT_UNUSABLE
            ) from None
        try:
            # What the user gives wins: detection only fills in what is missing.
            encoding = check_encoding(options["encoding"]) if options["encoding"] else None
            if options["delimiter"]:
                delimiter = parse_delimiter(options["delimiter"])
                encoding = encoding or detect(path).encoding
            else:
                detected = detect(path, encoding=encoding)
                encoding, delimiter = detected.encoding, detected.delimiter
            header = CsvFile(
                path,
                encoding=encoding,
                delimiter=delimiter,
                max_rows=1,
                max_columns=settings.UPLOAD_MAX_COLUMNS,
            ).header()
            mapping = self._mapping(options, header)
        except FileProblem as exc:
            raise CommandError(str(exc), returncode=EXIT_UNUSABLE) from None
        self.stderr.write(
            f"Reading {path.name} as {encoding_label(encoding)}, "
            f"{delimiter_label(delimiter).lower()} separated, into {channel.name}."
        )
        for label, source in SEGMENT.mapping_labels(mapping):
            self.stderr.write(f"  {label}: {source}")
        verbosity = options["verbosity"]
        show_progress = verbosity >= 1 and sys.stderr.isatty()

        def on_progress(done: int) -> None:
            if show_progress:
                self.stderr.write(f"\r{done:,} rows…", ending="")
                self.stderr.flush()

        preview = ChangePreview()
        try:
            result = segments_import(
                channel=channel,
                path=path,
                encoding=encoding,
                delimiter=delimiter,
                mapping=mapping,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
                on_progress=on_progress,
                preview=preview,
            )
        except (FileProblem, MappingProblem) as exc:
            raise CommandError(str(exc), returncode=EXIT_UNUSABLE) from None
        if show_progress:
            self.stderr.write("")
        try:
            for shown, error in enumerate(result.errors):
                if shown >= SHOWN_ERRORS:
                    self.stderr.write(f"… and {result.errors.count - shown:,} more problems.")
                    break
                column = f" [{error.column}]" if error.column else ""
                self.stderr.write(f"Row {error.row}{column}: {error.reason}")
        finally:
            result.errors.close()
        for twin in preview.twins:
            self.stderr.write(
                f"Warning: row {twin['row']} makes a new segment “{twin['name']}”, named like "
                f"{twin['other']}."
            )
        if preview.twin_count > len(preview.twins):
            self.stderr.write(f"… and {preview.twin_count - len(preview.twins):,} more.")
        verb = "Would create" if options["dry_run"] else "Created"
        summary = (
            f"{verb} {result.created:,}, updated {result.updated:,}, unchanged "
            f"{result.unchanged:,}, invalid {result.invalid:,} of {result.total:,} rows."
        )
        if options["dry_run"]:
            self.stdout.write(f"Dry run, nothing written. {summary}")
        elif result.rejected:
            self.stdout.write(f"Nothing imported: invalid rows. {summary}")
        else:
            self.stdout.write(self.style.SUCCESS(summary))
        if result.invalid and not options["skip_invalid"]:
            sys.exit(EXIT_INVALID_ROWS)

    def _mapping(self, options, header: list[str]) -> dict:
        keys = {spec.key for spec in SEGMENT.fields}
        if not options["map"] and not options["static"]:
            return SEGMENT.suggest(header)
        mapping: dict[str, dict[str, str]] = {}
        for option, kind in (("map", "column"), ("static", "static")):
            for item in options[option]:
                field, sep, value = item.partition("=")
                field = field.strip()
                if not sep or field not in keys:
                    raise CommandError(
                        f"--{option} {item}: use FIELD=VALUE with FIELD one of "
                        f"{', '.join(sorted(keys))}.",
                        returncode=EXIT_UNUSABLE,
                    )
                mapping[field] = {kind: value}
        try:
            SEGMENT.resolve(mapping, header)
        except MappingProblem as exc:
            raise CommandError(str(exc), returncode=EXIT_UNUSABLE) from None
        return mapping
