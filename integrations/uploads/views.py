import csv
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access_audience.htmx import render_page, wants_partial
from access_audience.pagination import paginate
from access_audience.submissions import once_per_form, submitted_once
from channels_app.models import Channel
from channels_app.selectors import channels_for_request
from history.actor import RUN_UPLOAD
from history.pages import run_changes_context
from integrations.uploads import background, selectors, services
from integrations.uploads.forms import ChooseForm, MappingForm, ReadForm
from integrations.uploads.handlers import TOO_BIG_ATTRIBUTE
from integrations.uploads.importers import IMPORTERS, preview_rows
from integrations.uploads.models import Upload
from integrations.uploads.reading import (
    FileProblem,
    delimiter_label,
    encoding_label,
    neutralise,
)
from segments.selectors import segment_search

ERRORS_ON_PAGE = 100


class _Echo:
    def write(self, value: str) -> str:
        return value


def _upload_or_404(pk: int) -> Upload:
    try:
        return selectors.upload_get(pk)
    except Upload.DoesNotExist:
        raise Http404("No such upload.") from None


def _redirect_to_step(upload: Upload) -> HttpResponse:
    if upload.status == Upload.Status.NEW:
        return redirect("uploads:map" if upload.mapping else "uploads:read", pk=upload.pk)
    if upload.status in Upload.READ_STEPS:
        return redirect("uploads:read", pk=upload.pk)
    return redirect("uploads:detail", pk=upload.pk)


@require_GET
@permission_required("uploads.view_upload", raise_exception=True)
def history(request: HttpRequest) -> HttpResponse:
    """The Data page: every upload, newest first."""
    page_obj = paginate(selectors.upload_list(), request.GET.get("page"), per_page=50)
    # A dry run or import whose worker stopped: shown failed, not running forever.
    selectors.uploads_as_shown(page_obj)
    return render_page(
        request, "uploads/history.html", {"page_obj": page_obj}, partial="upload-history"
    )


@require_http_methods(["GET", "POST"])
@permission_required("uploads.add_upload", raise_exception=True)
@once_per_form()
def upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose what to import, the channel and the file."""
    if request.method == "POST":
        files = request.FILES  # parsed first: the upload handler may refuse the file
        refused = getattr(request, TOO_BIG_ATTRIBUTE, "")
        form = ChooseForm(request.POST, files, refused=refused)
        if form.is_valid():
            with submitted_once(request, fallback=reverse("uploads:history")) as record:
                new = background.upload_start(
                    user=request.user,
                    channel=form.cleaned_data["channel"],
                    object_type=form.cleaned_data["object_type"],
                    uploaded_file=form.cleaned_data["file"],
                )
                record(reverse("uploads:read", args=[new.pk]))
            return redirect("uploads:read", pk=new.pk)
    else:
        # The Segments tab's "Upload" link names its channel.
        slug = request.GET.get("channel", "")
        channel = next((c for c in channels_for_request(request) if c.slug == slug), None)
        form = ChooseForm(initial={"channel": channel.slug if channel else None})
    recent = selectors.uploads_as_shown(list(selectors.upload_list()[:5]))
    return render_page(request, "uploads/upload.html", {"form": form, "recent": recent})


def _read_form(upload: Upload, data=None) -> ReadForm:
    """The encoding and delimiter overrides, showing what is in use when not bound."""
    initial = {"encoding": upload.encoding, "delimiter": upload.delimiter}
    return ReadForm(data, initial=initial, current_encoding=upload.encoding)


def _read_page(request: HttpRequest, upload: Upload, form: ReadForm) -> HttpResponse:
    reading = upload.status == Upload.Status.READING
    context = {
        "upload": upload,
        "form": form,
        "reading": reading,
        "read_bytes": selectors.upload_progress(upload) if reading else 0,
        "sample": selectors.upload_sample(upload),
        "report": upload.read_report,
        "encoding_label": encoding_label(upload.encoding),
        "delimiter_label": delimiter_label(upload.delimiter),
        "detected_encoding_label": encoding_label(upload.detected_encoding),
        "detected_delimiter_label": delimiter_label(upload.detected_delimiter),
        "step": "read",
    }
    return render_page(request, "uploads/read.html", context, partial="upload-read")


@require_http_methods(["GET", "POST"])
@permission_required("uploads.add_upload", raise_exception=True)
def read(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: the file being read in the background, then what was found, the first rows,
    and overrides for encoding and delimiter."""
    [upload] = selectors.uploads_as_shown([_upload_or_404(pk)])
    if upload.status not in Upload.READ_STEPS:
        return _redirect_to_step(upload)
    if request.method == "GET":
        return _read_page(request, upload, _read_form(upload))
    form = _read_form(upload, request.POST)
    if form.is_valid():
        try:
            upload = background.upload_reread(
                upload=upload,
                encoding=form.cleaned_data["encoding"],
                delimiter=form.cleaned_data["delimiter"],
            )
        except (FileProblem, services.UploadConflict) as exc:
            form.add_error(None, str(exc))
        else:
            if not wants_partial(request):
                return redirect("uploads:read", pk=upload.pk)
            form = _read_form(upload)
    return _read_page(request, upload, form)


def _mapping_form(request: HttpRequest, upload: Upload, importer) -> tuple[MappingForm, dict]:
    """The mapping form (posted, being edited, or as saved) and the mapping its sample shows."""
    kwargs = {"importer": importer, "header": upload.headers}
    if request.method == "POST":
        form = MappingForm(request.POST, **kwargs)
        form.is_valid()
        return form, form.mapping() if hasattr(form, "cleaned_data") else upload.mapping
    if "name_source" in request.GET:
        # The mapping being edited (htmx refresh of the sample), not yet saved.
        form = MappingForm(request.GET, **kwargs)
        form.is_valid()
        return form, form.mapping()
    form = MappingForm(initial=MappingForm.initial_for(importer, upload.mapping), **kwargs)
    return form, upload.mapping


@require_http_methods(["GET", "POST"])
@permission_required("uploads.add_upload", raise_exception=True)
def map_columns(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: a column, a fixed value or nothing for each field; the first rows as they
    would be imported (refreshed as the mapping changes)."""
    upload = _upload_or_404(pk)
    if upload.status != Upload.Status.NEW or not upload.headers:
        return _redirect_to_step(upload)
    importer = IMPORTERS[upload.object_type]
    form, mapping = _mapping_form(request, upload, importer)
    if request.method == "POST" and form.is_valid():
        try:
            upload = background.upload_set_mapping(upload=upload, mapping=form.mapping())
        except services.UploadConflict as exc:
            messages.error(request, str(exc))
        return redirect("uploads:detail", pk=upload.pk)
    context = {
        "upload": upload,
        "form": form,
        "fields": importer.fields,
        "sample": preview_rows(importer, mapping, upload.headers, selectors.upload_sample(upload)),
        "active_unmapped": not mapping.get("is_active"),
        "step": "map",
    }
    return render_page(request, "uploads/map.html", context, partial="mapped-sample")


@require_GET
@permission_required("uploads.view_upload", raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps 4 and 5: the dry run's preview, the import's progress and its summary."""
    # Its worker stopped: the polling page turns into the failure by itself.
    [upload] = selectors.uploads_as_shown([_upload_or_404(pk)])
    can_upload = request.user.has_perm("uploads.add_upload")
    if upload.status in Upload.READ_STEPS and can_upload and not wants_partial(request):
        return _redirect_to_step(upload)  # still reading or mapping
    errors = list(selectors.upload_errors(upload)[:ERRORS_ON_PAGE])
    importer = IMPORTERS[upload.object_type]
    context = {
        "upload": upload,
        "errors": errors,
        "done": selectors.upload_progress(upload) if upload.is_running else 0,
        "mapping_labels": importer.mapping_labels(upload.mapping),
        "encoding_label": encoding_label(upload.encoding),
        "delimiter_label": delimiter_label(upload.delimiter),
        "step": upload.step,
        "can_upload": can_upload,
        "invalid_rows_kept": selectors.upload_invalid_rows_available(upload),
    }
    if upload.status == Upload.Status.DONE and not wants_partial(request):
        context.update(run_changes_context(request, run_kind=RUN_UPLOAD, run_id=upload.pk))
    return render_page(request, "uploads/detail.html", context, partial="upload-status")


@require_POST
@permission_required("uploads.add_upload", raise_exception=True)
def start_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 5: Upload and Import."""
    skip_invalid = request.POST.get("skip_invalid") == "on"
    return _start_then_show(
        request,
        pk,
        lambda upload: background.upload_import_start(upload=upload, skip_invalid=skip_invalid),
    )


def _start_then_show(
    request: HttpRequest, pk: int, start: Callable[[Upload], object]
) -> HttpResponse:
    """Start the next step of an upload and show it; a conflict (a second click, a step
    already running) is said as a message on the upload's page."""
    upload = _upload_or_404(pk)
    try:
        start(upload)
    except services.UploadConflict as exc:
        messages.warning(request, str(exc))
    return redirect("uploads:detail", pk=upload.pk)


@require_POST
@permission_required("uploads.add_upload", raise_exception=True)
def import_valid(request: HttpRequest, pk: int) -> HttpResponse:
    """A refused import, again on the same file and mapping, skipping the invalid rows."""
    return _start_then_show(
        request, pk, lambda upload: background.upload_import_valid(upload=upload)
    )


@require_POST
@permission_required("uploads.add_upload", raise_exception=True)
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a failed upload again: the dry run with the same file and mapping, then the
    import as usual. A second click finds it already being checked."""
    return _start_then_show(request, pk, lambda upload: background.upload_retry(upload=upload))


@require_POST
@permission_required("uploads.add_upload", raise_exception=True)
def remap(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _upload_or_404(pk)
    try:
        services.upload_back_to_mapping(upload=upload)
    except services.UploadConflict as exc:
        messages.warning(request, str(exc))
        return redirect("uploads:detail", pk=upload.pk)
    # "Choose another encoding" goes back one step further, to the read step.
    return redirect("uploads:read" if request.POST.get("to") == "read" else "uploads:map", pk=pk)


@require_POST
@permission_required("uploads.add_upload", raise_exception=True)
def abandon(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _upload_or_404(pk)
    try:
        services.upload_abandon(upload=upload)
    except services.UploadConflict as exc:
        messages.warning(request, str(exc))
        return redirect("uploads:detail", pk=upload.pk)
    messages.info(request, f"Upload of “{upload.file_name}” cancelled; its file was removed.")
    return redirect("uploads:upload")


@require_GET
@permission_required("uploads.view_upload", raise_exception=True)
def error_report(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every invalid row of the last dry run or import, as CSV."""
    upload = _upload_or_404(pk)
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"
        yield writer.writerow(["Row", "Column", "Value", "Reason"])
        for error in selectors.upload_errors(upload).iterator(chunk_size=2000):
            yield writer.writerow(
                [error.row, neutralise(error.column), neutralise(error.value), error.reason]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="upload-{upload.pk}-errors.csv"'
    return response


@require_GET
@permission_required("uploads.view_upload", raise_exception=True)
def invalid_rows(request: HttpRequest, pk: int) -> HttpResponse:
    """The invalid rows of the file as they were, with its header: fix them, upload them."""
    upload = _upload_or_404(pk)
    if not selectors.upload_invalid_rows_available(upload):
        return redirect("uploads:detail", pk=upload.pk)  # its file is gone: the page says why
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"
        for cells in selectors.upload_invalid_rows(upload):
            yield writer.writerow([neutralise(cell) for cell in cells])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    name = f"upload-{upload.pk}-invalid-rows.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


EXPORT_HEADER = ["Segment name", "Segment ID", "Link", "Status"]


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def export_segments(request: HttpRequest, channel_slug: str) -> StreamingHttpResponse:
    """The channel's segments (with the Segments tab's search and filter) as CSV, in the
    shape the upload reads back unchanged."""
    channel = get_object_or_404(Channel, slug=channel_slug)
    segments = segment_search(
        channel=channel,
        query=request.GET.get("q", ""),
        status=request.GET.get("status", "all"),
        order=request.GET.get("order", "name"),
    ).values_list("name", "external_id", "link", "is_active")
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"  # Excel opens UTF-8 correctly only with a BOM
        yield writer.writerow(EXPORT_HEADER)
        for name, external_id, link, active in segments.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    neutralise(name),
                    neutralise(external_id),
                    neutralise(link),
                    "active" if active else "inactive",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{channel.slug}-segments.csv"'
    return response
