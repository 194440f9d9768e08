"""`manage.py klaviyo_push`: the same send from the command line, with exit codes."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.klaviyo.models import CampaignPush
from tests.factories import ensure_default_channels, make_campaign, make_segment
from tests.klaviyo.conftest import SENTINEL_KEY
from tests.klaviyo.test_push import klaviyo_segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(email, connected):
    vip = klaviyo_segment(email, connected, 1, name="VIP")
    return make_campaign(email, name="Winter sale", include=[vip])


def run(*args) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("klaviyo_push", *[str(a) for a in args], stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def test_send_then_update(campaign, connected, email):
    code, out = run(campaign.pk)
    assert code == 0, out
    assert "Done: Klaviyo campaign" in out and "Klaviyo estimates 1,000 recipients" in out
    push = CampaignPush.objects.get()
    assert push.pushed_by_command and push.pushed_by_label == "manage.py klaviyo_push"
    code, out = run(campaign.pk)
    assert code == 7 and "use Update in Klaviyo" in out
    campaign.inclusion_segments.add(klaviyo_segment(email, connected, 2))
    code, out = run(campaign.pk, "--update")
    assert code == 0, out
    assert len(connected.campaigns[push.klaviyo_campaign_id]["included"]) == 2


def test_dry_run_prints_and_calls_nothing(campaign, connected):
    code, out = run(campaign.pk, "--dry-run")
    assert code == 0
    assert "would create a draft" in out and "Winter sale [AA-" in out
    assert connected.campaign_requests() == [] and not CampaignPush.objects.exists()


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        (lambda c, f: c.inclusion_segments.add(make_segment(c.channel, name="Typed")), 7, "Typed"),
        (lambda c, f: setattr(f, "api_key", "pk_other_1234567890"), 4, "rejected"),
        (lambda c, f: f.scopes.discard("campaigns:write"), 4, "campaigns:write"),
        (lambda c, f: f.fault("503", kind="campaign", times=None), 5, "server error"),
        (lambda c, f: f.stop(), 5, "could not be reached"),
    ],
    ids=["precondition", "key", "scope", "klaviyo-down", "unreachable"],
)
def test_exit_codes(campaign, connected, setup, code, words):
    setup(campaign, connected)
    got, out = run(campaign.pk)
    assert got == code, out
    assert words in out and SENTINEL_KEY not in out


def test_no_such_campaign_and_no_key(db, klaviyo_settings):
    assert run(999)[0] == 2
    campaign = make_campaign(ensure_default_channels()["email"])
    assert run(campaign.pk)[0] == 3


def test_the_help_names_the_precondition_exit_code():
    from integrations.klaviyo.management.commands.klaviyo_push import Command

    assert "7 refused by a precondition" in Command.help
