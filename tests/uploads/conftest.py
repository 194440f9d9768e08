from pathlib import Path

import pytest

from integrations.uploads.importers import SEGMENT
from integrations.uploads.reading import CsvFile, detect
from integrations.uploads.services import segments_import
from segments.models import Segment

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    """Uploaded files go to a folder of the test's own."""
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


def run_import(channel, path: Path, mapping: dict | None = None, **kwargs):
    """Import a file the way the upload flow does: detected encoding and delimiter, the
    suggested mapping unless one is given."""
    detected = detect(path)
    encoding = kwargs.pop("encoding", detected.encoding)
    delimiter = kwargs.pop("delimiter", detected.delimiter)
    if mapping is None:
        header = CsvFile(path, encoding=encoding, delimiter=delimiter, max_rows=1).header()
        mapping = SEGMENT.suggest(header)
    result = segments_import(
        channel=channel,
        path=path,
        encoding=encoding,
        delimiter=delimiter,
        mapping=mapping,
        **kwargs,
    )
    errors = [(e.row, e.column, e.reason) for e in result.errors]
    result.errors.close()
    return result, errors


def snapshot():
    """Every segment, every field a user sees: to prove a rejected file changed nothing."""
    return list(
        Segment.objects.order_by("pk").values_list(
            "pk", "channel_id", "name", "external_id", "link", "is_active", "source", "updated_at"
        )
    )


def segments(channel):
    return list(
        Segment.objects.filter(channel=channel)
        .order_by("name")
        .values_list("name", "external_id", "link", "is_active", "source")
    )
