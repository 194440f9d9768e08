"""Changing a campaign's channel: the old channel's choices wait until save, the search clears."""

import pytest
from django.urls import reverse

from access_audience.text import indefinite_article, with_article
from campaigns.models import Campaign
from tests.campaigns.test_form import form_data
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def _hidden(response, name):
    return [value for n, value in response.context["setup"].kept if n == name]


def _post(client, data):
    return client.post(reverse("campaigns:create"), data)


def test_switching_back_restores_the_channel_segments_and_audience(
    marketer_client, email, sms, vip_setup
):
    seg, audience = vip_setup
    data = form_data(channel="sms", audience=str(audience.pk), loaded_audience=str(audience.pk))
    data["segments-include"] = [seg["VIP"].pk, seg["Churn risk"].pk]
    data["segments-exclude"] = [seg["Unsubscribed 90d"].pk]
    data["segments-base_include"] = [seg["VIP"].pk, seg["Repeat buyers"].pk]
    data["segments-base_exclude"] = [seg["Unsubscribed 90d"].pk]
    data["segments-q"] = "churn"
    on_sms = _post(marketer_client, data)
    assert on_sms.context["form"]["segments"].value()["include"] == []
    assert on_sms.context["form"]["segments"].value()["q"] == ""
    assert _hidden(on_sms, "kept-email-audience") == [str(audience.pk)]
    assert _hidden(on_sms, "kept-email-segments-include") == [
        str(seg["VIP"].pk),
        str(seg["Churn risk"].pk),
    ]
    html = on_sms.content.decode()
    assert 'name="kept-email-segments-exclude"' in html
    assert "Set aside 3 segments of Email" in html

    # The page posts back what it shows; choose Email again.
    back = dict(on_sms.context["setup"].data.lists())
    back["channel"] = "email"
    on_email = _post(marketer_client, back)
    value = on_email.context["form"]["segments"].value()
    assert value["include"] == [str(seg["VIP"].pk), str(seg["Churn risk"].pk)]
    assert value["exclude"] == [str(seg["Unsubscribed 90d"].pk)]
    assert on_email.context["form"]["audience"].value() == str(audience.pk)
    assert on_email.context["setup"].kept == []
    assert "Brought back the 3 segments of Email picked before." in on_email.content.decode()
    assert not Campaign.objects.exists()


def test_saving_on_the_new_channel_ignores_what_was_set_aside(
    marketer_client, email, sms, vip_setup
):
    seg, _audience = vip_setup
    sms_vip = make_segment(sms, name="SMS VIP")
    data = form_data(channel="sms", loaded_channel="sms")
    data["segments-include"] = [sms_vip.pk]
    data["kept-email-segments-include"] = [seg["VIP"].pk]
    response = _post(marketer_client, data)
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert list(campaign.inclusion_segments.all()) == [sms_vip]


def test_nothing_picked_switches_without_a_notice(marketer_client, email, sms):
    response = _post(marketer_client, form_data(channel="sms"))
    assert response.context["setup"].channel == sms
    assert response.context["setup"].kept == []
    assert "Set aside" not in response.content.decode()


def test_the_channel_select_asks_before_setting_segments_aside(marketer_client, email):
    html = marketer_client.get(reverse("campaigns:create")).content.decode()
    assert "data-confirm-change=" in html and "data-confirm-if-picked" in html


@pytest.mark.parametrize(
    ("word", "phrase"),
    [
        ("SMS", "an SMS"),
        ("Email", "an Email"),
        ("Meta", "a Meta"),
        ("MMS", "an MMS"),
        ("URL", "a URL"),
        ("Push", "a Push"),
        ("Instagram", "an Instagram"),
        ("unique", "a unique"),
        ("hour", "an hour"),
    ],
)
def test_the_article_follows_how_the_word_is_said(word, phrase):
    assert with_article(word) == phrase
    assert indefinite_article(word) == phrase.split()[0]


def test_the_article_filter_in_templates():
    from django.template import engines

    template = engines["django"].from_string("{% load words %}{{ name|with_article }}")
    assert template.render({"name": "SMS"}) == "an SMS"
    assert template.render({"name": "<b>"}) == "a &lt;b&gt;"
