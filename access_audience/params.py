"""Values read from a request, bounded where they are parsed.

Integers are held to what the database can store (a number past it is not a number we have),
dates to the years the app shows, and text loses its control characters before it reaches the
search index or the ORM. A value outside the bounds is treated like any unreadable value: the
caller's default, or a form error in the user's words; never an OverflowError.
"""

import re
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError

# Every integer column is at most a signed 64-bit integer (ids are BigAutoField; counts and
# volumes are BigIntegerField or smaller), on SQLite and PostgreSQL alike.
DB_INT_MIN = -(2**63)
DB_INT_MAX = 2**63 - 1

# The dates a request may name: a campaign's send time, a list filter, the calendar's month.
# Python's own limits (years 1 to 9999) are too wide: a month's calendar or "the day after"
# steps outside them.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2999, 12, 31)

# C0 controls, DEL and the C1 controls; the first leaves tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_int(
    value: object,
    *,
    default: int | None = None,
    min_value: int = DB_INT_MIN,
    max_value: int = DB_INT_MAX,
) -> int | None:
    """The integer in a request value, or `default` when there is none within the bounds."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        # Digits only: int() would also read "1_000", "١٢" or a 4,300-digit string.
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
            return default
        number = int(text)
    if not min_value <= number <= max_value:
        return default
    return number


def parse_id(value: object) -> int | None:
    """A database id (a positive integer the database can hold) from a request value, or None."""
    return parse_int(value, min_value=1)


def strip_controls(value: str, *, keep_lines: bool = False) -> str:
    """The text without control characters (with `keep_lines`, tabs and line breaks stay)."""
    return (_CONTROL if keep_lines else _ANY_CONTROL).sub("", value)


def clean_search(value: object, *, max_length: int = 255) -> str:
    """A one-line search as typed: control characters removed, trimmed and capped."""
    return strip_controls(str(value or "")).strip()[:max_length]


def month_bounds() -> tuple[tuple[int, int], tuple[int, int]]:
    """The first and last (year, month) a request may name."""
    return (DATE_MIN.year, DATE_MIN.month), (DATE_MAX.year, DATE_MAX.month)


def parse_month(value: object, *, default: tuple[int, int]) -> tuple[int, int]:
    """`2026-12` → (2026, 12), within the bounds; anything else → `default`."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", str(value or "").strip())
    if not match:
        return default
    year, month = int(match[1]), int(match[2])
    first, last = month_bounds()
    if not 1 <= month <= 12 or not first <= (year, month) <= last:
        return default
    return year, month


def _date_error() -> ValidationError:
    return ValidationError(
        f"Enter a date between {DATE_MIN:%Y-%m-%d} and {DATE_MAX:%Y-%m-%d}.", code="date_range"
    )


def check_date_bounds(value: date | None) -> None:
    """A validator: the date (or datetime) lies within DATE_MIN and DATE_MAX."""
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        raise _date_error()


class BoundedDateField(forms.DateField):
    """A date field that refuses dates outside DATE_MIN and DATE_MAX."""

    default_validators = [check_date_bounds]


class BoundedDateTimeField(forms.DateTimeField):
    """A date and time field that refuses dates outside DATE_MIN and DATE_MAX.

    Checked on the naive value as typed, before the time zone is applied: converting year
    9999's last hours to UTC is what overflows.
    """

    def to_python(self, value):
        result = super().to_python(value)
        check_date_bounds(result)
        return result


class BoundedIntegerField(forms.IntegerField):
    """An integer field held to the database's range unless given narrower bounds."""

    def __init__(self, *, min_value=None, max_value=None, **kwargs):
        min_value = DB_INT_MIN if min_value is None else max(min_value, DB_INT_MIN)
        max_value = DB_INT_MAX if max_value is None else min(max_value, DB_INT_MAX)
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)
        self.error_messages.setdefault("max_value", "Enter a number no larger than %(limit)s.")
        self.error_messages.setdefault("min_value", "Enter a number no smaller than %(limit)s.")

    def to_python(self, value):
        if isinstance(value, str) and len(value.strip()) > 40:
            # Far past the bounds: refuse before int() spends time on thousands of digits.
            raise ValidationError(
                self.error_messages["max_value"], code="max_value", params=self._limit("max")
            )
        return super().to_python(value)

    def _limit(self, end: str) -> dict:
        limit = self.max_value if end == "max" else self.min_value
        return {"limit": f"{limit:,}", "limit_value": limit}

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except ValidationError as exc:
            codes = {error.code for error in exc.error_list}
            end = "max" if "max_value" in codes else "min" if "min_value" in codes else ""
            if not end:
                raise
            raise ValidationError(
                self.error_messages[f"{end}_value"], code=f"{end}_value", params=self._limit(end)
            ) from None


def _check_id(field: forms.ChoiceField, value) -> None:
    """A value that cannot be an id is an invalid choice before the database is asked: an
    `__in` lookup with a number past the column's range raises OverflowError on SQLite."""
    if value in field.empty_values or getattr(field, "to_field_name", None) or hasattr(value, "pk"):
        return
    if parse_id(value) is None:
        code = (
            "invalid_pk_value" if "invalid_pk_value" in field.error_messages else "invalid_choice"
        )
        raise ValidationError(
            field.error_messages[code], code=code, params={"pk": value, "value": value}
        )


class IdModelChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField keyed by id that refuses values no id can have."""

    def to_python(self, value):
        _check_id(self, value)
        return super().to_python(value)


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField keyed by id that refuses values no id can have."""

    def _check_values(self, value):
        for item in value:
            _check_id(self, item)
        return super()._check_values(value)
