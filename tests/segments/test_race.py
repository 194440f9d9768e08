"""Two marketers add the same Segment ID at the same moment: one wins, the other gets a form
error naming the winner, never a 500."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

import segments.services
from segments.models import Segment
from tests.factories import make_segment

ADD = "/channels/email/segments/add/"


@pytest.mark.django_db
def test_constraint_turns_a_lost_race_into_a_form_error(marketer_client, email, monkeypatch):
    # The other request commits between our check and our insert: the check saw nothing.
    winner = make_segment(email, name="Winner", external_id="RACE")
    real = segments.services._existing_with_id
    calls = []

    def stale_check(channel, external_id, exclude_pk=None):
        calls.append(external_id)
        return None if len(calls) == 1 else real(channel, external_id, exclude_pk)

    monkeypatch.setattr(segments.services, "_existing_with_id", stale_check)
    response = marketer_client.post(ADD, {"name": "Loser", "external_id": "RACE"})
    html = response.content.decode()
    assert response.status_code == 200
    detail = reverse("segments:detail", args=["email", winner.pk])
    assert f'already used by <a href="{detail}">Winner</a>' in html
    assert list(Segment.objects.values_list("name", flat=True)) == ["Winner"]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers (IMMEDIATE transactions): there is no race to lose",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_adds_of_one_id_on_postgresql(email, marketer, monkeypatch):
    real = segments.services._existing_with_id
    barrier = threading.Barrier(2, timeout=10)
    waited = set()

    def check_then_wait(channel, external_id, exclude_pk=None):
        found = real(channel, external_id, exclude_pk)
        name = threading.current_thread().name
        if name.startswith("racer") and name not in waited:
            waited.add(name)
            barrier.wait()  # both requests have checked before either inserts
        return found

    monkeypatch.setattr(segments.services, "_existing_with_id", check_then_wait)
    responses = {}

    def add(name):
        client = Client()
        client.force_login(marketer)
        try:
            responses[name] = client.post(ADD, {"name": name, "external_id": "SAME"})
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(n,), name=f"racer-{n}") for n in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(r.status_code for r in responses.values()) == [200, 302]
    winner = Segment.objects.get(channel=email, external_id="SAME")
    loser = next(r for r in responses.values() if r.status_code == 200)
    assert "already used by <a href=" in loser.content.decode()
    assert winner.name in loser.content.decode()
    assert Segment.objects.count() == 1
