"""The picker's inputs in a request: their names and the ids they carry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from access_audience.params import parse_int
from segments.models import Segment

PARTS = ("include", "exclude", "base_include", "base_exclude")


def parse_ids(values: Iterable) -> tuple[list[int], bool]:
    """Positive integer ids from raw values, in order, without repeats; and whether any was bad."""
    out: list[int] = []
    bad = False
    for value in values:
        if isinstance(value, Segment):
            value = value.pk
        number = parse_int(value)
        if number is None:
            bad = True
            continue
        if number <= 0:
            bad = True
        elif number not in out:
            out.append(number)
    return out, bad


def ids(values: Iterable) -> list[int]:
    """The readable ids among raw values (unreadable ones are left out)."""
    return parse_ids(values)[0]


@dataclass
class PickerInput:
    """The ids a picker named `name` posts: its marks and the pre-filled base they started from.

    A form that changes the picker's contents before binding (another channel, another
    audience) reads them with `from_data` and writes them back with `write`.
    """

    include: list[int] = field(default_factory=list)
    exclude: list[int] = field(default_factory=list)
    base_include: list[int] = field(default_factory=list)
    base_exclude: list[int] = field(default_factory=list)

    @classmethod
    def from_data(cls, data, *, name: str) -> PickerInput:
        return cls(**{part: ids(data.getlist(f"{name}-{part}")) for part in PARTS})

    def write(self, data, *, name: str) -> None:
        """Set these ids on a mutable QueryDict, replacing the posted ones."""
        for part in PARTS:
            data.setlist(f"{name}-{part}", [str(pk) for pk in getattr(self, part)])
