import pytest
from django.core.exceptions import ValidationError

from audiences.models import Audience
from audiences.selectors import audience_copy_name
from audiences.services import (
    AudienceChanged,
    audience_create,
    audience_delete,
    audience_update,
)
from campaigns.models import Campaign
from tests.factories import make_audience, make_campaign, make_segment

pytestmark = pytest.mark.django_db


def messages_of(exc: pytest.ExceptionInfo, key: str) -> str:
    return " ".join(exc.value.message_dict[key])


def test_create_keeps_the_definition(email, vip, repeat, unsub, marketer):
    audience = audience_create(
        channel=email,
        name="  VIP Customers ",
        include=[vip, repeat],
        exclude=[unsub],
        estimated_volume=12500,
        user=marketer,
    )
    audience.refresh_from_db()
    assert audience.name == "VIP Customers"
    assert set(audience.inclusion_segments.all()) == {vip, repeat}
    assert list(audience.exclusion_segments.all()) == [unsub]
    assert audience.estimated_volume == 12500
    assert audience.created_by == marketer and audience.updated_by == marketer
    assert audience.version == 1


def test_at_least_one_inclusion(email, unsub):
    with pytest.raises(ValidationError) as exc:
        audience_create(channel=email, name="Nobody", include=[], exclude=[unsub])
    assert "at least one segment to include" in messages_of(exc, "segments")
    assert not Audience.objects.exists()


def test_a_segment_cannot_be_included_and_excluded(email, vip, repeat):
    with pytest.raises(ValidationError) as exc:
        audience_create(channel=email, name="Odd", include=[vip, repeat], exclude=[vip])
    assert "both included and excluded: VIP" in messages_of(exc, "segments")


def test_segments_of_another_channel_are_refused(email, vip, sms_segment):
    with pytest.raises(ValidationError) as exc:
        audience_create(channel=email, name="Mixed", include=[vip], exclude=[sms_segment.pk])
    assert "Only segments of the Email channel" in messages_of(exc, "segments")
    assert "SMS VIP" in messages_of(exc, "segments")
    assert not Audience.objects.exists()


def test_update_cannot_move_in_a_segment_of_another_channel(email, vip, sms_segment):
    audience = make_audience(email, name="A", include=[vip])
    with pytest.raises(ValidationError):
        audience_update(audience=audience, name="A", include=[vip, sms_segment], exclude=[])
    assert list(audience.inclusion_segments.all()) == [vip]


def test_inactive_segments_cannot_be_newly_added(email, vip):
    old = make_segment(email, name="Legacy", is_active=False)
    with pytest.raises(ValidationError) as exc:
        audience_create(channel=email, name="A", include=[vip], exclude=[old])
    assert "Inactive segments cannot be added: Legacy" in messages_of(exc, "segments")
    audience = make_audience(email, name="B", include=[vip])
    with pytest.raises(ValidationError):
        audience_update(audience=audience, name="B", include=[vip, old], exclude=[])


def test_a_segment_made_inactive_later_stays(email, vip, repeat):
    audience = audience_create(channel=email, name="A", include=[vip, repeat])
    repeat.is_active = False
    repeat.save()
    audience_update(audience=audience, name="A renamed", include=[vip, repeat], exclude=[])
    audience.refresh_from_db()
    assert audience.name == "A renamed"
    assert set(audience.inclusion_segments.all()) == {vip, repeat}
    # Once removed it cannot come back while inactive.
    audience_update(audience=audience, name="A renamed", include=[vip], exclude=[])
    with pytest.raises(ValidationError):
        audience_update(audience=audience, name="A renamed", include=[vip, repeat], exclude=[])


@pytest.mark.parametrize("other", ["vip customers", "VIP CUSTOMERS", " VIP Customers"])
def test_names_are_unique_per_channel_ignoring_case(email, sms, vip, sms_segment, other):
    audience_create(channel=email, name="VIP Customers", include=[vip])
    with pytest.raises(ValidationError) as exc:
        audience_create(channel=email, name=other, include=[vip])
    assert "already has an audience named" in messages_of(exc, "name")
    # Another channel may use the same name.
    audience_create(channel=sms, name=other, include=[sms_segment])


def test_rename_onto_a_taken_name_is_refused(email, vip):
    audience_create(channel=email, name="One", include=[vip])
    two = audience_create(channel=email, name="Two", include=[vip])
    with pytest.raises(ValidationError) as exc:
        audience_update(audience=two, name="ONE", include=[vip], exclude=[])
    assert "name" in exc.value.message_dict
    # Changing only the case of its own name is fine.
    audience_update(audience=two, name="TWO", include=[vip], exclude=[])


def test_a_name_race_becomes_a_form_error(email, vip, monkeypatch):
    """Two creates pass the name check together; the database constraint decides."""
    import audiences.services as services

    audience_create(channel=email, name="Race", include=[vip])
    monkeypatch.setattr(services, "_check_name_free", lambda **kwargs: None)
    with pytest.raises(ValidationError) as exc:
        audience_create(channel=email, name="race", include=[vip])
    assert "saved just now" in messages_of(exc, "name")
    assert Audience.objects.count() == 1


def test_negative_volume_is_refused(email, vip):
    with pytest.raises(ValidationError) as exc:
        audience_create(channel=email, name="A", include=[vip], estimated_volume=-1)
    assert "negative" in messages_of(exc, "estimated_volume")


def test_update_bumps_the_version_and_refuses_a_stale_one(email, vip, repeat, marketer):
    audience = audience_create(channel=email, name="A", include=[vip])
    stale = Audience.objects.get(pk=audience.pk)
    audience_update(audience=audience, version=1, name="A", include=[vip, repeat], user=marketer)
    assert Audience.objects.get(pk=audience.pk).version == 2
    with pytest.raises(AudienceChanged) as exc:
        audience_update(audience=stale, version=1, name="Mine", include=[vip], exclude=[])
    assert exc.value.current.version == 2
    assert "changed by someone else meanwhile" in str(exc.value)
    audience.refresh_from_db()
    assert audience.name == "A" and audience.inclusion_segments.count() == 2


def test_copy_names_are_numbered_when_taken(email, vip, repeat, unsub):
    original = audience_create(channel=email, name="VIP", include=[vip, repeat], exclude=[unsub])
    assert audience_copy_name(original) == "VIP (copy)"
    audience_create(channel=email, name="VIP (copy)", include=[vip])
    audience_create(channel=email, name="VIP (copy 2)", include=[vip])
    assert audience_copy_name(original) == "VIP (copy 3)"
    # A case-different existing name counts as taken.
    other = audience_create(channel=email, name="Promo", include=[vip])
    audience_create(channel=email, name="PROMO (COPY)", include=[vip])
    assert audience_copy_name(other) == "Promo (copy 2)"


def test_copy_name_of_a_long_name_fits(email, vip):
    original = audience_create(channel=email, name="x" * 255, include=[vip])
    name = audience_copy_name(original)
    assert len(name) <= 255 and name.endswith("(copy)")


def test_delete_leaves_campaigns_their_targeting(email, vip, unsub):
    audience = audience_create(channel=email, name="A", include=[vip], exclude=[unsub])
    campaign = make_campaign(
        email,
        include=[vip],
        exclude=[unsub],
        audience=audience,
        audience_snapshot={"audience_id": audience.pk, "audience_name": "A"},
    )
    audience_delete(audience=audience)
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.audience is None
    assert campaign.audience_snapshot["audience_name"] == "A"
    assert list(campaign.inclusion_segments.all()) == [vip]
    assert list(campaign.exclusion_segments.all()) == [unsub]
