"""The segment rules shared by audiences, campaigns and the picker, each with one wording."""

import pytest

from segments.selection import MESSAGES, segment_selection_check
from segments.selectors import segments_by_id
from tests.factories import make_segment

pytestmark = pytest.mark.django_db


def check(channel, include=(), exclude=(), **options):
    ids = [s.pk if hasattr(s, "pk") else s for s in [*include, *exclude]]
    return segment_selection_check(
        channel=channel,
        include_ids=[s.pk if hasattr(s, "pk") else s for s in include],
        exclude_ids=[s.pk if hasattr(s, "pk") else s for s in exclude],
        segments=segments_by_id(ids=ids, channel=options.pop("read_channel", None)),
        **options,
    )


def messages(selection):
    return [e.messages[0] for e in selection.errors]


def test_a_valid_choice_returns_its_segments_in_order(email):
    a, b, c = (make_segment(email, name=n) for n in ("B", "A", "C"))
    selection = check(email, include=[a, b], exclude=[c], require_inclusion=True)
    assert selection.errors == []
    assert selection.include == [a, b] and selection.exclude == [c]


def test_each_rule_has_one_wording(email, sms):
    vip = make_segment(email, name="VIP")
    old = make_segment(email, name="Old", is_active=False)
    foreign = make_segment(sms, name="SMS VIP")
    selection = check(
        email, include=[], exclude=[vip, old, foreign, 999_999], require_inclusion=True
    )
    assert messages(selection) == [
        MESSAGES["deleted"],
        "Only segments of the Email channel can be used, not: SMS VIP.",
        "Inactive segments cannot be added: Old.",
        MESSAGES["no_inclusion"],
    ]
    both = check(email, include=[vip], exclude=[vip])
    assert messages(both) == ["A segment cannot be both included and excluded: VIP."]


def test_inactive_segments_already_chosen_may_stay(email):
    old = make_segment(email, name="Old", is_active=False)
    assert check(email, include=[old], keep_inactive_ids=[old.pk]).errors == []
    assert messages(check(email, include=[old])) == ["Inactive segments cannot be added: Old."]


def test_inclusion_is_needed_only_when_required(email):
    unsub = make_segment(email, name="Unsubscribed")
    assert check(email, exclude=[unsub]).errors == []
    assert messages(check(email, exclude=[unsub], require_inclusion=True)) == [
        "Choose at least one segment to include."
    ]


def test_read_in_channel_refuses_other_channels_without_naming_them(email, sms):
    foreign = make_segment(sms, name="SMS VIP")
    selection = check(email, include=[foreign], read_channel=email, read_in_channel=True)
    assert messages(selection) == ["Only segments of the Email channel can be used."]
    assert selection.include == []
