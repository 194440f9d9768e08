"""Once per form: create forms and the audience and campaign edit forms carry a one-time token
(`{% submission_token %}`), and the view claims it in the same transaction as the save. Two
identical POSTs in flight make one object or one save: the second waits for the first's token to
commit, finds it taken, and is sent to what the first one saved. POSTs without a token (API-like
clients, old pages) are not guarded.

A view does it in two lines::

    @once_per_form(message=MADE)
    def thing_create(request):
        ...
        with submitted_once(request, fallback=list_url) as record:
            thing = services.thing_create(...)
            record(detail_url)
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from access_audience.models import FormSubmission

FIELD = "submission"
KEEP = timedelta(days=1)


class AlreadySubmitted(Exception):
    def __init__(self, url: str):
        super().__init__("This form was already sent.")
        self.url = url


def new_token() -> str:
    return uuid.uuid4().hex


def _token(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get(FIELD, ""))
    except ValueError:
        return None


def submission_claim(request: HttpRequest) -> None:
    """Claim the POST's token (call inside the create's transaction), or raise
    AlreadySubmitted with the first submission's result."""
    token = _token(request)
    if token is None:
        return
    user = request.user if request.user.is_authenticated else None
    try:
        with transaction.atomic():
            FormSubmission.objects.create(token=token, user=user)
    except IntegrityError:
        first = FormSubmission.objects.filter(token=token, user=user).first()
        raise AlreadySubmitted(first.result_url if first else "") from None


def submission_record(request: HttpRequest, url: str) -> None:
    """Remember where the created object is, for a second copy of the same POST."""
    token = _token(request)
    if token is not None:
        FormSubmission.objects.filter(token=token).update(result_url=url[:500])


def submissions_prune(*, now=None) -> int:
    """Forget tokens older than KEEP (`manage.py cleanup`, daily): a copy of a POST that old
    is no double click. Returns how many were forgotten."""
    cutoff = (now or timezone.now()) - KEEP
    deleted, _ = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted


MADE = "That form was already sent (a double click?): here is what it made."
# An edit sent twice must not look like someone else's change.
SAVED_ONCE = "That form was already sent (a double click?): your changes were saved once."


# Set on the request by once_per_form, so submitted_once can refuse to run in a view that would
# let AlreadySubmitted escape as a server error.
_GUARDED = "_once_per_form"


@contextmanager
def submitted_once(request: HttpRequest, *, fallback: str) -> Iterator[Callable[[str], None]]:
    """Claim the POST's token and run the block in one transaction; yields `record(url)`, which
    remembers where the block's result is shown.

    A second copy of the same POST raises AlreadySubmitted (pointing at the first one's result,
    or at `fallback` when that is not known) for the view's @once_per_form to answer. When the
    block fails the transaction rolls back with the claim, so the token can be sent again.
    """
    if not getattr(request, _GUARDED, False):
        raise RuntimeError("submitted_once() runs only in a view decorated with @once_per_form.")
    try:
        with transaction.atomic():
            submission_claim(request)
            yield lambda url: submission_record(request, url)
    except AlreadySubmitted as exc:
        exc.url = exc.url or fallback
        raise


def once_per_form(*, message: str = MADE) -> Callable:
    """View decorator: a form sent twice is answered with `message` and a redirect to what the
    first copy made (see submitted_once). MADE for create forms, SAVED_ONCE for edit forms."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            setattr(request, _GUARDED, True)
            try:
                return view(request, *args, **kwargs)
            except AlreadySubmitted as exc:
                messages.info(request, message)
                return redirect(exc.url)

        return wrapper

    return decorator
