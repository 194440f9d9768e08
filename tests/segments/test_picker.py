"""The segment picker as a component: its field, its search endpoint, and embedding it."""

import re

import pytest
from django import forms
from django.http import QueryDict
from django.urls import reverse

from segments.picker import (
    PickerInput,
    PickerValue,
    SegmentPickerField,
    ShowAsTypedMixin,
    picker_search_requested,
)
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


class CampaignLikeForm(ShowAsTypedMixin, forms.Form):
    """How another form embeds the picker: one field and one configure() call."""

    name = forms.CharField()
    targeting = SegmentPickerField(label="Targeting")

    def __init__(self, *args, channel, base=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["targeting"].configure(
            channel=channel,
            base_include_ids=base.include_ids if base else None,
            base_exclude_ids=base.exclude_ids if base else None,
            labels={"base": "from audience", "added": "ad-hoc"},
        )


def post(**lists) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, values in lists.items():
        key = key.replace("__", "-")
        for value in values if isinstance(values, list) else [values]:
            data.appendlist(key, str(value))
    return data


def test_clean_returns_segments_and_changes_against_the_base(email, vip, repeat, unsub):
    base = PickerValue.from_ids(include=[vip.pk, repeat.pk])
    form = CampaignLikeForm(
        post(name="x", targeting__include=[vip.pk], targeting__exclude=[unsub.pk]),
        channel=email,
        base=base,
    )
    assert form.is_valid(), form.errors
    value = form.cleaned_data["targeting"]
    assert value.include == [vip] and value.exclude == [unsub]
    assert value.added_exclude == [unsub] and value.added_include == []
    assert value.removed_include == [repeat.pk]


def test_clean_refuses_other_channels_both_and_inactive(email, sms, vip, sms_segment):
    old = make_segment(email, name="Old", is_active=False)
    form = CampaignLikeForm(post(name="x", targeting__include=[sms_segment.pk]), channel=email)
    assert not form.is_valid()
    assert "Only segments of the Email channel" in str(form.errors["targeting"])
    form = CampaignLikeForm(
        post(name="x", targeting__include=[vip.pk, old.pk], targeting__exclude=[vip.pk]),
        channel=email,
    )
    assert not form.is_valid()
    errors = " ".join(form.errors["targeting"])
    assert "both included and excluded: VIP" in errors
    assert "Inactive segments cannot be added: Old" in errors


def test_inclusion_is_optional_unless_required(email, unsub):
    form = CampaignLikeForm(post(name="x", targeting__exclude=[unsub.pk]), channel=email)
    assert form.is_valid()


def test_prefilled_rows_float_to_the_top_and_carry_labels(email, vip, repeat, unsub):
    make_segment(email, name="Another")
    base = PickerValue.from_ids(include=[vip.pk, repeat.pk])
    # The user kept VIP, removed Repeat buyers (unchecked) and added Unsubscribed as exclusion.
    form = CampaignLikeForm(
        post(
            name="x",
            targeting__include=[vip.pk],
            targeting__exclude=[unsub.pk],
            targeting__base_include=[vip.pk, repeat.pk],
        ),
        channel=email,
        base=base,
    )
    html = str(form["targeting"])
    selected = html.split('data-picker-selected role="list">')[1].split("</ul>")[0]
    assert "VIP" in selected and "Unsubscribed 90d" in selected and "Another" not in selected
    assert re.search(rf'class="picker-row picker-base"[^>]*data-segment-id="{vip.pk}"', html)
    assert "from audience" in html and "ad-hoc" in html
    # The removed one is listed apart, struck through (picker-removed), to restore in a click.
    assert re.search(rf'class="picker-row picker-removed"[^>]*data-segment-id="{repeat.pk}"', html)
    assert f'name="targeting-base_include" value="{repeat.pk}"' in html
    assert 'data-picker-count="include">1<' in html and 'data-picker-count="exclude">1<' in html


def test_marks_add_classes_and_labels(email, vip):
    form = CampaignLikeForm(
        channel=email, initial={"targeting": PickerValue.from_ids(include=[vip.pk])}
    )
    form.fields["targeting"].marks = {vip.pk: ("is-special", "Special")}
    html = str(form["targeting"])
    assert "is-special" in html and ">Special<" in html


def test_the_picker_follows_a_changed_channel(email, sms, vip, sms_segment):
    html = str(CampaignLikeForm(channel=sms)["targeting"])
    assert "SMS VIP" in html and ">VIP<" not in html
    assert reverse("segments:picker_search", args=["sms"]) in html


def test_search_requested_and_shown_without_errors(email, vip):
    form = CampaignLikeForm(post(targeting__q="vi", targeting__search="1"), channel=email)
    assert picker_search_requested(form)
    form.show_as_typed()
    assert not form.errors and not form.is_valid()
    html = str(form["targeting"])
    assert 'value="vi"' in html and "aria-invalid" not in str(form["name"])
    assert not picker_search_requested(CampaignLikeForm(post(name="x"), channel=email))
    assert not picker_search_requested(CampaignLikeForm(channel=email))


def search(client, channel, headers=None, **params):
    data = post(**params)
    data.setdefault("field", "segments")
    url = reverse("segments:picker_search", args=[channel.slug]) + "?" + data.urlencode()
    return client.get(url, headers=headers or {})


def test_search_endpoint_lists_matching_active_segments_not_selected(
    marketer_client, email, vip, repeat, htmx_headers
):
    make_segment(email, name="VIP gold")
    make_segment(email, name="VIP lapsed", is_active=False)
    response = search(
        marketer_client, email, htmx_headers, segments__q="vip", segments__include=[vip.pk]
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "VIP gold" in html
    assert "VIP lapsed" not in html  # inactive
    assert f'value="{vip.pk}"' not in html  # already selected, shown at the top instead
    assert "Repeat buyers" not in html


def test_search_endpoint_finds_by_segment_id_first(marketer_client, email, vip, htmx_headers):
    make_segment(email, name="seg-vip fans")
    html = search(marketer_client, email, htmx_headers, segments__q="seg-vip").content.decode()
    assert html.index(">VIP<") < html.index("seg-vip fans</span>")


def test_search_endpoint_pages_with_show_more(marketer_client, email, htmx_headers):
    for i in range(45):
        make_segment(email, name=f"Seg {i:02d}")
    first = search(marketer_client, email, htmx_headers).content.decode()
    assert first.count("data-picker-row") == 20
    assert "Show more segments" in first and "offset=20" in first
    last = search(marketer_client, email, htmx_headers, offset="40").content.decode()
    assert last.count("data-picker-row") == 5 and "Show more" not in last
    assert "Seg 44" in last


def test_search_endpoint_keeps_other_channels_out(marketer_client, email, sms, sms_segment, vip):
    html = search(marketer_client, email, segments__q="vip").content.decode()
    assert "SMS VIP" not in html


def test_search_endpoint_tolerates_bad_input(marketer_client, email, vip):
    response = search(
        marketer_client, email, field="<x>", offset="nope", segments__include=["zz", "-3"]
    )
    assert response.status_code == 200
    assert "VIP" in response.content.decode()


def test_search_endpoint_needs_segment_view_permission(client, email):
    from tests.factories import make_user

    client.force_login(make_user("nobody"))
    assert search(client, email).status_code == 403


@pytest.mark.parametrize("size", [50, 2000])
def test_search_endpoint_query_count_is_fixed(
    marketer_client, email, django_assert_num_queries, htmx_headers, size
):
    from segments.models import Segment

    Segment.objects.bulk_create(
        Segment(channel=email, name=f"Segment {i:05d}") for i in range(size)
    )
    search(marketer_client, email, htmx_headers)
    # session, user, permissions x2, channel, exact Segment ID match, one page of results
    with django_assert_num_queries(7):
        html = search(
            marketer_client, email, htmx_headers, segments__q="segment 0"
        ).content.decode()
    assert html.count("data-picker-row") == 20


@pytest.mark.parametrize("size", [50, 2000])
def test_form_page_query_count_is_fixed(marketer_client, email, django_assert_num_queries, size):
    from segments.models import Segment

    Segment.objects.bulk_create(
        Segment(channel=email, name=f"Segment {i:05d}") for i in range(size)
    )
    url = reverse("audiences:create", args=[email.slug])
    marketer_client.get(url)
    with django_assert_num_queries(7):
        html = marketer_client.get(url).content.decode()
    assert html.count("data-picker-row") == 20


def test_picker_input_reads_and_rewrites_the_posted_ids(vip, repeat):
    data = post(
        segments__include=[vip.pk, "zz", vip.pk], segments__base_include=[vip.pk, repeat.pk]
    )
    posted = PickerInput.from_data(data, name="segments")
    assert posted == PickerInput(include=[vip.pk], base_include=[vip.pk, repeat.pk])
    PickerInput(exclude=[repeat.pk]).write(data, name="segments")
    assert data.getlist("segments-include") == [] and data.getlist("segments-base_include") == []
    assert data.getlist("segments-exclude") == [str(repeat.pk)]


def test_no_js_show_more_rerenders_with_more_rows(marketer_client, email):
    from segments.models import Segment

    Segment.objects.bulk_create(Segment(channel=email, name=f"Seg {i:02d}") for i in range(30))
    url = reverse("audiences:create", args=[email.slug])
    html = marketer_client.get(url).content.decode()
    assert html.count("data-picker-row") == 20
    assert 'name="segments-limit" value="40"' in html
    html = marketer_client.post(url, {"name": "", "segments-limit": "40"}).content.decode()
    assert html.count("data-picker-row") == 30
    assert "Show more segments" not in html


def test_a_configured_base_replaces_the_posted_one(email, vip, repeat, unsub):
    """The campaign form applies another audience: its base wins over the hidden inputs."""
    data = post(name="x", targeting__include=[vip.pk, unsub.pk], targeting__base_include=[vip.pk])
    form = CampaignLikeForm(data, channel=email, base=PickerValue.from_ids(include=[unsub.pk]))
    assert form.is_valid()
    value = form.cleaned_data["targeting"]
    assert value.base_include_ids == [unsub.pk]
    assert value.added_include == [vip]
    html = str(form["targeting"])
    assert f'name="targeting-base_include" value="{unsub.pk}"' in html
    assert f'name="targeting-base_include" value="{vip.pk}"' not in html
    # Without a configured base, the posted one is kept (e.g. a no-JavaScript search round trip).
    form = CampaignLikeForm(data, channel=email)
    assert form.is_valid()
    assert form.cleaned_data["targeting"].base_include_ids == [vip.pk]
