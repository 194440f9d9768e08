import pytest
from django.db import OperationalError
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_new_channel_appears_everywhere_without_code(marketer_client, channels):
    from channels_app.models import Channel

    Channel.objects.create(slug="push", name="Push", position=40)
    html = marketer_client.get(reverse("home")).content.decode()
    assert "/channels/push/segments/" in html
    assert marketer_client.get("/channels/push/segments/").status_code == 200


def test_healthz_reports_the_database(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_says_503_when_the_database_is_down(client, db, monkeypatch):
    from access_audience import views

    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_htmx_responses_carry_pending_messages_out_of_band(rf, marketer):
    from django.contrib import messages
    from django.contrib.messages.storage.session import SessionStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails

    from access_audience.middleware import HtmxMessagesMiddleware

    def view(request):
        messages.success(request, "Saved <VIP>.")
        return HttpResponse("<tr id='row'>…</tr>")

    request = rf.post("/", headers={"HX-Request": "true"})
    request.user = marketer
    request.session = SessionStore()
    request._messages = SessionStorage(request)
    request.htmx = HtmxDetails(request)
    body = HtmxMessagesMiddleware(view)(request).content.decode()
    assert body.startswith("<tr id='row'>")
    assert '<div id="messages" class="messages" hx-swap-oob="true">' in body
    assert "Saved &lt;VIP&gt;." in body
    assert request._messages.used  # delivered, so MessageMiddleware won't store it again


def test_plain_responses_keep_messages_for_the_next_page(rf, marketer):
    from django.contrib import messages
    from django.contrib.messages.storage.session import SessionStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails

    from access_audience.middleware import HtmxMessagesMiddleware

    def view(request):
        messages.success(request, "Saved.")
        return HttpResponse("page")

    request = rf.post("/")
    request.user = marketer
    request.session = SessionStore()
    request._messages = SessionStorage(request)
    request.htmx = HtmxDetails(request)
    assert HtmxMessagesMiddleware(view)(request).content == b"page"
    assert not request._messages.used
    assert [str(m) for m in request._messages] == ["Saved."]


def test_a_database_that_stops_answering_mid_request_is_a_503_not_a_500(marketer, email):
    """On both databases: "database is locked" on SQLite, a lost connection on PostgreSQL."""
    from django.db import connection
    from django.test import Client

    def unavailable(execute, sql, params, many, context):
        raise OperationalError("database is locked")

    client = Client(raise_request_exception=False)
    client.force_login(marketer)
    url = reverse("segments:list", args=[email.slug])
    with connection.execute_wrapper(unavailable):
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Nothing you entered was saved" in response.content.decode()
    assert "database is locked" not in response.content.decode()
    assert client.get(url).status_code == 200


def test_any_other_error_is_still_the_500_page(marketer, email, monkeypatch):
    from django.test import Client

    from segments import views

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(views, "segment_search", broken)
    client = Client(raise_request_exception=False)
    client.force_login(marketer)
    response = client.get(reverse("segments:list", args=[email.slug]))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
