"""The History tabs, Restore, the runs' pages, the Activity page and its CSV export."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audiences import services as audience_services
from campaigns import services as campaign_services
from history.actor import acting_as, run_actor, user_actor
from history.models import Change
from integrations.klaviyo.models import SyncRun
from integrations.uploads.models import Upload
from segments.bulk import SegmentRow, segment_bulk_upsert
from tests.factories import make_segment, make_user

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


@pytest.fixture
def audience(email, vip, unsub, marketer):
    with acting_as(user_actor(marketer)):
        return audience_services.audience_create(
            channel=email, name="VIP", include=[vip], exclude=[unsub], user=marketer
        )


def history_url(audience):
    return reverse("audiences:history", args=[audience.channel.slug, audience.pk])


def save(audience, n: int, user=None, **fields):
    """n saves that each change the estimated volume."""
    for i in range(n):
        audience_services.audience_update(
            audience=audience,
            name=fields.get("name", audience.name),
            include=list(audience.inclusion_segments.all()),
            exclude=list(audience.exclusion_segments.all()),
            estimated_volume=1000 + i,
            user=user,
        )


def test_history_tab_newest_first_in_words(marketer_client, audience, marketer):
    with acting_as(user_actor(marketer)):
        audience_services.audience_update(
            audience=audience,
            name="VIP",
            include=list(audience.inclusion_segments.all()),
            exclude=[],
            user=marketer,
        )
    body = marketer_client.get(history_url(audience)).content.decode()
    assert body.index("removed Unsubscribed 90d") < body.index('badge-green">Created')
    assert "marketer" in body and "Restore this targeting" in body
    detail = marketer_client.get(reverse("audiences:detail", args=["email", audience.pk]))
    assert history_url(audience) in detail.content.decode()


@pytest.mark.parametrize("size", [3, 30])
def test_history_tab_runs_a_fixed_number_of_queries(
    marketer_client, audience, size, django_assert_num_queries
):
    save(audience, size)
    marketer_client.get(history_url(audience))  # the session is read once
    # session, user, channel, audience, two for the people, count, page, permissions, nav
    with django_assert_num_queries(11):
        response = marketer_client.get(history_url(audience))
    assert response.content.decode().count('class="history-entry"') == min(size + 1, 50)


def test_history_filters_by_person_and_kind_and_answers_htmx(
    marketer_client, audience, htmx_headers
):
    other = make_user("other")
    save(audience, 2, user=other)
    with acting_as(user_actor(other)):
        save(audience, 1, user=other)
    response = marketer_client.get(history_url(audience), {"person": "other"}, headers=htmx_headers)
    body = response.content.decode()
    assert "<html" not in body and body.count('class="history-entry"') == 1
    assert response["Vary"].find("HX-Request") >= 0
    body = marketer_client.get(history_url(audience), {"kind": "field:exclusions"}).content
    assert body.decode().count('class="history-entry"') == 1  # the creation
    body = marketer_client.get(history_url(audience), {"kind": "created"}).content.decode()
    assert body.count('class="history-entry"') == 1 and "Created" in body


def test_viewer_reads_history_but_cannot_restore(viewer_client, audience):
    first = Change.objects.get(object_id=audience.pk)
    save(audience, 1)
    response = viewer_client.get(history_url(audience))
    assert response.status_code == 200 and "Restore this targeting" not in response.content.decode()
    restore = reverse("audiences:restore", args=["email", audience.pk])
    assert viewer_client.post(restore, {"change": first.pk}).status_code == 403
    assert Change.objects.filter(object_id=audience.pk).count() == 2


def test_restore_through_the_page(marketer_client, audience, repeat):
    first = Change.objects.get(object_id=audience.pk)
    audience_services.audience_update(audience=audience, name="VIP", include=[repeat])
    restore = reverse("audiences:restore", args=["email", audience.pk])
    response = marketer_client.post(restore, {"change": first.pk, "version": 2}, follow=True)
    assert "Restored the targeting of “VIP”." in response.content.decode()
    assert [s.name for s in audience.inclusion_segments.all()] == ["VIP"]
    # A stale page (an older version) restores nothing.
    response = marketer_client.post(restore, {"change": first.pk, "version": 2}, follow=True)
    assert "Someone saved this audience meanwhile" in response.content.decode()


def test_refused_restore_says_which_segments(marketer_client, audience, unsub):
    first = Change.objects.get(object_id=audience.pk)
    audience_services.audience_update(
        audience=audience, name="VIP", include=list(audience.inclusion_segments.all())
    )
    from segments.services import segment_delete

    segment_delete(segment=unsub)
    restore = reverse("audiences:restore", args=["email", audience.pk])
    body = marketer_client.post(restore, {"change": first.pk}, follow=True).content.decode()
    assert "“Unsubscribed 90d” no longer exists." in body


def test_a_deleted_audience_keeps_its_history(viewer_client, audience):
    pk = audience.pk
    audience_services.audience_delete(audience=audience)
    response = viewer_client.get(reverse("audiences:history", args=["email", pk]))
    body = response.content.decode()
    assert response.status_code == 200 and "deleted" in body and "VIP" in body
    assert viewer_client.get(reverse("audiences:history", args=["sms", pk])).status_code == 404


def test_old_values_are_escaped(viewer_client, email):
    segment = make_segment(email, name="Plain")
    from segments.services import segment_update

    segment_update(segment=segment, name=XSS, external_id="", link="")
    url = reverse("segments:history", args=["email", segment.pk])
    body = viewer_client.get(url).content.decode()
    assert XSS not in body and "&lt;script&gt;" in body


def test_campaign_history_and_the_audience_changed_notice(marketer_client, audience, repeat):
    campaign = campaign_services.campaign_create(
        user=None,
        channel=audience.channel,
        name="Black Friday",
        audience=audience,
        inclusion_ids=[s.pk for s in audience.inclusion_segments.all()],
    )
    audience_services.audience_update(audience=audience, name="VIP", include=[repeat])
    body = marketer_client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    since = f"{history_url(audience)}?since=1"
    assert since in body
    body = marketer_client.get(since).content.decode()
    assert body.count('class="history-entry"') == 1 and "added Repeat buyers" in body
    body = marketer_client.get(reverse("campaigns:history", args=[campaign.pk])).content.decode()
    assert "Audience applied: VIP" in body


def test_campaign_restore(marketer_client, email, vip, repeat):
    campaign = campaign_services.campaign_create(
        user=None, channel=email, name="C", inclusion_ids=[vip.pk]
    )
    first = Change.objects.get(object_type="campaign", object_id=campaign.pk)
    campaign_services.campaign_update(
        campaign=campaign,
        user=None,
        expected_version=None,
        channel=email,
        name="C",
        status="draft",
        send_at=None,
        notes="",
        link="",
        audience=None,
        inclusion_ids=[repeat.pk],
        exclusion_ids=[],
    )
    url = reverse("campaigns:restore", args=[campaign.pk])
    marketer_client.post(url, {"change": first.pk, "version": 2})
    campaign.refresh_from_db()
    assert [s.name for s in campaign.inclusion_segments.all()] == ["VIP"]
    assert campaign.version == 3


def test_upload_page_lists_the_segments_it_changed(viewer_client, email, marketer):
    make_segment(email, name="Old", external_id="a")
    upload = Upload.objects.create(
        channel=email, created_by=marketer, file_name="file.csv", status=Upload.Status.DONE
    )
    actor = run_actor(kind="upload", run_id=upload.pk, label=f"Upload #{upload.pk} (file.csv)")
    with acting_as(actor):
        segment_bulk_upsert(
            channel=email,
            rows=[SegmentRow(name="New", external_id="a"), SegmentRow(name="Fresh")],
            source="csv",
        )
    url = reverse("uploads:detail", args=[upload.pk])
    body = viewer_client.get(url).content.decode()
    assert "Segments this import changed" in body
    assert "Name: Old → New" in body and "Fresh" in body
    body = viewer_client.get(url, {"outcome": "created"}).content.decode()
    assert "Fresh" in body and "Name: Old → New" not in body


def test_sync_run_page_lists_the_segments_it_changed(viewer_client, email):
    run = SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
    make_segment(email, name="Gone", external_id="g", source="klaviyo")
    with acting_as(run_actor(kind="sync", run_id=run.pk, label=f"Klaviyo sync #{run.pk}")):
        segment_bulk_upsert(
            channel=email,
            rows=[SegmentRow(name="Hello", external_id="h")],
            source="klaviyo",
            keep_inactive=True,
            mark_missing=True,
            mark_synced=True,
        )
    body = viewer_client.get(reverse("klaviyo:run-detail", args=[run.pk])).content.decode()
    assert "Segments this sync changed" in body
    assert "Marked not in Klaviyo" in body and "Hello" in body


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def test_activity_is_for_admins_with_filters_and_csv(admin_client, marketer_client, audience):
    assert marketer_client.get(reverse("activity")).status_code == 403
    save(audience, 1)
    body = admin_client.get(reverse("activity")).content.decode()
    assert body.count('class="history-entry"') == 2 and "Audience “VIP”" in body
    assert f'href="{history_url(audience)}"' in body
    body = admin_client.get(reverse("activity"), {"person": "marketer"}).content.decode()
    assert body.count('class="history-entry"') == 1
    Change.objects.filter(action="created").update(at=timezone.now() - timezone.timedelta(days=9))
    body = admin_client.get(reverse("activity"), {"period": "week"}).content.decode()
    assert body.count('class="history-entry"') == 1
    response = admin_client.get(reverse("activity_export"), {"period": "all"})
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("When,Who,What,Name")
    assert len(text.splitlines()) == 3 and "Estimated volume: (none) → 1,000" in text


def test_csv_export_neutralises_formulas(admin_client, email):
    from segments.services import segment_create

    segment_create(channel=email, name="=HYPERLINK(1)")
    text = b"".join(admin_client.get(reverse("activity_export")).streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


def test_history_is_read_only_in_the_admin(admin_client, audience):
    change = Change.objects.get(object_id=audience.pk)
    url = reverse("admin:history_change_change", args=[change.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"object_name": "x"}).status_code == 403
    delete = reverse("admin:history_change_delete", args=[change.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Change.objects.filter(pk=change.pk, object_name="VIP").exists()


def test_prune_keeps_everything_by_default_and_prunes_older_entries(audience, settings, capsys):
    save(audience, 1)
    Change.objects.filter(action="created").update(at=timezone.now() - timezone.timedelta(days=40))
    call_command("prune_history")
    assert "kept forever" in capsys.readouterr().out and Change.objects.count() == 2
    settings.HISTORY_RETENTION_DAYS = 30
    call_command("prune_history")
    assert "Deleted 1 history entry." in capsys.readouterr().out
    assert list(Change.objects.values_list("action", flat=True)) == ["updated"]


def test_admin_changes_are_recorded_as_through_the_admin(admin_client, email, marketer):
    campaign = campaign_services.campaign_create(user=marketer, channel=email, name="C")
    pk = campaign.pk
    response = admin_client.post(
        reverse("admin:campaigns_campaign_delete", args=[pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    deleted = Change.objects.get(object_id=pk, action="deleted")
    assert deleted.who == "boss (admin)"


@pytest.mark.parametrize("size", [3, 30])
def test_activity_runs_a_fixed_number_of_queries(
    admin_client, audience, size, django_assert_num_queries
):
    save(audience, size)
    admin_client.get(reverse("activity"))
    with django_assert_num_queries(8):
        response = admin_client.get(reverse("activity"))
    assert response.content.decode().count('class="history-entry"') == size + 1
