"""Where sizes show: the Segments tab's Size column, the detail page and its chart, the picker."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from segments.bulk import SegmentRow, segment_bulk_upsert
from segments.models import Segment
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def list_url(channel, **params):
    url = reverse("segments:list", args=[channel.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def cells(html):
    """Each row's name and size cell text, in order."""
    rows = re.findall(r'<tr id="segment-\d+".*?</tr>', html, re.S)
    out = []
    for row in rows:
        name = re.search(r'class="cell-name"><a [^>]*>([^<]*)</a>', row).group(1)
        size = re.sub(r"<[^>]+>", "", re.search(r'<td class="cell-size">(.*?)</td>', row).group(1))
        out.append((name, " ".join(size.split())))
    return out


def test_the_size_column_reads_figures_faded_when_old_and_a_dash_when_unknown(
    marketer_client, email
):
    now = timezone.now()
    make_segment(email, name="Fresh", size=12340, size_counted_at=now, size_source="klaviyo")
    old = make_segment(
        email, name="Old", size=5, size_counted_at=now - timedelta(days=9), size_source="csv"
    )
    make_segment(email, name="Unknown")
    html = marketer_client.get(list_url(email)).content.decode()
    assert cells(html) == [("Fresh", "12,340"), ("Old", "5 counted 9 days ago"), ("Unknown", "—")]
    assert f'<tr id="segment-{old.pk}"' in html
    assert 'class="size-stale"' in html.split(f'id="segment-{old.pk}"')[1].split("</tr>")[0]


def test_sorting_by_size_biggest_first_and_back_keeps_unknown_last(
    marketer_client, email, htmx_headers
):
    now = timezone.now()
    for name, size in [("A", 10), ("B", None), ("C", 300), ("D", 20)]:
        make_segment(email, name=name, size=size, size_counted_at=size and now)
    page = marketer_client.get(list_url(email)).content.decode()
    assert 'hx-get="?order=-size"' in page  # the header's first click: biggest first
    biggest = marketer_client.get(list_url(email, order="-size"), headers=htmx_headers)
    html = biggest.content.decode()
    assert "<html" not in html and 'aria-sort="descending"' in html
    assert [name for name, _ in cells(html)] == ["C", "D", "A", "B"]
    smallest = marketer_client.get(list_url(email, order="size"), headers=htmx_headers)
    assert [name for name, _ in cells(smallest.content.decode())] == ["A", "D", "C", "B"]


def fill(channel, n, start=0):
    """n segments with sizes, through the bulk write path."""
    now = timezone.now()
    segment_bulk_upsert(
        channel=channel,
        rows=(
            SegmentRow(name=f"Seg {i:06d}", external_id=f"E{i}", size=i, size_counted_at=now)
            for i in range(start, start + n)
        ),
        source=Segment.Source.CSV,
    )


def test_the_segments_tab_and_the_picker_keep_their_query_counts_at_1000_and_50000(
    marketer_client, email, htmx_headers, django_assert_num_queries
):
    tab = list_url(email, order="-size")
    picker = reverse("audiences:create", args=[email.slug])
    search = reverse("segments:picker_search", args=[email.slug]) + "?segments-q=seg+0"
    fill(email, 1000)
    marketer_client.get(tab)
    counts = {}
    for url, headers in [(tab, {}), (tab, htmx_headers), (picker, {}), (search, htmx_headers)]:
        with CaptureQueriesContext(connection) as ctx:
            assert marketer_client.get(url, headers=headers).status_code == 200
        counts[url, bool(headers)] = len(ctx)
    fill(email, 49_000, start=1000)
    for (url, partial), expected in counts.items():
        with django_assert_num_queries(expected):
            html = marketer_client.get(url, headers=htmx_headers if partial else {})
        assert html.status_code == 200
    assert "49,999" in marketer_client.get(tab, headers=htmx_headers).content.decode()


def test_the_detail_page_shows_the_figure_its_source_and_a_size_history_chart(
    marketer_client, email
):
    segment = make_segment(email, name="VIP", external_id="V1")
    start = timezone.now() - timedelta(days=3)
    for day, size in enumerate([100, 150, 120]):
        segment_bulk_upsert(
            channel=email,
            rows=[
                SegmentRow(
                    name="VIP",
                    external_id="V1",
                    size=size,
                    size_counted_at=start + timedelta(days=day),
                )
            ],
            source=Segment.Source.CSV,
        )
    url = reverse("segments:detail", args=[email.slug, segment.pk])
    html = marketer_client.get(url).content.decode()
    assert "<strong>120</strong> contacts" in html and "CSV upload" in html
    chart = html.split('<figure class="size-chart">')[1].split("</figure>")[0]
    assert chart.count("<circle") == 3 and "<polyline" in chart and "<script" not in chart
    assert "3 counts, from 100 on" in chart and "lowest 100, highest 150" in chart


def test_the_detail_page_of_a_segment_without_a_size_says_how_to_get_one(marketer_client, email):
    segment = make_segment(email, name="Typed", kind="")
    url = reverse("segments:detail", args=[email.slug, segment.pk])
    html = marketer_client.get(url).content.decode()
    assert "Unknown: type it on the edit form" in html and "size-chart" not in html


def test_picker_rows_show_size_kind_and_what_tells_same_named_segments_apart(
    marketer_client, email
):
    make_segment(email, name="Buyers", kind="list", external_id="L1", size=2500)
    make_segment(email, name="Buyers", source="csv")
    make_segment(email, name="buyers ", source="manual")
    make_segment(email, name="Solo", kind="segment", external_id="S1")
    html = marketer_client.get(reverse("audiences:create", args=[email.slug])).content.decode()
    rows = re.findall(r"<li class=\"picker-row.*?</li>", html, re.S)
    texts = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    buyers = [t for t in texts if t.lower().startswith("buyers")]
    assert any("Klaviyo list" in t and "2,500 contacts" in t for t in buyers)
    assert any("no Segment ID · CSV upload, added" in t for t in buyers)
    assert any("no Segment ID · Manual, added" in t for t in buyers)
    [solo] = [t for t in texts if t.startswith("Solo")]
    assert "Klaviyo segment · size unknown" in solo and "added" not in solo


# -- typed sizes: the segment form and the admin ------------------------------------------------


def test_the_add_form_takes_a_typed_size(marketer_client, email):
    url = reverse("segments:add", args=[email.slug])
    assert 'name="size"' in marketer_client.get(url).content.decode()
    assert marketer_client.post(url, {"name": "VIP", "size": "12 345"}).status_code == 302
    segment = Segment.objects.get(channel=email)
    assert (segment.size, segment.size_source) == (12345, "manual")
    assert list(segment.size_points.values_list("size", "source")) == [(12345, "manual")]


@pytest.mark.parametrize(
    "typed, words", [("-4", "negative"), ("2.5", "not a whole number"), ("lots", "not a number")]
)
def test_a_bad_typed_size_comes_back_with_a_message_and_nothing_lost(
    marketer_client, email, typed, words
):
    url = reverse("segments:add", args=[email.slug])
    response = marketer_client.post(url, {"name": "Keep me", "size": typed})
    html = response.content.decode()
    assert response.status_code == 200 and words in html
    assert 'value="Keep me"' in html and not Segment.objects.exists()


def test_editing_keeps_a_klaviyo_count_unless_the_figure_changes(marketer_client, email):
    counted = timezone.now() - timedelta(days=2)
    segment = make_segment(
        email, name="K", kind="segment", size=900, size_counted_at=counted, size_source="klaviyo"
    )
    url = reverse("segments:edit", args=[email.slug, segment.pk])
    assert 'value="900"' in marketer_client.get(url).content.decode()
    marketer_client.post(url, {"name": "K renamed", "size": "900"})
    segment.refresh_from_db()
    assert (segment.name, segment.size_source, segment.size_counted_at) == (
        "K renamed",
        "klaviyo",
        counted,
    )
    marketer_client.post(url, {"name": "K renamed", "size": "1,000"})
    segment.refresh_from_db()
    assert (segment.size, segment.size_source) == (1000, "manual")
    marketer_client.post(url, {"name": "K renamed", "size": ""})
    segment.refresh_from_db()
    assert (segment.size, segment.size_source, segment.size_counted_at) == (None, "", None)
    assert segment.size_points.count() == 1  # "unknown" is no point of the history


def test_the_admin_takes_a_size_through_the_services(admin_client, email):
    segment = make_segment(email, name="Mine")
    url = reverse("admin:segments_segment_change", args=[segment.pk])
    data = {"name": "Mine", "external_id": "", "link": "", "is_active": "on", "size": "700"}
    assert admin_client.post(url, data).status_code == 302
    segment.refresh_from_db()
    assert (segment.size, segment.size_source) == (700, "manual")
    assert segment.size_points.count() == 1
    admin_client.post(url, data)  # the same figure again: nothing new
    assert segment.size_points.count() == 1
    bad = admin_client.post(url, {**data, "size": str(10**13)})
    assert "more contacts than any segment has" in bad.content.decode()
    add = reverse("admin:segments_segment_add")
    admin_client.post(add, {**data, "channel": email.pk, "name": "New", "size": "5"})
    assert Segment.objects.get(name="New").size_points.get().size == 5


def test_the_segments_table_shows_no_template_comment(marketer_client, email):
    make_segment(email, name="Row")
    html = marketer_client.get(list_url(email)).content.decode()
    assert "{#" not in html and "One row per segment" not in html


def test_the_source_column_tells_a_klaviyo_list_from_a_klaviyo_segment(marketer_client, email):
    make_segment(email, name="A list", source="klaviyo", kind="list", external_id="L1")
    make_segment(email, name="A segment", source="klaviyo", kind="segment", external_id="S1")
    make_segment(email, name="Typed one")
    html = marketer_client.get(list_url(email)).content.decode()
    sources = re.findall(r'<td class="hide-narrow">([^<]*)</td>', html)
    assert sources == ["Klaviyo list", "Klaviyo segment", "Manual"]
