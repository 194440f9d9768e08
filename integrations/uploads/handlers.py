"""The upload handler for every file sent to the app (settings.FILE_UPLOAD_HANDLERS).

A file streams straight to disk beside the stored uploads (so storing it is a rename) and is
refused as soon as it passes UPLOAD_MAX_BYTES, instead of after the whole body was received:
the request never holds more than a chunk, and a huge file stops costing disk at the cap.
"""

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    SkipFile,
    TemporaryFileUploadHandler,
)
from django.template.defaultfilters import filesizeformat

from integrations.uploads.files import upload_dir

TOO_BIG_ATTRIBUTE = "upload_refused"


class _FileBesideUploads(TemporaryUploadedFile):
    """A temporary file in the uploads folder (removed on close unless moved away)."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=upload_dir())  # noqa: SIM115
        super(TemporaryUploadedFile, self).__init__(
            file, name, content_type, size, charset, content_type_extra
        )


class CappedUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs):
        FileUploadHandler.new_file(self, *args, **kwargs)  # not the parent's temporary file
        self.received = 0
        self.file = _FileBesideUploads(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            self.file.close()
            setattr(
                self.request,
                TOO_BIG_ATTRIBUTE,
                f"The file is larger than {filesizeformat(settings.UPLOAD_MAX_BYTES)}, the most "
                "one upload can take. Split it into smaller files.",
            )
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)
