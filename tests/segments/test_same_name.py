"""Two segments of a channel may share a name: saving one says so, and saves anyway."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from segments.models import Segment
from segments.selectors import segment_same_name
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def _warnings(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]


def test_adding_a_same_named_segment_warns_and_adds(marketer_client, email, sms):
    make_segment(email, name="VIP", external_id="V1")
    make_segment(sms, name="VIP")  # another channel: no clash
    response = marketer_client.post(
        reverse("segments:add", args=["email"]), {"name": "vip", "external_id": "", "link": ""}
    )
    assert response.status_code == 302
    assert Segment.objects.filter(channel=email, name__iexact="vip").count() == 2
    (warning,) = _warnings(response)
    assert "Another Email segment is also called “vip” (Segment ID V1)" in warning
    assert 'href="/channels/email/segments/?q=vip"' in warning


def test_renaming_onto_an_existing_name_warns_and_saves(marketer_client, email):
    make_segment(email, name="Newsletter")
    make_segment(email, name="NEWSLETTER", external_id="N2")
    segment = make_segment(email, name="Old name")
    url = reverse("segments:edit", args=["email", segment.pk])
    response = marketer_client.post(url, {"name": "Newsletter", "external_id": "", "link": ""})
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.name == "Newsletter"
    (warning,) = _warnings(response)
    assert "2 other Email segments are also called “Newsletter” (Segment ID N2)" in warning


def test_a_unique_name_says_nothing(marketer_client, email):
    make_segment(email, name="VIP")
    response = marketer_client.post(
        reverse("segments:add", args=["email"]), {"name": "VIP buyers", "external_id": ""}
    )
    assert response.status_code == 302
    assert _warnings(response) == []


def test_the_warning_escapes_the_name(marketer_client, email):
    make_segment(email, name="<b>x</b>")
    response = marketer_client.post(
        reverse("segments:add", args=["email"]), {"name": "<b>x</b>", "external_id": ""}
    )
    (warning,) = _warnings(response)
    assert "&lt;b&gt;x&lt;/b&gt;" in warning and "<b>" not in warning


def test_same_name_ignores_case_and_the_segment_itself(email, sms):
    a = make_segment(email, name="VIP")
    b = make_segment(email, name="vip")
    make_segment(sms, name="VIP")
    assert segment_same_name(segment=a) == [b]


def test_the_edit_form_says_when_the_name_is_shared(marketer_client, email):
    segment = make_segment(email, name="VIP")
    url = reverse("segments:edit", args=["email", segment.pk])
    assert "also called" not in marketer_client.get(url).content.decode()
    make_segment(email, name="vip")
    html = marketer_client.get(url).content.decode()
    assert "Another Email segment is also called “VIP”" in html
    assert "/channels/email/segments/?q=VIP" in html
