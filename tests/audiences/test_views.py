import re

import pytest
from django.urls import reverse

from audiences.models import Audience
from tests.factories import make_audience, make_campaign, make_segment

pytestmark = pytest.mark.django_db


def list_url(channel, **params):
    url = reverse("audiences:list", args=[channel.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_list_shows_volume_chips_usage_and_inactive_flag(marketer_client, email, vip, unsub):
    old = make_segment(email, name="Legacy buyers")
    audience = make_audience(
        email, name="VIP Customers", include=[vip, old], exclude=[unsub], estimated_volume=1234567
    )
    old.is_active = False
    old.save()
    make_campaign(email, audience=audience)
    make_campaign(email, audience=audience)
    html = marketer_client.get(list_url(email)).content.decode()
    assert "VIP Customers" in html
    assert "1,234,567" in html
    assert 'class="chip chip-include">VIP</span>' in html
    assert "Legacy buyers · inactive" in html
    assert 'class="chip chip-exclude">Unsubscribed 90d</span>' in html
    assert re.search(r'<td class="num">2</td>', html)


def test_list_search_full_page_and_partial(marketer_client, email, vip, htmx_headers):
    make_audience(email, name="VIP Customers", include=[vip])
    make_audience(email, name="Lapsed", include=[vip])
    page = marketer_client.get(list_url(email, q="vip"))
    html = page.content.decode()
    assert "<html" in html and 'value="vip"' in html
    assert "VIP Customers" in html and "Lapsed" not in html
    partial = marketer_client.get(list_url(email, q="laps"), headers=htmx_headers)
    body = partial.content.decode()
    assert "<html" not in body and "Lapsed" in body and "VIP Customers" not in body
    nothing = marketer_client.get(list_url(email, q="zzz"), headers=htmx_headers)
    assert "No audience matches “zzz”" in nothing.content.decode()


def test_list_only_shows_the_channels_audiences(marketer_client, email, sms, vip, sms_segment):
    make_audience(email, name="Email one", include=[vip])
    make_audience(sms, name="SMS one", include=[sms_segment])
    html = marketer_client.get(list_url(sms)).content.decode()
    assert "SMS one" in html and "Email one" not in html


def test_empty_state_points_to_segments_when_the_channel_has_none(marketer_client, meta):
    html = marketer_client.get(list_url(meta)).content.decode()
    assert "An audience is a reusable definition" in html
    assert reverse("segments:list", args=[meta.slug]) in html
    assert "Add segments in the Segments tab" in html


def test_empty_state_offers_to_create_when_segments_exist(marketer_client, email, vip):
    html = marketer_client.get(list_url(email)).content.decode()
    assert "Create the first audience" in html


def _fill_channel(channel, audiences: int, segments_each: int):
    segs = [make_segment(channel, name=f"S{i}") for i in range(segments_each * 2)]
    for n in range(audiences):
        a = make_audience(
            channel,
            name=f"Audience {n}",
            include=segs[:segments_each],
            exclude=segs[segments_each:],
            estimated_volume=n,
        )
        make_campaign(channel, audience=a)


# Every request: session, user, user permissions, group permissions, channel (5 queries).
QUERIES = {
    # + count, page of audiences (with campaign counts), inclusions, exclusions
    "list_partial": 9,
    # + the navigation's channels
    "list_page": 10,
    # + audience, inclusions, exclusions, campaigns, navigation
    "detail": 10,
}


@pytest.mark.parametrize(("audiences", "segments_each"), [(2, 1), (30, 6)])
def test_list_query_count_is_fixed(
    marketer_client, email, django_assert_num_queries, htmx_headers, audiences, segments_each
):
    _fill_channel(email, audiences, segments_each)
    marketer_client.get(list_url(email))
    with django_assert_num_queries(QUERIES["list_partial"]):
        response = marketer_client.get(list_url(email), headers=htmx_headers)
    assert response.content.decode().count("chip chip-include") == audiences * segments_each
    with django_assert_num_queries(QUERIES["list_page"]):
        response = marketer_client.get(list_url(email))
    assert response.content.decode().count("chip chip-exclude") == audiences * segments_each


@pytest.mark.parametrize(("audiences", "segments_each"), [(1, 1), (1, 25)], ids=["1seg", "25seg"])
@pytest.mark.parametrize("campaigns", [1, 20])
def test_detail_query_count_is_fixed(
    marketer_client, email, django_assert_num_queries, audiences, segments_each, campaigns
):
    segs = [make_segment(email, name=f"S{i}") for i in range(segments_each * 2)]
    a = make_audience(email, name="A", include=segs[:segments_each], exclude=segs[segments_each:])
    for _ in range(campaigns):
        make_campaign(email, audience=a)
    url = reverse("audiences:detail", args=[email.slug, a.pk])
    marketer_client.get(url)
    with django_assert_num_queries(QUERIES["detail"]):
        assert marketer_client.get(url).status_code == 200


def test_detail_reads_in_plain_words(marketer_client, email, vip, repeat, unsub):
    a = make_audience(email, name="VIP Customers", include=[vip, repeat], exclude=[unsub])
    html = marketer_client.get(
        reverse("audiences:detail", args=[email.slug, a.pk])
    ).content.decode()
    text = re.sub(r"<[^>]+>", "", html)
    text = re.sub(r"\s+", " ", text)
    assert "Contacts in Repeat buyers or VIP, except those in Unsubscribed 90d" in text
    assert "<strong>VIP</strong>" in html


def test_detail_flags_inactive_segments_and_lists_campaigns(marketer_client, email, vip, repeat):
    a = make_audience(email, name="A", include=[vip, repeat], estimated_volume=5000)
    repeat.is_active = False
    repeat.save()
    make_campaign(email, name="Black Friday", audience=a)
    html = marketer_client.get(
        reverse("audiences:detail", args=[email.slug, a.pk])
    ).content.decode()
    assert "Repeat buyers</strong>" in html and "inactive</span>" in html
    assert "Black Friday" in html
    assert "5,000 contacts" in html


def test_detail_of_another_channel_is_404(marketer_client, email, sms, vip):
    a = make_audience(email, name="A", include=[vip])
    assert (
        marketer_client.get(reverse("audiences:detail", args=[sms.slug, a.pk])).status_code == 404
    )


def form_data(name="VIP Customers", include=(), exclude=(), volume="", **extra):
    data = {"name": name, "estimated_volume": volume, **extra}
    data["segments-include"] = [str(s.pk) for s in include]
    data["segments-exclude"] = [str(s.pk) for s in exclude]
    return data


def test_create_page_renders_the_picker(marketer_client, email, vip, repeat):
    make_segment(email, name="Old", is_active=False)
    html = marketer_client.get(reverse("audiences:create", args=[email.slug])).content.decode()
    assert 'id="picker-segments"' in html
    assert f'name="segments-include" value="{vip.pk}"' in html
    assert ">Old<" not in html  # inactive segments are not offered (tokens may spell "Old")
    assert "js/picker.js" in html


def test_create_saves_and_redirects_to_detail(marketer_client, email, vip, repeat, unsub):
    response = marketer_client.post(
        reverse("audiences:create", args=[email.slug]),
        form_data(include=[vip, repeat], exclude=[unsub], volume="12,500"),
    )
    audience = Audience.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("audiences:detail", args=[email.slug, audience.pk])
    assert audience.estimated_volume == 12500
    assert set(audience.inclusion_segments.all()) == {vip, repeat}


def test_create_errors_keep_what_was_typed(marketer_client, email, vip, unsub):
    response = marketer_client.post(
        reverse("audiences:create", args=[email.slug]),
        form_data(name="", include=[], exclude=[unsub], volume="12,5x"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose at least one segment to include." in html
    assert "Enter a whole number of contacts" in html
    assert 'value="12,5x"' in html
    # The exclusion stays checked, at the top.
    assert re.search(rf'name="segments-exclude" value="{unsub.pk}"[^>]*checked', html)
    assert not Audience.objects.exists()


def test_forged_post_with_another_channels_segment_is_refused(
    marketer_client, email, vip, sms_segment
):
    response = marketer_client.post(
        reverse("audiences:create", args=[email.slug]),
        form_data(include=[vip], exclude=[sms_segment]),
    )
    assert response.status_code == 200
    assert "Only segments of the Email channel can be used" in response.content.decode()
    assert "SMS VIP" not in response.content.decode()  # never shown in the Email picker
    assert not Audience.objects.exists()


def test_forged_post_with_garbage_ids_is_a_message(marketer_client, email, vip):
    data = form_data(include=[vip])
    data["segments-exclude"] = ["abc"]
    response = marketer_client.post(reverse("audiences:create", args=[email.slug]), data)
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()


def test_duplicate_name_is_a_form_error(marketer_client, email, vip):
    make_audience(email, name="VIP Customers", include=[vip])
    response = marketer_client.post(
        reverse("audiences:create", args=[email.slug]),
        form_data(name="vip customers", include=[vip]),
    )
    assert "already has an audience named" in response.content.decode()
    assert Audience.objects.count() == 1


def test_no_js_search_rerenders_without_saving_or_errors(marketer_client, email, vip, repeat):
    make_segment(email, name="Winback")
    data = form_data(name="", include=[vip], **{"segments-q": "winb", "segments-search": "1"})
    response = marketer_client.post(reverse("audiences:create", args=[email.slug]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert not Audience.objects.exists()
    assert "Give the audience a name" not in html and "This field is required" not in html
    assert 'value="winb"' in html
    assert ">Winback<" in html and ">Repeat buyers<" not in html  # results follow the search
    assert re.search(rf'name="segments-include" value="{vip.pk}"[^>]*checked', html)


def test_edit_prefills_and_saves(marketer_client, email, vip, repeat, unsub):
    a = make_audience(email, name="A", include=[vip], exclude=[unsub])
    url = reverse("audiences:edit", args=[email.slug, a.pk])
    html = marketer_client.get(url).content.decode()
    assert 'name="version" value="1"' in html
    assert re.search(rf'name="segments-exclude" value="{unsub.pk}"[^>]*checked', html)
    response = marketer_client.post(url, form_data(name="B", include=[vip, repeat], version="1"))
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.name == "B" and a.version == 2
    assert a.exclusion_segments.count() == 0


def test_edit_against_a_newer_version_is_refused_and_keeps_the_input(
    marketer_client, email, vip, repeat
):
    a = make_audience(email, name="A", include=[vip])
    Audience.objects.filter(pk=a.pk).update(version=3, name="Changed by Ann")
    url = reverse("audiences:edit", args=[email.slug, a.pk])
    response = marketer_client.post(url, form_data(name="Mine", include=[vip, repeat], version="1"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "was changed by someone else meanwhile" in html
    assert "now version 3" in html
    assert 'value="Mine"' in html
    assert re.search(rf'name="segments-include" value="{repeat.pk}"[^>]*checked', html)
    assert 'name="version" value="3"' in html
    a.refresh_from_db()
    assert a.name == "Changed by Ann"
    # Saving again, knowingly, replaces their version.
    again = marketer_client.post(url, form_data(name="Mine", include=[vip, repeat], version="3"))
    assert again.status_code == 302
    a.refresh_from_db()
    assert a.name == "Mine" and a.version == 4


def test_edit_keeps_an_inactive_segment_and_flags_it(marketer_client, email, vip, repeat):
    a = make_audience(email, name="A", include=[vip, repeat])
    repeat.is_active = False
    repeat.save()
    url = reverse("audiences:edit", args=[email.slug, a.pk])
    html = marketer_client.get(url).content.decode()
    assert "picker-inactive" in html and ">inactive</span>" in html
    response = marketer_client.post(url, form_data(name="A2", include=[vip, repeat], version="1"))
    assert response.status_code == 302
    assert a.inclusion_segments.count() == 2


def test_clone_opens_a_filled_in_form_and_creates_only_on_save(marketer_client, email, vip, unsub):
    a = make_audience(email, name="VIP Customers", include=[vip], exclude=[unsub])
    url = reverse("audiences:clone", args=[email.slug, a.pk])
    response = marketer_client.get(url)
    assert response.status_code == 200
    form = response.context["form"]
    assert form["name"].value() == "VIP Customers (copy)"
    assert form["segments"].value().include_ids == [vip.pk]
    assert form["segments"].value().exclude_ids == [unsub.pk]
    html = response.content.decode()
    assert f'action="{url}"' in html and "Nothing is created until you save it" in html
    assert Audience.objects.count() == 1  # opening the form (or Cancel) leaves nothing behind

    response = marketer_client.post(
        url, form_data(name="VIP Customers (copy)", include=[vip], exclude=[unsub])
    )
    copy = Audience.objects.get(name="VIP Customers (copy)")
    assert response["Location"] == reverse("audiences:detail", args=[email.slug, copy.pk])
    assert list(copy.exclusion_segments.all()) == [unsub]


def test_clone_keeps_inactive_segments_of_the_original(marketer_client, email, vip, repeat):
    a = make_audience(email, name="A", include=[vip, repeat])
    repeat.is_active = False
    repeat.save()
    url = reverse("audiences:clone", args=[email.slug, a.pk])
    assert "picker-inactive" in marketer_client.get(url).content.decode()
    response = marketer_client.post(url, form_data(name="A (copy)", include=[vip, repeat]))
    assert response.status_code == 302
    assert set(Audience.objects.get(name="A (copy)").inclusion_segments.all()) == {vip, repeat}


def test_clone_of_another_channel_audience_is_a_404(marketer_client, email, sms, vip):
    a = make_audience(email, name="A", include=[vip])
    assert marketer_client.get(reverse("audiences:clone", args=[sms.slug, a.pk])).status_code == 404


def test_delete_confirmation_lists_campaigns_then_deletes(marketer_client, email, vip):
    a = make_audience(email, name="A", include=[vip])
    campaign = make_campaign(email, name="Spring sale", audience=a, include=[vip])
    url = reverse("audiences:delete", args=[email.slug, a.pk])
    html = marketer_client.get(url).content.decode()
    assert "Spring sale" in html and "keep their own segments" in html
    response = marketer_client.post(url)
    assert response["Location"] == reverse("audiences:list", args=[email.slug])
    assert not Audience.objects.exists()
    campaign.refresh_from_db()
    assert campaign.audience is None and list(campaign.inclusion_segments.all()) == [vip]


def test_viewers_see_everything_and_change_nothing(viewer_client, email, vip):
    a = make_audience(email, name="A", include=[vip])
    listing = viewer_client.get(list_url(email)).content.decode()
    assert "New audience" not in listing
    detail = viewer_client.get(
        reverse("audiences:detail", args=[email.slug, a.pk])
    ).content.decode()
    assert "Contacts in" in detail
    assert ">Edit<" not in detail and ">Clone<" not in detail and ">Delete<" not in detail
    for name, args in [
        ("audiences:create", [email.slug]),
        ("audiences:edit", [email.slug, a.pk]),
        ("audiences:delete", [email.slug, a.pk]),
    ]:
        assert viewer_client.get(reverse(name, args=args)).status_code == 403
        assert (
            viewer_client.post(reverse(name, args=args), form_data(include=[vip])).status_code
            == 403
        )
    assert (
        viewer_client.post(reverse("audiences:clone", args=[email.slug, a.pk])).status_code == 403
    )
    assert Audience.objects.count() == 1 and Audience.objects.get().name == "A"


def test_a_mangled_version_still_saves(marketer_client, email, vip):
    a = make_audience(email, name="A", include=[vip])
    url = reverse("audiences:edit", args=[email.slug, a.pk])
    response = marketer_client.post(url, form_data(name="B", include=[vip], version="x1"))
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.name == "B"
