"""Where an upload's file and its progress live on disk (under DJANGO_DATA_DIR/uploads).

Below the services and the selectors: both find files through here.
"""

from pathlib import Path

from django.conf import settings

from integrations.uploads.models import Upload
from integrations.uploads.reading import CsvFile


def upload_dir() -> Path:
    path = Path(settings.UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(upload: Upload) -> Path:
    return upload_dir() / upload.stored_name


def progress_path(upload: Upload) -> Path:
    # Progress lives beside the file, not in the database: the import holds one transaction
    # (all-or-nothing), so rows written to the database would stay invisible until the end.
    return upload_dir() / f"upload-{upload.pk}.progress"


def csv_file_for(upload: Upload) -> CsvFile:
    return CsvFile(
        upload_path(upload),
        encoding=upload.encoding,
        delimiter=upload.delimiter,
        max_rows=settings.UPLOAD_MAX_ROWS,
        max_columns=settings.UPLOAD_MAX_COLUMNS,
    )
