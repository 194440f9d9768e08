"""Hostile and broken input, one test per class: integers past the database's range, dates past
the calendar's, control characters in a query string, database errors that are not a lost
connection, and admin steps shown before the permission is checked."""

import csv
import io
import sqlite3

import pytest
from django.contrib.auth.models import Permission
from django.db import OperationalError, connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from access_audience.views import server_error
from audiences.models import Audience
from segments.models import Segment
from tests.factories import make_audience, make_segment, make_user

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


# Integers from requests ---------------------------------------------------------------------


@pytest.mark.parametrize("offset", [HUGE, "-" + HUGE, "9223372036854775807", "1e309", "١٢"])
def test_picker_offset_past_the_database_range_shows_the_first_page(
    marketer_client, email, vip, offset
):
    url = reverse("segments:picker_search", args=[email.slug])
    response = marketer_client.get(url, {"field": "segments", "offset": offset})
    assert response.status_code == 200
    assert "VIP" in response.content.decode()


@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "9223372036854775808"])
def test_picker_ids_past_the_database_range_are_refused_in_words(
    marketer_client, email, vip, value
):
    data = {"name": "Big", "segments-include": [str(vip.pk), value], "estimated_volume": ""}
    response = marketer_client.post(reverse("audiences:create", args=[email.slug]), data)
    assert response.status_code == 200
    assert "Some chosen segments could not be read. Choose them again." in (
        response.content.decode()
    )
    assert not Audience.objects.exists()


def test_picker_search_ignores_ids_past_the_database_range(marketer_client, email, vip):
    url = reverse("segments:picker_search", args=[email.slug])
    response = marketer_client.get(url, {"field": "segments", "segments-include": [HUGE, "1"]})
    assert response.status_code == 200


def test_bulk_action_with_an_id_past_the_database_range_changes_nothing(
    marketer_client, email, vip
):
    url = reverse("segments:bulk", args=[email.slug])
    response = marketer_client.post(url, {"action": "deactivate", "segment": [vip.pk, HUGE]})
    assert response.status_code == 302
    page = marketer_client.get(response["Location"]).content.decode()
    assert "The selection is not valid." in page
    assert Segment.objects.get(pk=vip.pk).is_active


def test_estimated_volume_past_the_database_range_is_a_form_error(marketer_client, email, vip):
    data = {"name": "Big", "segments-include": [vip.pk], "estimated_volume": HUGE}
    response = marketer_client.post(reverse("audiences:create", args=[email.slug]), data)
    assert response.status_code == 200
    assert (
        "Enter a number of contacts no larger than 9,223,372,036,854,775,807."
        in response.content.decode()
    )
    assert not Audience.objects.exists()
    data["estimated_volume"] = "9" * 5000  # thousands of digits: refused without reading them
    response = marketer_client.post(reverse("audiences:create", args=[email.slug]), data)
    assert "no larger than 9,223,372,036,854,775,807" in response.content.decode()


def test_ids_past_the_range_in_links_are_ignored(marketer_client, email, vip):
    response = marketer_client.get(reverse("campaigns:create"), {"audience": HUGE})
    assert response.status_code == 200
    response = marketer_client.get(reverse("klaviyo:sync-panel", args=[email.slug]), {"run": HUGE})
    assert response.status_code == 200
    response = marketer_client.get(reverse("segments:list", args=[email.slug]), {"page": HUGE})
    assert response.status_code == 200 and "VIP" in response.content.decode()


def test_a_next_page_that_is_not_a_path_falls_back_to_the_segments_tab(marketer_client, email, vip):
    url = reverse("segments:set_active", args=[email.slug, vip.pk])
    response = marketer_client.post(url, {"active": "0", "next": HUGE})
    assert response.status_code == 302
    assert response["Location"] == reverse("segments:list", args=[email.slug])


def test_admin_ids_past_the_range_are_invalid_choices(admin_client, email, vip):
    url = reverse("admin:audiences_audience_add") + f"?channel={email.pk}"
    data = {"channel": email.pk, "name": "Big", "inclusion_segments": [vip.pk, HUGE]}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "is not a valid value" in response.content.decode()
    response = admin_client.get(reverse("admin:audiences_audience_add"), {"channel": HUGE})
    assert response.status_code == 200
    response = admin_client.post(
        reverse("admin:campaigns_campaign_add"),
        {"name": "Big", "channel": email.pk, "status": "draft", "inclusion_segments": HUGE},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("username", ["x" * 5000, "bob\x00"])
def test_a_login_with_an_unstorable_username_is_a_failed_login(client, username):
    response = client.post(reverse("login"), {"username": username, "password": "x"})
    assert response.status_code == 200


# Dates from requests ------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["9999-12", "3000-01", "1899-12", "0000-00", "2026-13"])
def test_calendar_outside_the_bounds_shows_this_month(marketer_client, month):
    response = marketer_client.get(reverse("campaigns:calendar"), {"month": month})
    assert response.status_code == 200
    assert response.context["month_start"].year < 3000


def _nav(html: str) -> str:
    start = html.index('aria-label="Months"')
    return html[start : html.index("</nav>", start)]


def test_calendar_never_links_outside_the_bounds(marketer_client):
    last = marketer_client.get(reverse("campaigns:calendar"), {"month": "2999-12"})
    nav = _nav(last.content.decode())
    assert "December 2999" in last.content.decode()
    assert 'rel="next"' not in nav and "3000-01" not in nav
    assert '<span class="button" aria-disabled="true">Next →</span>' in nav
    assert "?month=2999-11" in nav
    first = marketer_client.get(reverse("campaigns:calendar"), {"month": "1900-01"})
    first = _nav(first.content.decode())
    assert 'rel="prev"' not in first and "1899-12" not in first
    assert "?month=1900-02" in first


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "3000-01-01"])
def test_campaign_list_date_filters_outside_the_bounds_are_ignored(marketer_client, day):
    response = marketer_client.get(reverse("campaigns:list"), {"date_from": day, "date_to": day})
    assert response.status_code == 200


def test_send_time_outside_the_bounds_is_a_form_error(marketer_client, email, vip):
    data = {
        "name": "Far away",
        "channel": email.slug,
        "loaded_channel": email.slug,
        "status": "draft",
        "send_at": "9999-12-31T23:59",
        "segments-include": [vip.pk],
    }
    response = marketer_client.post(reverse("campaigns:create"), data)
    assert response.status_code == 200
    assert "Enter a date between 1900-01-01 and 2999-12-31." in response.content.decode()


# Control characters -------------------------------------------------------------------------


def test_nul_and_control_characters_in_a_search_are_dropped(marketer_client, email, vip):
    url = reverse("segments:list", args=[email.slug])
    response = marketer_client.get(url, {"q": "vi\x00p\x1b"})
    assert response.status_code == 200
    assert response.context["q"] == "vip"
    assert [s.name for s in response.context["segments"]] == ["VIP"]


def test_the_export_with_a_nul_in_its_search_is_whole(marketer_client, email, vip):
    make_segment(email, name="Other VIP")
    url = reverse("uploads:export_segments", args=[email.slug])
    response = marketer_client.get(url, {"q": "VIP\x00", "order": "name\x00"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert [r[0] for r in rows] == ["Segment name", "Other VIP", "VIP"]


def test_control_characters_in_a_picker_search_are_dropped(marketer_client, email, vip):
    data = {"name": "", "segments-q": "V\x00IP", "segments-search": "1"}
    response = marketer_client.post(reverse("audiences:create", args=[email.slug]), data)
    assert response.status_code == 200
    assert 'value="VIP"' in response.content.decode()


# Database errors ----------------------------------------------------------------------------


def _error_page(exc: Exception):
    request = RequestFactory().get("/")
    try:
        raise exc
    except Exception:
        return server_error(request)


def test_an_operational_error_that_is_not_a_lost_connection_is_the_normal_error_page():
    try:
        with sqlite3.connect(":memory:") as db:
            db.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
            db.execute("SELECT * FROM t WHERE t MATCH ?", ['"unterminated'])
    except sqlite3.OperationalError as cause:
        error = OperationalError(str(cause))
        error.__cause__ = cause
    response = _error_page(error)
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_a_lost_connection_is_still_the_database_page():
    cause = sqlite3.OperationalError("unable to open database file")
    error = OperationalError(str(cause))
    error.__cause__ = cause
    response = _error_page(error)
    assert response.status_code == 503
    assert "The database is not answering right now" in response.content.decode()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_postgresql_error_with_a_state_is_not_a_lost_connection():
    from access_audience.db import is_connection_lost

    with (
        pytest.raises(OperationalError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = '1ms'")
        cursor.execute("SELECT pg_sleep(1)")
    assert caught.value.__cause__.sqlstate == "57014"  # canceled: the server is fine
    assert not is_connection_lost(caught.value)


# Admin steps before the permission ----------------------------------------------------------


@pytest.fixture
def staff_client(db):
    """Staff who may see segments in the admin, and nothing else."""
    user = make_user("staffer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_segment"))
    client = Client()
    client.force_login(user)
    return client


def test_staff_without_the_audience_permission_never_sees_the_channel_chooser(
    staff_client, channels
):
    response = staff_client.get(reverse("admin:audiences_audience_add"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "choose its channel" not in html
    for channel in channels.values():
        assert f'href="?channel={channel.pk}"' not in html


def test_staff_without_delete_permission_never_learn_what_uses_a_segment(staff_client, email, vip):
    make_audience(email, name="Uses it", include=[vip])
    response = staff_client.get(reverse("admin:segments_segment_delete", args=[vip.pk]))
    assert response.status_code == 403
    assert "Uses it" not in response.content.decode()
    assert "cannot be deleted" not in staff_client.get(reverse("admin:index")).content.decode()


def test_staff_without_delete_permission_never_learn_a_channels_contents(staff_client, email, vip):
    response = staff_client.get(reverse("admin:channels_app_channel_delete", args=[email.pk]))
    assert response.status_code == 403
    assert "cannot be deleted" not in staff_client.get(reverse("admin:index")).content.decode()
