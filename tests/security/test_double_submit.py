"""Every create form and edit form sent twice, as a double click does: one object (or one
save), no 500, and the second request is shown what the first one made.

On PostgreSQL the two POSTs are really in flight together (threads released by a barrier);
SQLite serialises writers, so there the second simply follows the first.
"""

import re
import threading

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from audiences.models import Audience
from campaigns.models import Campaign
from integrations.uploads.models import Upload
from segments.models import Segment
from tests.factories import ensure_default_channels, make_audience, make_campaign, make_segment
from tests.security.conftest import make_role_user

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = re.compile(r'name="submission" value="([0-9a-f]{32})"')


@pytest.fixture
def setup(settings, tmp_path):
    from django.apps import apps

    from channels_app.roles import MARKETER, sync_roles

    settings.UPLOAD_DIR = tmp_path / "uploads"
    sync_roles(apps)
    email = ensure_default_channels()["email"]
    vip = make_segment(email, name="VIP", external_id="V1")
    audience = make_audience(email, name="VIP customers", include=[vip])
    campaign = make_campaign(email, name="Spring sale", include=[vip])
    return {
        "email": email,
        "vip": vip,
        "audience": audience,
        "campaign": campaign,
        "marketer": make_role_user("marketer", MARKETER),
    }


def _token(client, page: str) -> str:
    html = client.get(page).content.decode()
    match = TOKEN.search(html)
    assert match, f"{page} has no submission token"
    return match.group(1)


def send_twice(user, page: str, url: str, data_factory):
    """The form's page is loaded once; its POST is sent twice with the same token."""
    opener = Client()
    opener.force_login(user)
    token = _token(opener, page)
    responses: list = [None, None]
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(user)

    def post(i: int, barrier=None):
        try:
            if barrier:
                barrier.wait()
            responses[i] = clients[i].post(url, {**data_factory(), "submission": token})
        finally:
            if barrier:
                connection.close()

    if connection.vendor == "postgresql":
        barrier = threading.Barrier(2, timeout=10)
        threads = [threading.Thread(target=post, args=(i, barrier)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    else:
        post(0)
        post(1)
    return responses


def _forms(s):
    email, vip, audience, campaign = s["email"], s["vip"], s["audience"], s["campaign"]
    return {
        "segment": (
            reverse("segments:add", args=["email"]),
            reverse("segments:add", args=["email"]),
            lambda: {"name": "Newsletter readers", "external_id": "", "link": ""},
            lambda: Segment.objects.filter(name="Newsletter readers"),
        ),
        "audience": (
            reverse("audiences:create", args=["email"]),
            reverse("audiences:create", args=["email"]),
            lambda: {"name": "Loyal fans", "estimated_volume": "", "segments-include": [vip.pk]},
            lambda: Audience.objects.filter(name="Loyal fans"),
        ),
        "audience clone": (
            reverse("audiences:clone", args=["email", audience.pk]),
            reverse("audiences:clone", args=["email", audience.pk]),
            lambda: {
                "name": "VIP customers (copy)",
                "estimated_volume": "",
                "segments-include": [vip.pk],
            },
            lambda: Audience.objects.exclude(pk=audience.pk),
        ),
        "campaign": (
            reverse("campaigns:create"),
            reverse("campaigns:create"),
            lambda: {
                "name": "Black Friday",
                "channel": "email",
                "loaded_channel": "email",
                "audience": "",
                "loaded_audience": "",
                "status": "draft",
                "send_at": "",
                "notes": "",
                "link": "",
                "segments-include": [vip.pk],
            },
            lambda: Campaign.objects.filter(name="Black Friday"),
        ),
        "campaign duplicate": (
            reverse("campaigns:duplicate", args=[campaign.pk]),
            reverse("campaigns:duplicate", args=[campaign.pk]),
            lambda: {
                "name": "Spring sale (copy)",
                "channel": "email",
                "loaded_channel": "email",
                "audience": "",
                "loaded_audience": "",
                "status": "draft",
                "send_at": "",
                "notes": "",
                "link": "",
                "segments-include": [vip.pk],
            },
            lambda: Campaign.objects.exclude(pk=campaign.pk),
        ),
        "upload": (
            reverse("uploads:upload"),
            reverse("uploads:upload"),
            lambda: {
                "object_type": "segments",
                "channel": email.slug,
                "file": SimpleUploadedFile("vip.csv", b"Segment name,Segment ID\nVIP,V1\n"),
            },
            lambda: Upload.objects.all(),
        ),
    }


FORMS = ["segment", "audience", "audience clone", "campaign", "campaign duplicate", "upload"]


@pytest.mark.parametrize("form", FORMS)
def test_a_create_form_sent_twice_makes_one_object(setup, form):
    page, url, data, made = _forms(setup)[form]
    responses = send_twice(setup["marketer"], page, url, data)
    assert all(r is not None and r.status_code == 302 for r in responses), [
        getattr(r, "status_code", None) for r in responses
    ]
    assert made().count() == 1
    # Both requests end on the same object's page; the second says why.
    assert responses[0]["Location"] == responses[1]["Location"]
    notes = [str(m) for r in responses for m in get_messages(r.wsgi_request)]
    assert any("already sent" in n for n in notes), notes


def test_a_form_that_failed_can_be_sent_again(setup):
    """A token only counts once something was made: a refused form can be fixed and resent."""
    client = Client()
    client.force_login(setup["marketer"])
    page = reverse("campaigns:create")
    token = _token(client, page)
    bad = {"name": "", "channel": "email", "loaded_channel": "email", "status": "draft"}
    assert client.post(page, {**bad, "submission": token}).status_code == 200
    good = {**bad, "name": "Black Friday", "segments-include": [setup["vip"].pk]}
    response = client.post(page, {**good, "submission": token})
    assert response.status_code == 302
    assert Campaign.objects.filter(name="Black Friday").count() == 1


def test_two_separate_adds_are_two_objects(setup):
    """Each load of the form is a new token: adding the same name twice on purpose works."""
    client = Client()
    client.force_login(setup["marketer"])
    page = reverse("segments:add", args=["email"])
    for _ in range(2):
        data = {"name": "Newsletter readers", "submission": _token(client, page)}
        assert client.post(page, data).status_code == 302
    assert Segment.objects.filter(name="Newsletter readers").count() == 2


def _edits(s):
    vip, audience, campaign = s["vip"], s["audience"], s["campaign"]
    return {
        "audience edit": (
            reverse("audiences:edit", args=["email", audience.pk]),
            lambda: {
                "name": "VIP customers (renamed)",
                "estimated_volume": "",
                "version": audience.version,
                "segments-include": [vip.pk],
            },
            lambda: Audience.objects.get(pk=audience.pk),
        ),
        "campaign edit": (
            reverse("campaigns:edit", args=[campaign.pk]),
            lambda: {
                "name": "Spring sale (renamed)",
                "channel": "email",
                "loaded_channel": "email",
                "audience": "",
                "loaded_audience": "",
                "status": "draft",
                "send_at": "",
                "notes": "",
                "link": "",
                "version": campaign.version,
                "segments-include": [vip.pk],
            },
            lambda: Campaign.objects.get(pk=campaign.pk),
        ),
    }


@pytest.mark.parametrize("form", ["audience edit", "campaign edit"])
def test_an_edit_form_sent_twice_saves_once_and_is_no_conflict(setup, form):
    url, data, current = _edits(setup)[form]
    before = current().version
    responses = send_twice(setup["marketer"], url, url, data)
    assert all(r is not None and r.status_code == 302 for r in responses), [
        getattr(r, "status_code", None) for r in responses
    ]
    saved = current()
    assert saved.name.endswith("(renamed)") and saved.version == before + 1
    assert responses[0]["Location"] == responses[1]["Location"]
