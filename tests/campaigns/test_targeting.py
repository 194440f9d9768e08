from hypothesis import given
from hypothesis import strategies as st

from campaigns.targeting import Definition, apply_changes, changes, reapply

ids = st.frozensets(st.integers(min_value=1, max_value=30), max_size=12)


def test_changes_name_what_was_added_and_removed():
    base = Definition.of({1, 2}, {3})
    final = Definition.of({1, 4}, {3, 5})
    delta = changes(base, final)
    assert delta.added_inclusions == {4}
    assert delta.added_exclusions == {5}
    assert delta.removed_inclusions == {2}
    assert delta.removed_exclusions == frozenset()
    assert delta.count == 3


def test_reapply_keeps_the_campaigns_own_additions_and_removals():
    old_base = Definition.of({1, 2}, {3})
    final = Definition.of({1, 4}, {3, 5})  # removed 2, added 4 and exclusion 5
    new_base = Definition.of({1, 2, 6}, {7})  # audience gained 6 and swapped exclusion 3 → 7
    assert reapply(old_base, new_base, final) == Definition.of({1, 4, 6}, {5, 7})


def test_a_campaign_exclusion_beats_a_new_base_inclusion():
    old_base = Definition.of({1}, set())
    final = Definition.of({1}, {2})
    new_base = Definition.of({1, 2}, set())
    assert reapply(old_base, new_base, final) == Definition.of({1}, {2})


@given(ids, ids, ids, ids)
def test_base_plus_changes_is_always_the_final_targeting(bi, be, fi, fe):
    base = Definition(bi, be - bi)
    final = Definition(fi, fe - fi)
    assert apply_changes(base, changes(base, final)) == final


@given(ids, ids, ids, ids, ids, ids)
def test_reapply_never_includes_and_excludes_the_same_segment(a, b, c, d, e, f):
    result = reapply(Definition(a, b - a), Definition(c, d - c), Definition(e, f - e))
    assert not (result.inclusion & result.exclusion)


@given(ids, ids, ids, ids)
def test_reapplying_the_same_base_changes_nothing(bi, be, fi, fe):
    base = Definition(bi, be - bi)
    final = Definition(fi, fe - fi)
    assert reapply(base, base, final) == final
