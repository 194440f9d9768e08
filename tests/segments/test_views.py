import re

import pytest
from django.urls import reverse
from django.utils import timezone

from segments.models import Segment
from tests.factories import make_audience, make_campaign, make_segment

pytestmark = pytest.mark.django_db

XSS = '"><script>alert(1)</script>'


def list_url(channel, **params):
    from urllib.parse import urlencode

    url = reverse("segments:list", args=[channel.slug])
    return f"{url}?{urlencode(params)}" if params else url


def row_names(html: str) -> list[str]:
    return re.findall(r'<td class="cell-name">\s*<a href="[^"]+">([^<]+)</a>', html)


# ---- The tab and the search partial ---------------------------------------------------------


def test_tab_lists_the_channel_segments_with_their_details(marketer_client, email, sms):
    segment = make_segment(
        email, name="VIP", external_id="V-1", link="https://k.test/s/1", source="klaviyo"
    )
    make_segment(email, name="Lapsed", is_active=False)
    make_segment(sms, name="SMS only")
    make_audience(email, include=[segment])
    make_campaign(email, exclude=[segment])
    response = marketer_client.get(list_url(email))
    html = response.content.decode()
    assert response.status_code == 200
    assert row_names(html) == ["Lapsed", "VIP"]
    assert "SMS only" not in html
    assert "<code>V-1</code>" in html
    assert 'href="https://k.test/s/1" target="_blank" rel="noopener noreferrer"' in html
    assert "1 audience, 1 campaign" in html
    assert "Klaviyo" in html and "Inactive" in html
    assert "2 segments" in html
    # Row links and the htmx toggle point where the URL patterns say.
    set_active = reverse("segments:set_active", args=["email", segment.pk])
    assert f'hx-post="{set_active}" hx-vals=\'{{"active": "0"}}\'' in html
    for name in ("segments:detail", "segments:edit", "segments:delete"):
        assert f'href="{reverse(name, args=["email", segment.pk])}"' in html
    # The region reloads itself when a Klaviyo sync finishes.
    assert 'hx-trigger="segments-changed from:body"' in html
    assert f'hx-get="{list_url(email)}"' in html


@pytest.mark.parametrize(
    ("when", "shown", "title"),
    [
        ((2026, 3, 5, 9, 7), "5 Mar 2026", "5 Mar 2026, 09:07 UTC"),
        ((2025, 12, 31, 23, 59), "31 Dec 2025", "31 Dec 2025, 23:59 UTC"),
    ],
)
def test_row_shows_when_it_was_last_updated(marketer_client, email, when, shown, title):
    segment = make_segment(email, name="Dated")
    stamp = timezone.make_aware(timezone.datetime(*when))
    Segment.objects.filter(pk=segment.pk).update(updated_at=stamp)
    html = marketer_client.get(list_url(email)).content.decode()
    assert f'<time datetime="{stamp.isoformat()}" title="{title}">{shown}</time>' in html


def test_search_partial_returns_only_the_results_region(marketer_client, email, htmx_headers):
    make_segment(email, name="Winter buyers", external_id="W1")
    make_segment(email, name="Summer buyers", external_id="S1")
    response = marketer_client.get(list_url(email, q="winter"), headers=htmx_headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="segment-results"')
    assert "<html" not in html and "Search" not in html.split("<thead>")[0]
    assert row_names(html) == ["Winter buyers"]
    # Reloading the region keeps the search.
    assert f'hx-get="{list_url(email, q="winter")}"' in html


def test_full_page_with_search_in_the_url_is_shareable(marketer_client, email):
    make_segment(email, name="Winter buyers")
    make_segment(email, name="Summer buyers")
    html = marketer_client.get(list_url(email, q="summer", status="active")).content.decode()
    assert row_names(html) == ["Summer buyers"]
    assert 'value="summer"' in html
    assert '<option value="active" selected>' in html


def test_exact_id_match_is_listed_first(marketer_client, email):
    make_segment(email, name="A list for 42", external_id="420")
    make_segment(email, name="Zed", external_id="42")
    html = marketer_client.get(list_url(email, q="42")).content.decode()
    assert row_names(html) == ["Zed", "A list for 42"]


def test_sorting_by_name_and_last_updated(marketer_client, email):
    for name in ("b", "a", "c"):
        make_segment(email, name=name)
    Segment.objects.filter(name="a").update(updated_at=timezone.now() + timezone.timedelta(1))
    assert row_names(marketer_client.get(list_url(email, order="-name")).content.decode()) == [
        "c",
        "b",
        "a",
    ]
    html = marketer_client.get(list_url(email, order="-updated")).content.decode()
    assert row_names(html)[0] == "a"
    assert 'aria-sort="descending"' in html
    # Unknown orders fall back to name.
    assert row_names(marketer_client.get(list_url(email, order="x;drop")).content.decode()) == [
        "a",
        "b",
        "c",
    ]


def test_pages_of_fifty_with_total_and_bad_page_numbers(marketer_client, email, make_many):
    make_many(email, 120)
    html = marketer_client.get(list_url(email)).content.decode()
    assert len(row_names(html)) == 50
    assert "120 segments" in html and "page 1 of 3" in html
    for bad in ("999", "-1", "abc", ""):
        response = marketer_client.get(list_url(email, page=bad))
        assert response.status_code == 200
    assert "page 3 of 3" in marketer_client.get(list_url(email, page="999")).content.decode()


def test_empty_search_offers_to_clear_it(marketer_client, email):
    make_segment(email, name="Something")
    html = marketer_client.get(list_url(email, q="nothing-like-this")).content.decode()
    assert "No segments match “nothing-like-this”" in html
    assert f'href="{list_url(email)}"' in html and "Clear search" in html


def test_empty_channel_says_how_to_add_segments(marketer_client, viewer_client, email):
    html = marketer_client.get(list_url(email)).content.decode()
    assert "No segments in Email yet" in html
    assert reverse("segments:add", args=["email"]) in html
    assert "Add segment" not in viewer_client.get(list_url(email)).content.decode()


def test_not_in_klaviyo_filter_and_badge(marketer_client, email):
    when = timezone.now().replace(year=2026, month=3, day=4)
    make_segment(email, name="Vanished", source="klaviyo", klaviyo_missing_since=when)
    make_segment(email, name="Present", source="klaviyo")
    html = marketer_client.get(list_url(email, status="missing")).content.decode()
    assert row_names(html) == ["Vanished"]
    assert "Not in Klaviyo since 4 Mar 2026" in html
    assert '<option value="missing" selected>Not in Klaviyo</option>' in html


def test_unknown_channel_is_404(marketer_client, channels):
    assert marketer_client.get("/channels/nope/segments/").status_code == 404
    assert marketer_client.get("/channels/nope/segments/1/").status_code == 404


def test_segment_of_another_channel_is_404(marketer_client, email, sms):
    segment = make_segment(sms)
    assert marketer_client.get(f"/channels/email/segments/{segment.pk}/").status_code == 404


def _count_queries(client, url, headers=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, headers=headers or {}).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("params", [{}, {"q": "bulk"}, {"q": "Bulk-7"}, {"status": "inactive"}])
def test_query_count_is_the_same_at_two_sizes(
    marketer_client, email, sms, htmx_headers, make_many, django_assert_num_queries, params
):
    def fill(n):
        Segment.objects.all().delete()
        make_many(email, n)
        make_many(sms, n // 2)
        Segment.objects.filter(name__endswith="1").update(is_active=False)
        used = list(Segment.objects.filter(channel=email).order_by("name")[:3])
        make_audience(email, include=used[:2], exclude=used[2:])
        make_campaign(email, include=used[:1])

    url = list_url(email, **params)
    # The partial: session, user, permissions x2, channels (this one and the copy targets),
    # [exact-ID lookup], count, rows, usage (audiences and campaigns in one UNION).
    expected = 8 + (1 if params.get("q") else 0)
    fill(100)
    with django_assert_num_queries(expected):
        marketer_client.get(url, headers=htmx_headers)
    full_small = _count_queries(marketer_client, url)
    fill(1000)
    with django_assert_num_queries(expected):
        marketer_client.get(url, headers=htmx_headers)
    assert _count_queries(marketer_client, url) == full_small


# ---- Add and edit ---------------------------------------------------------------------------


def test_add_a_segment(marketer_client, email):
    url = reverse("segments:add", args=["email"])
    assert marketer_client.get(url).status_code == 200
    response = marketer_client.post(
        url, {"name": " VIP ", "external_id": "V1", "link": "https://k.test/v1"}
    )
    assert response.status_code == 302
    assert response["Location"] == list_url(email, q="V1")
    segment = Segment.objects.get(channel=email)
    assert (segment.name, segment.external_id, segment.source) == ("VIP", "V1", "manual")
    html = marketer_client.get(response["Location"]).content.decode()
    assert "Added “VIP” to Email." in html


def test_add_and_add_another_comes_back_to_the_form(marketer_client, email):
    url = reverse("segments:add", args=["email"])
    response = marketer_client.post(url, {"name": "One", "add_another": "1"})
    assert response["Location"] == url


BAD_INPUT = [
    ({"name": ""}, "This field is required."),
    ({"name": "   "}, "This field is required."),
    ({"name": "x" * 256}, "at most 255 characters"),
    ({"external_id": "x" * 256}, "at most 255 characters"),
    ({"link": "javascript:alert(1)"}, "Only http:// and https:// links are allowed."),
    ({"link": "JavaScript:alert(1)"}, "Only http:// and https:// links are allowed."),
    ({"link": "  javascript:alert(1)"}, "Only http:// and https:// links are allowed."),
    ({"link": "data:text/html;base64,PHNjcmlwdD4="}, "Only http:// and https:// links"),
    ({"link": "VBScript:msgbox(1)"}, "Only http:// and https:// links are allowed."),
    ({"link": "\tvbscript:msgbox(1)"}, "Only http:// and https:// links are allowed."),
    ({"link": "x" * 2001}, "at most 2000 characters"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUT)
def test_add_refuses_bad_input_and_keeps_what_was_typed(marketer_client, email, fields, message):
    data = {"name": "Kept name", "external_id": "Kept-ID", "link": "", **fields}
    response = marketer_client.post(reverse("segments:add", args=["email"]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert not Segment.objects.exists()
    if "name" not in fields:
        assert 'value="Kept name"' in html


def test_duplicate_id_error_names_and_links_the_existing_segment(marketer_client, email):
    existing = make_segment(email, name="Original", external_id="DUP")
    response = marketer_client.post(
        reverse("segments:add", args=["email"]), {"name": "Copy", "external_id": "DUP"}
    )
    html = response.content.decode()
    detail = reverse("segments:detail", args=["email", existing.pk])
    assert f'already used by <a href="{detail}">Original</a>' in html
    assert 'value="Copy"' in html
    assert Segment.objects.count() == 1


def test_edit_a_segment(marketer_client, email):
    segment = make_segment(email, name="Old", external_id="O1")
    url = reverse("segments:edit", args=["email", segment.pk])
    html = marketer_client.get(url).content.decode()
    assert 'value="Old"' in html and 'value="O1"' in html
    response = marketer_client.post(url, {"name": "New", "external_id": "N1", "link": ""})
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.external_id) == ("New", "N1")


def test_edit_to_an_id_in_use_is_a_form_error(marketer_client, email):
    make_segment(email, name="Holder", external_id="TAKEN")
    segment = make_segment(email, name="Mine", external_id="MINE")
    response = marketer_client.post(
        reverse("segments:edit", args=["email", segment.pk]),
        {"name": "Mine", "external_id": "TAKEN", "link": ""},
    )
    assert "already used by" in response.content.decode()
    segment.refresh_from_db()
    assert segment.external_id == "MINE"


def test_editing_a_segment_deleted_meanwhile_says_so(marketer_client, email):
    segment = make_segment(email)
    url = reverse("segments:edit", args=["email", segment.pk])
    Segment.objects.filter(pk=segment.pk).delete()
    response = marketer_client.post(url, {"name": "x"}, follow=True)
    assert response.redirect_chain[-1][0] == list_url(email)
    assert "no longer exists" in response.content.decode()
    assert "no longer exists" in marketer_client.get(url, follow=True).content.decode()


# ---- Toggle ---------------------------------------------------------------------------------


def test_toggle_with_htmx_swaps_the_row(marketer_client, email, htmx_headers):
    segment = make_segment(email, name="Flip")
    make_audience(email, include=[segment])
    url = reverse("segments:set_active", args=["email", segment.pk])
    response = marketer_client.post(url, {"active": "0"}, headers=htmx_headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="segment-{segment.pk}" class="is-inactive"')
    assert "Make active" in html and '#usage">1 audience</a>' in html
    assert "“Flip” is now inactive." in html  # the message, swapped out of band
    segment.refresh_from_db()
    assert not segment.is_active


def test_toggle_without_javascript_redirects_back(marketer_client, email):
    segment = make_segment(email, is_active=False)
    url = reverse("segments:set_active", args=["email", segment.pk])
    back = list_url(email, q="x", page="2")
    response = marketer_client.post(url, {"active": "1", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    segment.refresh_from_db()
    assert segment.is_active
    # An outside `next` is ignored.
    response = marketer_client.post(url, {"active": "1", "next": "https://evil.test/"})
    assert response["Location"] == list_url(email)


def test_toggle_of_a_deleted_segment_removes_the_row(marketer_client, email, htmx_headers):
    segment = make_segment(email)
    url = reverse("segments:set_active", args=["email", segment.pk])
    segment.delete()
    response = marketer_client.post(url, {"active": "0"}, headers=htmx_headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<tr" not in html
    assert "no longer exists" in html
    response = marketer_client.post(url, {"active": "0"}, follow=True)
    assert "no longer exists" in response.content.decode()


def test_toggle_is_post_only(marketer_client, email):
    segment = make_segment(email)
    url = reverse("segments:set_active", args=["email", segment.pk])
    assert marketer_client.get(url).status_code == 405


# ---- Bulk -----------------------------------------------------------------------------------


def test_bulk_deactivate_ticked_rows(marketer_client, email):
    a, b, _c = (make_segment(email, name=n) for n in "abc")
    response = marketer_client.post(
        reverse("segments:bulk", args=["email"]),
        {"action": "deactivate", "segment": [a.pk, b.pk], "next": list_url(email)},
        follow=True,
    )
    assert "Deactivated 2 segments." in response.content.decode()
    assert set(Segment.objects.filter(is_active=False)) == {a, b}


def test_bulk_select_all_matching_the_search(marketer_client, email, sms, make_many):
    make_many(email, 120)
    make_segment(email, name="Other")
    make_many(sms, 5)
    response = marketer_client.post(
        reverse("segments:bulk", args=["email"]),
        {"action": "deactivate", "select_all": "1", "q": "bulk", "status": "all"},
        follow=True,
    )
    assert "Deactivated 120 segments." in response.content.decode()
    assert Segment.objects.filter(channel=email, is_active=True).get().name == "Other"
    assert Segment.objects.filter(channel=sms, is_active=True).count() == 5


def test_bulk_copy_to_another_channel_reports_copied_and_skipped(marketer_client, email, sms):
    a = make_segment(email, name="A", external_id="A1")
    b = make_segment(email, name="B", external_id="B1")
    make_segment(sms, name="B in SMS", external_id="B1")
    response = marketer_client.post(
        reverse("segments:bulk", args=["email"]),
        {"action": "copy", "segment": [a.pk, b.pk], "target": "sms"},
        follow=True,
    )
    html = response.content.decode()
    assert "Copied 1 segment to SMS. Skipped 1 segment that SMS already has" in html
    assert Segment.objects.filter(channel=sms).count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "deactivate"}, "Select at least one segment first."),
        ({"action": "copy", "segment": ["1"]}, "Choose the channel to copy the segments to."),
        ({"action": "explode", "segment": ["1"]}, "Select a valid choice."),
        ({"action": "copy", "segment": ["1"], "target": "email"}, "Select a valid choice."),
        ({"action": "activate", "segment": ["x"]}, "The selection is not valid."),
    ],
)
def test_bulk_bad_input_is_a_message(marketer_client, email, data, message):
    response = marketer_client.post(reverse("segments:bulk", args=["email"]), data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_bulk_never_touches_segments_of_another_channel(marketer_client, email, sms):
    other = make_segment(sms)
    marketer_client.post(
        reverse("segments:bulk", args=["email"]), {"action": "deactivate", "segment": [other.pk]}
    )
    other.refresh_from_db()
    assert other.is_active


# ---- Detail and delete ----------------------------------------------------------------------


def test_detail_shows_fields_and_usage(marketer_client, email):
    segment = make_segment(
        email, name="VIP", external_id="V1", source="klaviyo", kind="list", link="https://k.test"
    )
    make_audience(email, name="Loyal", include=[segment])
    make_audience(email, name="Everyone but VIP", exclude=[segment])
    make_campaign(email, name="Spring sale", include=[segment])
    html = marketer_client.get(reverse("segments:detail", args=["email", segment.pk])).content
    html = html.decode()
    for text in ("VIP", "V1", "Klaviyo (Klaviyo list)", "Loyal", "Everyone but VIP", "Spring sale"):
        assert text in html
    assert "Audiences (2)" in html and "Campaigns (1)" in html


def test_delete_an_unused_segment_after_confirmation(marketer_client, email):
    segment = make_segment(email, name="Old", source="klaviyo")
    url = reverse("segments:delete", args=["email", segment.pk])
    html = marketer_client.get(url).content.decode()
    assert "Delete “Old”?" in html
    assert "the next Klaviyo sync will bring it back" in html
    assert "Make inactive instead" in html
    response = marketer_client.post(url, follow=True)
    assert "Deleted “Old”." in response.content.decode()
    assert not Segment.objects.exists()


def test_delete_of_a_segment_in_use_lists_the_users_and_offers_inactive(marketer_client, email):
    segment = make_segment(email, name="Busy")
    make_audience(email, name="Loyal", include=[segment])
    make_campaign(email, name="Launch", exclude=[segment])
    url = reverse("segments:delete", args=["email", segment.pk])
    html = marketer_client.get(url).content.decode()
    assert "“Busy” cannot be deleted" in html
    assert "Loyal" in html and "Launch" in html
    assert "Delete segment" not in html
    assert "Make inactive instead" in html
    response = marketer_client.post(url, follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Segment.objects.filter(pk=segment.pk).exists()
    # "Make inactive instead".
    marketer_client.post(
        reverse("segments:set_active", args=["email", segment.pk]), {"active": "0"}
    )
    segment.refresh_from_db()
    assert not segment.is_active


def test_deleting_a_segment_deleted_meanwhile_says_so(marketer_client, email):
    segment = make_segment(email)
    url = reverse("segments:delete", args=["email", segment.pk])
    segment.delete()
    response = marketer_client.post(url, follow=True)
    assert "no longer exists" in response.content.decode()


# ---- Permissions ----------------------------------------------------------------------------


def test_viewer_sees_everything_and_no_write_buttons(viewer_client, email):
    segment = make_segment(email, name="Visible")
    html = viewer_client.get(list_url(email)).content.decode()
    assert "Visible" in html
    for text in ("Add segment", "Make inactive", "Edit", "Delete", "bulk-bar", 'name="segment"'):
        assert text not in html
    detail = viewer_client.get(reverse("segments:detail", args=["email", segment.pk]))
    assert detail.status_code == 200
    assert "Make inactive" not in detail.content.decode()


def test_viewer_gets_403_on_every_write(viewer_client, email):
    segment = make_segment(email)
    posts = [
        (reverse("segments:add", args=["email"]), {"name": "x"}),
        (reverse("segments:edit", args=["email", segment.pk]), {"name": "x"}),
        (reverse("segments:set_active", args=["email", segment.pk]), {"active": "0"}),
        (reverse("segments:delete", args=["email", segment.pk]), {}),
        (reverse("segments:bulk", args=["email"]), {"action": "deactivate", "segment": [1]}),
    ]
    for url, data in posts:
        assert viewer_client.post(url, data).status_code == 403, url
    for url in (posts[0][0], posts[1][0], posts[3][0]):
        assert viewer_client.get(url).status_code == 403, url
    segment.refresh_from_db()
    assert segment.is_active and segment.name != "x"


# ---- Escaping -------------------------------------------------------------------------------


def test_script_in_every_field_is_escaped_everywhere(marketer_client, email, admin_client):
    segment = make_segment(
        email, name=XSS, external_id=XSS, link='https://k.test/"><script>alert(1)</script>'
    )
    audience = make_audience(email, name=XSS, include=[segment])
    assert audience
    pages = [
        list_url(email),
        list_url(email, q=XSS),
        reverse("segments:detail", args=["email", segment.pk]),
        reverse("segments:edit", args=["email", segment.pk]),
        reverse("segments:delete", args=["email", segment.pk]),
    ]
    for url in pages:
        html = marketer_client.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
    # The duplicate-ID error links the existing segment, escaped.
    html = marketer_client.post(
        reverse("segments:add", args=["email"]), {"name": "x", "external_id": XSS}
    ).content.decode()
    assert "<script>alert(1)" not in html and "already used by <a href=" in html
    for url in (
        reverse("admin:segments_segment_changelist") + "?q=script",
        reverse("admin:segments_segment_change", args=[segment.pk]),
    ):
        html = admin_client.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_download_csv_link_keeps_the_search(marketer_client, email):
    make_segment(email, name="Winter buyers")
    html = marketer_client.get(list_url(email, q="winter", status="active", page="1")).content
    assert (
        'href="/data/export/email/segments.csv?q=winter&amp;status=active">Download CSV</a>'
        in html.decode()
    )
