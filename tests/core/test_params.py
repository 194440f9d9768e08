"""The ground floor's readers of request values: integers, months and text."""

import pytest

from access_audience.params import (
    DB_INT_MAX,
    BoundedIntegerField,
    clean_search,
    parse_id,
    parse_int,
    parse_month,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" -3 ", -3),
        (str(DB_INT_MAX), DB_INT_MAX),
        (str(DB_INT_MAX + 1), None),
        ("99999999999999999999", None),
        ("1_000", None),  # int() reads it; nobody types it
        ("١٢", None),  # Arabic-Indic digits: int() reads them too
        ("1e3", None),
        ("", None),
        (None, None),
        (["1"], None),
        (True, None),
    ],
)
def test_parse_int_reads_only_plain_numbers_the_database_can_hold(value, expected):
    assert parse_int(value) == expected


def test_parse_id_is_positive():
    assert parse_id("0") is None and parse_id("-1") is None and parse_id("7") == 7


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12", (2026, 12)),
        ("2999-12", (2999, 12)),
        ("1900-01", (1900, 1)),
        ("3000-01", (2026, 1)),
        ("1899-12", (2026, 1)),
        ("9999-12", (2026, 1)),
        ("2026-13", (2026, 1)),
        ("2026-12-01", (2026, 1)),
        (None, (2026, 1)),
    ],
)
def test_parse_month_keeps_to_the_bounds(value, expected):
    assert parse_month(value, default=(2026, 1)) == expected


def test_clean_search_drops_control_characters_and_trims():
    assert clean_search(" v\x00i\tp\x1b\x9f ") == "vip"
    assert len(clean_search("x" * 500)) == 255


def test_bounded_integer_field_says_the_limit_in_words():
    field = BoundedIntegerField(min_value=0)
    with pytest.raises(Exception, match="no larger than 9,223,372,036,854,775,807"):
        field.clean("99999999999999999999")
    with pytest.raises(Exception, match="no smaller than 0"):
        field.clean("-5")
    assert field.clean("42") == 42
