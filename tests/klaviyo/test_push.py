"""Send to Klaviyo: a campaign becomes a Klaviyo draft, stays in step, and brings back
Klaviyo's recipient estimate. Against the fake Klaviyo, a real HTTP server."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from campaigns.selectors import campaign_list
from integrations.klaviyo import background, push, tasks
from integrations.klaviyo.models import CampaignPush
from tests.factories import make_campaign, make_segment
from tests.klaviyo.conftest import SENTINEL_KEY
from tests.klaviyo_fake import object_id

pytestmark = pytest.mark.django_db
CREATE, UPDATE = CampaignPush.Action.CREATE, CampaignPush.Action.UPDATE
SEND_AT = (timezone.now() + timedelta(days=14)).replace(hour=10, minute=0, second=0, microsecond=0)


def klaviyo_segment(channel, fake, n: int, *, kind: str = "segment", **fields):
    oid = object_id(kind, n)
    name = fields.pop("name", f"{kind.title()} {n}")
    fake.set(kind, oid, name)
    return make_segment(channel, name=name, external_id=oid, kind=kind, source="klaviyo", **fields)


@pytest.fixture
def targeting(email, connected):
    fake = connected
    vip = klaviyo_segment(email, fake, 1, name="VIP")
    buyers = klaviyo_segment(email, fake, 2, kind="list", name="Buyers")
    unsub = klaviyo_segment(email, fake, 3, name="Unsubscribed")
    return {"vip": vip, "buyers": buyers, "unsub": unsub}


@pytest.fixture
def campaign(email, targeting, marketer):
    return make_campaign(
        email,
        name="December VIP newsletter",
        include=[targeting["vip"], targeting["buyers"]],
        exclude=[targeting["unsub"]],
        send_at=SEND_AT,
    )


def send(campaign, user=None, action=CREATE):
    return background.push_start(campaign=campaign, user=user, action=action)


def test_send_creates_one_draft_with_the_targeting_and_counts_its_recipients(
    campaign, connected, targeting, marketer
):
    fake = connected
    fake.recipients[targeting["vip"].external_id] = 48_000
    result = send(campaign, marketer)
    assert result.state == CampaignPush.State.DONE, result.error
    [(klaviyo_id, there)] = fake.campaigns.items()
    assert there["name"] == f"December VIP newsletter {result.marker}"
    assert there["channel"] == "email" and there["status"] == "Draft"
    assert sorted(there["included"]) == sorted(
        [targeting["vip"].external_id, targeting["buyers"].external_id]
    )
    assert there["excluded"] == [targeting["unsub"].external_id]
    assert there["send_strategy"] == {
        "method": "static",
        "datetime": SEND_AT.astimezone(UTC).isoformat(),
        "options": {"is_local": False},
    }
    assert result.klaviyo_campaign_id == klaviyo_id and result.klaviyo_status == "Draft"
    assert result.pushed_by == marketer and result.pushed_at is not None
    assert result.estimate_status == "done"
    assert result.estimate_count == 48_000 + 1000 - 500  # the fake's arithmetic
    # Nothing that sends or schedules was ever called.
    assert not [r for r in fake.requests if "send-job" in r["path"] or "schedule" in r["path"]]


def test_an_sms_channel_makes_an_sms_draft(sms, connected):
    segment = klaviyo_segment(sms, connected, 7)
    campaign = make_campaign(sms, name="Flash sale", include=[segment])
    assert send(campaign).state == CampaignPush.State.DONE
    [there] = connected.campaigns.values()
    assert there["channel"] == "sms"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c, s: c.inclusion_segments.add(make_segment(c.channel, name="Typed")), "“Typed”"),
        (
            lambda c, s: (
                type(s["vip"])
                .objects.filter(pk=s["vip"].pk)
                .update(klaviyo_missing_since=timezone.now())
            ),
            "no longer has these segments",
        ),
        (lambda c, s: c.inclusion_segments.clear(), "at least one inclusion"),
        (
            lambda c, s: c.exclusion_segments.add(
                *[make_segment(c.channel, external_id=f"X{i}", kind="list") for i in range(15)]
            ),
            "at most 15",
        ),
        (lambda c, s: type(c).objects.filter(pk=c.pk).update(name="Two\nlines"), "line break"),
        (lambda c, s: type(c).objects.filter(pk=c.pk).update(name="x" * 250), "Shorten it"),
        (
            lambda c, s: (
                type(c)
                .objects.filter(pk=c.pk)
                .update(send_at=timezone.now() - timedelta(minutes=1))
            ),
            "send time is in the past",
        ),
    ],
    ids=["manual-segment", "not-in-klaviyo", "no-inclusion", "too-many", "newline", "long", "past"],
)
def test_preconditions_refuse_in_words_before_calling_klaviyo(
    campaign, connected, targeting, change, words
):
    change(campaign, targeting)
    with pytest.raises(push.PushRefused) as refused:
        send(campaign)
    assert words in str(refused.value)
    assert connected.campaign_requests() == []
    assert not CampaignPush.objects.exists()


def test_a_channel_without_a_message_type_cannot_send(meta, connected):
    segment = klaviyo_segment(meta, connected, 9)
    campaign = make_campaign(meta, include=[segment])
    with pytest.raises(push.PushRefused, match="does not send with Klaviyo"):
        send(campaign)


def test_a_missing_campaign_scope_found_by_the_last_check_refuses(campaign, connected):
    from integrations.klaviyo import services

    connected.scopes.discard("campaigns:write")
    assert not services.klaviyo_connection_test().ok
    with pytest.raises(push.PushRefused, match="lacks the campaigns:write scope"):
        send(campaign)


def test_a_create_that_timed_out_is_found_again_not_made_twice(campaign, connected, settings):
    settings.KLAVIYO_TIMEOUT = (1.0, 0.2)
    connected.fault("timeout_after_create", kind="campaign", op="create", seconds=0.5)
    first = send(campaign)
    assert first.state == CampaignPush.State.FAILED
    assert "did not answer in time" in first.error
    assert "found again" in first.error
    assert first.pushed_at is None and first.klaviyo_campaign_id == ""
    assert len(connected.campaigns) == 1  # Klaviyo made it all the same
    second = send(campaign)
    assert second.state == CampaignPush.State.DONE, second.error
    assert len(connected.campaigns) == 1
    assert second.klaviyo_campaign_id == next(iter(connected.campaigns))
    creates = [r for r in connected.campaign_requests("POST") if r["path"] == "/api/campaigns"]
    assert len(creates) == 1


def test_a_failure_after_the_draft_was_made_is_explained_and_the_next_try_completes_it(
    campaign, connected, targeting
):
    first = send(campaign)
    klaviyo_id = first.klaviyo_campaign_id
    # The draft is there but an earlier audience: as if the try had stopped half way.
    CampaignPush.objects.filter(pk=first.pk).update(
        state=CampaignPush.State.FAILED, pushed_at=None, error="stopped"
    )
    connected.campaigns[klaviyo_id]["included"] = [targeting["vip"].external_id]
    second = send(campaign)
    assert second.state == CampaignPush.State.DONE, second.error
    assert len(connected.campaigns) == 1
    assert sorted(connected.campaigns[klaviyo_id]["included"]) == sorted(
        [targeting["vip"].external_id, targeting["buyers"].external_id]
    )


def test_update_changes_the_drafts_audience_and_the_list_filter_follows(
    campaign, connected, targeting, email
):
    first = send(campaign)
    other = make_campaign(email, name="Never sent", include=[targeting["vip"]])

    def filtered(value):
        return set(campaign_list(klaviyo=value).values_list("pk", flat=True))

    assert filtered("in") == {campaign.pk} and filtered("not") == {other.pk}
    assert filtered("out") == set()
    campaign.inclusion_segments.remove(targeting["buyers"])
    assert filtered("out") == {campaign.pk} and filtered("in") == set()
    with pytest.raises(push.PushRefused, match="use Update in Klaviyo"):
        send(campaign)
    updated = send(campaign, action=UPDATE)
    assert updated.state == CampaignPush.State.DONE, updated.error
    assert connected.campaigns[first.klaviyo_campaign_id]["included"] == [
        targeting["vip"].external_id
    ]
    assert filtered("in") == {campaign.pk} and filtered("out") == set()
    assert len(connected.campaigns) == 1


def test_updates_are_refused_once_klaviyo_says_scheduled(campaign, connected, targeting):
    first = send(campaign)
    connected.campaign_set_status(first.klaviyo_campaign_id, "Scheduled")
    campaign.exclusion_segments.clear()
    result = send(campaign, action=UPDATE)
    assert result.state == CampaignPush.State.FAILED
    assert "Klaviyo says the campaign is Scheduled" in result.error
    assert result.klaviyo_status == "Scheduled"
    assert connected.campaigns[first.klaviyo_campaign_id]["excluded"] == [
        targeting["unsub"].external_id
    ]
    with pytest.raises(push.PushRefused, match="is Scheduled"):
        send(campaign, action=UPDATE)


def test_a_campaign_deleted_in_klaviyo_is_noticed_and_sent_again_as_a_new_draft(
    campaign, connected
):
    first = send(campaign)
    connected.campaign_delete(first.klaviyo_campaign_id)
    refreshed = background.push_refresh(campaign=campaign)
    assert refreshed.klaviyo_deleted_at is not None and not refreshed.in_klaviyo
    again = send(campaign)
    assert again.state == CampaignPush.State.DONE
    assert again.klaviyo_campaign_id != first.klaviyo_campaign_id
    assert list(connected.campaigns) == [again.klaviyo_campaign_id]


def test_refresh_reads_the_status_again(campaign, connected):
    first = send(campaign)
    connected.campaign_set_status(first.klaviyo_campaign_id, "Sent")
    assert background.push_refresh(campaign=campaign).klaviyo_status == "Sent"


FAULTS = [
    ("401", {}, "Klaviyo rejected the API key", "key"),
    ("403", {}, "lacks the campaigns:write scope", "key"),
    (
        "400",
        {"detail": "Name contains characters we do not accept."},
        "do not accept (name)",
        "klaviyo",
    ),
    ("409", {}, "Another change to this campaign is in progress", "klaviyo"),
    ("429", {"times": None, "retry_after": 500}, "try again in 500 seconds", "klaviyo"),
    ("429_bare", {"times": None}, "throttling", "klaviyo"),
    ("500", {}, "server error (HTTP 500)", "klaviyo"),
    ("503", {"times": None}, "server error (HTTP 503)", "klaviyo"),
    ("malformed_json", {}, "not valid JSON", "klaviyo"),
    ("html_403", {}, "web page instead of an API answer", "klaviyo"),
]


@pytest.mark.parametrize(("fault", "params", "words", "kind"), FAULTS, ids=[f[0] for f in FAULTS])
def test_faults_on_create_are_explained_and_nothing_is_recorded_as_sent(
    campaign, connected, fault, params, words, kind, caplog
):
    params = {"times": 1, **params}
    connected.fault(fault, kind="campaign", op="create", **params)
    result = send(campaign)
    assert result.state == CampaignPush.State.FAILED
    assert words in result.error
    assert result.error_kind == kind
    assert result.pushed_at is None and not result.in_klaviyo
    assert SENTINEL_KEY not in result.error
    assert SENTINEL_KEY not in caplog.text


def test_a_404_on_update_says_it_was_deleted(campaign, connected):
    send(campaign)
    connected.fault("404", kind="campaign", op="get")
    result = send(campaign, action=UPDATE)
    assert result.state == CampaignPush.State.FAILED
    assert "deleted in Klaviyo" in result.error and result.klaviyo_deleted_at is not None


def test_a_failed_update_keeps_what_klaviyo_has(campaign, connected, targeting):
    first = send(campaign)
    campaign.inclusion_segments.remove(targeting["buyers"])
    connected.fault("500", kind="campaign", op="patch", times=None)
    result = send(campaign, action=UPDATE)
    assert result.state == CampaignPush.State.FAILED
    assert "nothing was changed there" in result.error
    assert len(connected.campaigns[first.klaviyo_campaign_id]["included"]) == 2
    assert result.pushed_at == first.pushed_at  # still the first send's record


def test_a_key_deleted_before_sending_is_refused(campaign, connected):
    from integrations.klaviyo import services

    services.klaviyo_key_delete(user=None)
    with pytest.raises(services.NotConnected):
        send(campaign)


def test_a_push_already_running_refuses_a_second_press(campaign, connected):
    recorded = push.campaign_push_start(campaign=campaign, user=None, action=CREATE)
    with pytest.raises(push.PushAlreadyRunning):
        push.campaign_push_start(campaign=campaign, user=None, action=CREATE)
    # Its worker stopped: after the stale time, the next press takes it over.
    CampaignPush.objects.filter(pk=recorded.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    again = send(campaign)
    assert again.state == CampaignPush.State.DONE and len(connected.campaigns) == 1


def test_the_estimate_is_polled_by_re_enqueueing_never_by_sleeping(
    campaign, connected, settings, klaviyo_waits
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    connected.estimate_polls = 2
    recorded = push.campaign_push_start(campaign=campaign, user=None, action=CREATE)
    tasks.klaviyo_push_task.call(recorded.pk)
    backend = tasks.klaviyo_estimate_task.get_backend()
    [queued] = backend.results
    assert queued.task.run_after > timezone.now() + timedelta(seconds=2)
    assert tasks.klaviyo_estimate_task.call(recorded.pk) == "counting"
    assert backend.results[-1].task.run_after > timezone.now() + timedelta(seconds=4)
    assert tasks.klaviyo_estimate_task.call(recorded.pk) == "done"
    recorded.refresh_from_db()
    assert recorded.estimate_status == "done" and recorded.estimate_count == 1500
    assert klaviyo_waits == []


def test_an_estimate_that_never_finishes_is_given_up_in_words(campaign, connected):
    connected.estimate_polls = 10_000
    result = send(campaign)  # the immediate backend looks again at once, a capped number of times
    result.refresh_from_db()
    assert result.estimate_status == "failed"
    assert "press Refresh" in result.estimate_error


def test_the_fake_enforces_klaviyos_rules_as_the_client_reports_them(connected, klaviyo_settings):
    from integrations.klaviyo.client import KlaviyoClient, KlaviyoNotFound, KlaviyoRequestError

    ids = [object_id("segment", i) for i in range(16)]
    for oid in ids:
        connected.set("segment", oid, oid)
    with KlaviyoClient(SENTINEL_KEY) as client:
        with pytest.raises(KlaviyoRequestError, match="at most 15 lists and segments"):
            client.campaign_create(
                name="Big", channel="email", included=ids, excluded=[], send_at=None
            )
        made = client.campaign_create(
            name="Small [AA-x]", channel="email", included=ids[:2], excluded=[], send_at=None
        )
        assert client.campaign_find(marker="[AA-x]", channel="email") == made
        assert client.campaign_find(marker="[AA-x]", channel="sms") is None
        connected.campaign_set_status(made.id, "Sent")
        with pytest.raises(KlaviyoRequestError, match="cannot be changed"):
            client.campaign_set_audiences(made.id, included=ids[:1], excluded=[])
        connected.campaign_delete(made.id)
        with pytest.raises(KlaviyoNotFound, match="deleted there"):
            client.campaign_get(made.id)
        scopes = {c.scope: c.works for c in client.check_scopes()}
    assert scopes == dict.fromkeys(
        ["segments:read", "lists:read", "campaigns:read", "campaigns:write"], True
    )


def test_cleanup_fails_a_send_whose_worker_stopped(campaign, connected, capsys):
    from django.core.management import call_command

    recorded = push.campaign_push_start(campaign=campaign, user=None, action=CREATE)
    call_command("cleanup")
    recorded.refresh_from_db()
    assert recorded.state == CampaignPush.State.QUEUED  # not silent long enough yet
    CampaignPush.objects.filter(pk=recorded.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    capsys.readouterr()
    call_command("cleanup")
    assert "Failed 1 stopped send to Klaviyo." in capsys.readouterr().out
    recorded.refresh_from_db()
    assert recorded.state == CampaignPush.State.FAILED and "found, not made twice" in recorded.error


def test_each_send_and_update_is_in_the_campaigns_history_by_who_pressed(
    campaign, connected, targeting, marketer
):
    from history.models import Change
    from history.words import describe

    first = send(campaign, marketer)
    campaign.inclusion_segments.remove(targeting["buyers"])
    send(campaign, marketer, action=UPDATE)
    entries = Change.objects.filter(
        object_type=Change.ObjectType.CAMPAIGN, object_id=campaign.pk, fields__contains="klaviyo"
    ).order_by("pk")
    sent, updated = entries
    assert sent.user_id == updated.user_id == marketer.pk
    draft = first.klaviyo_campaign_id
    assert describe(sent) == [f"Klaviyo: (none) → draft {draft}, sent: 2 included, 1 excluded"]
    assert describe(updated) == [
        f"Klaviyo: draft {draft} → draft {draft}, audience updated: 1 included, 1 excluded"
    ]
