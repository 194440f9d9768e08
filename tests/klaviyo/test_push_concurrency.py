"""Two people press Send to Klaviyo at the same moment: one draft in Klaviyo, no 500.

On PostgreSQL the two POSTs are really in flight together (threads released by a barrier);
SQLite serialises writers, so there the second simply follows the first."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from integrations.klaviyo.models import CampaignPush
from tests.factories import make_campaign, make_marketer
from tests.klaviyo.test_push import klaviyo_segment

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_presses_at_once_make_one_draft(email, connected):
    campaign = make_campaign(email, include=[klaviyo_segment(email, connected, 1)])
    url = reverse("klaviyo:campaign-send", args=[campaign.pk])
    user = make_marketer()
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(user)
    responses: list = [None, None]

    def press(i: int, barrier=None):
        try:
            if barrier:
                barrier.wait()
            responses[i] = clients[i].post(url, headers={"HX-Request": "true"})
        finally:
            if barrier:
                connection.close()

    if connection.vendor == "postgresql":
        barrier = threading.Barrier(2, timeout=10)
        threads = [threading.Thread(target=press, args=(i, barrier)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    else:
        press(0)
        press(1)
    assert [r.status_code for r in responses] == [200, 200]
    assert len(connected.campaigns) == 1
    push = CampaignPush.objects.get()
    assert push.state == CampaignPush.State.DONE and push.klaviyo_campaign_id in connected.campaigns
    said = " ".join(r.content.decode() for r in responses)
    assert "Sent to Klaviyo." in said
    assert "in Klaviyo already" in said or "being sent to Klaviyo already" in said
