"""Export of a channel's segments: search/filter respected, formulas neutralised, and an
exported file imports back unchanged (property-based)."""

import csv
import io

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.uploads.importers import SEGMENT
from integrations.uploads.reading import clean, neutralise
from segments.models import Segment
from tests.factories import make_segment
from tests.uploads.conftest import run_import, snapshot

pytestmark = pytest.mark.django_db


def export(client, channel, **params):
    response = client.get(reverse("uploads:export_segments", args=[channel.slug]), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def rows(body: bytes):
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_export_respects_search_status_and_order(marketer_client, email, sms):
    make_segment(email, name="Buyers A", external_id="1")
    make_segment(email, name="Buyers B", external_id="2", is_active=False)
    make_segment(email, name="Other", external_id="3")
    make_segment(sms, name="Buyers SMS", external_id="9")
    assert rows(export(marketer_client, email, q="buyers", order="-name")) == [
        ["Segment name", "Segment ID", "Link", "Status"],
        ["Buyers B", "2", "", "inactive"],
        ["Buyers A", "1", "", "active"],
    ]
    assert [r[0] for r in rows(export(marketer_client, email, status="inactive"))[1:]] == [
        "Buyers B"
    ]


def test_export_neutralises_formulas(marketer_client, email):
    for name in ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tTab", "\rCR", "'=already", "Plain"]:
        make_segment(email, name=name)
    body = export(marketer_client, email)
    assert body.startswith("\ufeff".encode())
    names = sorted(r[0] for r in rows(body)[1:])
    assert names == sorted(
        ["'=HYPERLINK(1)", "'+1", "'-2", "'@SUM(A1)", "'\tTab", "'\rCR", "''=already", "Plain"]
    )


def test_export_needs_view_segment(client, viewer_client, email, django_user_model):
    assert viewer_client.get(reverse("uploads:export_segments", args=["email"])).status_code == 200
    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get(reverse("uploads:export_segments", args=["email"])).status_code == 403
    assert viewer_client.get(reverse("uploads:export_segments", args=["nope"])).status_code == 404


def test_export_streams_in_a_constant_number_of_queries(
    marketer_client, email, django_assert_num_queries
):
    Segment.objects.bulk_create([Segment(channel=email, name=f"S{i}") for i in range(10)])
    # session, user, permissions (2), channel, segments: whatever the number of segments
    with django_assert_num_queries(6):
        export(marketer_client, email)
    Segment.objects.bulk_create([Segment(channel=email, name=f"T{i}") for i in range(500)])
    with django_assert_num_queries(6):
        export(marketer_client, email)


# Line breaks in a name or Segment ID are refused by the import (most often a quote left open).
cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
    min_size=1,
    max_size=40,
).filter(lambda s: s == s.strip() and s.strip())


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_neutralise_is_undone_by_clean(value):
    value = value.strip()
    assert clean(neutralise(value)) == value


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(cell_text, st.booleans(), st.booleans(), st.booleans()),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[0].lower(),
    ),
)
def test_export_then_import_round_trips_any_text(tmp_path_factory, marketer_client, email, data):
    Segment.objects.filter(channel=email).delete()
    for index, (text, has_id, has_link, active) in enumerate(data):
        make_segment(
            email,
            name=text[:255],
            external_id=f"{text[:200]}#{index}" if has_id else "",
            link=f"https://example.com/{index}" if has_link else "",
            is_active=active,
        )
    body = export(marketer_client, email)
    path = tmp_path_factory.mktemp("export") / "segments.csv"
    path.write_bytes(body)
    before = snapshot()

    result, errors = run_import(email, path)
    assert errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(data))
    assert snapshot() == before

    # Into an empty channel: the same segments, field for field.
    expected = sorted(
        Segment.objects.filter(channel=email).values_list(
            "name", "external_id", "link", "is_active"
        )
    )
    Segment.objects.filter(channel=email).delete()
    result, errors = run_import(email, path)
    assert errors == [] and result.created == len(data)
    assert (
        sorted(
            Segment.objects.filter(channel=email).values_list(
                "name", "external_id", "link", "is_active"
            )
        )
        == expected
    )


def test_export_header_is_mapped_automatically():
    assert SEGMENT.suggest(["Segment name", "Segment ID", "Link", "Status"]) == {
        "name": {"column": "Segment name"},
        "external_id": {"column": "Segment ID"},
        "link": {"column": "Link"},
        "is_active": {"column": "Status"},
    }
