"""The once-per-form helper every create and edit view uses: the second copy of a POST is sent
to what the first one made, with the view's message; a failed first copy leaves the token free."""

import uuid

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory

from access_audience.models import FormSubmission
from access_audience.submissions import (
    FIELD,
    MADE,
    SAVED_ONCE,
    once_per_form,
    submitted_once,
)
from channels_app.models import Channel

pytestmark = pytest.mark.django_db


class Refused(Exception):
    pass


def post(user, token: str | None, **data):
    request = RequestFactory().post("/", {FIELD: token, **data} if token else data)
    request.user = user
    request._messages = CookieStorage(request)
    return request


def notes(request) -> list[str]:
    return [str(m) for m in request._messages]


def make_channel_view(*, message: str = MADE, record: bool = True):
    """A create view: makes the posted channel and records its page."""

    @once_per_form(message=message)
    def view(request):
        slug = request.POST["slug"]
        with submitted_once(request, fallback="/channels/") as done:
            Channel.objects.create(slug=slug, name=slug.title(), position=9)
            if request.POST.get("refuse"):
                raise Refused
            if record:
                done(f"/channels/{slug}/")
        return f"made {slug}"

    return view


def test_the_second_copy_goes_to_what_the_first_made(marketer):
    view, token = make_channel_view(), uuid.uuid4().hex
    assert view(post(marketer, token, slug="news")) == "made news"
    second = post(marketer, token, slug="news")
    response = view(second)
    assert response.status_code == 302
    assert response["Location"] == "/channels/news/"
    assert notes(second) == [MADE]
    assert Channel.objects.filter(slug="news").count() == 1
    assert FormSubmission.objects.get().result_url == "/channels/news/"


def test_an_edit_view_says_its_changes_were_saved_once(marketer):
    view, token = make_channel_view(message=SAVED_ONCE), uuid.uuid4().hex
    view(post(marketer, token, slug="news"))
    second = post(marketer, token, slug="news")
    assert view(second)["Location"] == "/channels/news/"
    assert notes(second) == [SAVED_ONCE]


def test_without_a_known_result_the_second_copy_goes_to_the_fallback(marketer):
    view, token = make_channel_view(record=False), uuid.uuid4().hex
    view(post(marketer, token, slug="news"))
    response = view(post(marketer, token, slug="news"))
    assert response["Location"] == "/channels/"


def test_a_copy_sent_by_another_user_is_not_shown_the_first_result(marketer, viewer):
    view, token = make_channel_view(), uuid.uuid4().hex
    view(post(marketer, token, slug="news"))
    response = view(post(viewer, token, slug="news"))
    assert response["Location"] == "/channels/"


def test_a_failed_first_copy_leaves_nothing_and_the_token_free(marketer):
    view, token = make_channel_view(), uuid.uuid4().hex
    with pytest.raises(Refused):
        view(post(marketer, token, slug="news", refuse="1"))
    assert not Channel.objects.filter(slug="news").exists()
    assert not FormSubmission.objects.exists()
    assert view(post(marketer, token, slug="news")) == "made news"
    assert Channel.objects.filter(slug="news").count() == 1


def test_posts_without_a_token_are_not_guarded(marketer):
    view = make_channel_view()
    assert view(post(marketer, None, slug="news")) == "made news"
    assert view(post(marketer, None, slug="sms-2")) == "made sms-2"
    assert not FormSubmission.objects.exists()


def test_a_view_without_the_decorator_is_refused_before_it_writes(marketer):
    def view(request):
        with submitted_once(request, fallback="/"):
            Channel.objects.create(slug="news", name="News")

    with pytest.raises(RuntimeError, match="once_per_form"):
        view(post(marketer, uuid.uuid4().hex))
    assert not Channel.objects.filter(slug="news").exists()
    assert not FormSubmission.objects.exists()
