"""Reach: how many contacts a targeting (inclusions I, exclusions E) can reach, from sizes alone.

Sizes cannot see overlaps, so the honest answer is a range: at least max(I) - ΣE (not below 0),
at most ΣI. A size that is unknown widens the range instead of being read as 0: an unknown
inclusion leaves no upper bound, an unknown exclusion could remove everyone. Sizes counted more
than a week ago are flagged as stale.

`reach` is a pure function on `SizedSegment`s; `segment_reach` reads the sizes in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from channels_app.models import Channel
from segments.models import SIZE_STALE_AFTER, Segment
from segments.templatetags.segment_sizes import size_figure


@dataclass(frozen=True)
class SizedSegment:
    id: int
    name: str
    size: int | None
    counted_at: datetime | None = None

    @classmethod
    def of(cls, segment: Segment) -> SizedSegment:
        return cls(segment.pk, segment.name, segment.size, segment.size_counted_at)


@dataclass(frozen=True)
class Reach:
    """A range of contacts; `high` is None when an inclusion's size is unknown."""

    low: int
    high: int | None
    inclusion_count: int
    unknown: list[SizedSegment] = field(default_factory=list)
    stale: list[SizedSegment] = field(default_factory=list)

    @property
    def targets_nobody(self) -> bool:
        return self.inclusion_count == 0

    @property
    def known(self) -> bool:
        """Whether sizes say anything at all (some inclusion has a size)."""
        return not self.targets_nobody and (self.high is not None or self.low > 0)

    @property
    def exact(self) -> bool:
        return self.high is not None and self.low == self.high

    @property
    def suggestion(self) -> int | None:
        """The figure offered as an estimated volume: the most the targeting can reach."""
        if not self.known:
            return None
        return self.high if self.high is not None else self.low

    def contains(self, volume: int) -> bool:
        return volume >= self.low and (self.high is None or volume <= self.high)

    @property
    def short(self) -> str:
        """The range in a table cell."""
        if self.targets_nobody:
            return "nobody"
        if not self.known:
            return "unknown"
        if self.high is None:
            return f"at least {size_figure(self.low)}"
        if self.exact:
            return size_figure(self.low)
        return f"{size_figure(self.low)}\u2013{size_figure(self.high)}"

    @property
    def words(self) -> str:
        """The range as a marketer reads it."""
        if self.targets_nobody:
            return "No inclusion yet: this reaches nobody."
        if not self.known:
            return "Unknown: no included segment has a size yet."
        if self.high is None:
            return (
                f"At least {size_figure(self.low)} contacts: an included segment's size is unknown."
            )
        if self.exact:
            return f"{size_figure(self.low)} contacts."
        return (
            f"Between {size_figure(self.low)} and {size_figure(self.high)} contacts: "
            "sizes alone cannot see overlaps."
        )


def reach(
    include: Iterable[SizedSegment],
    exclude: Iterable[SizedSegment] = (),
    *,
    now: datetime | None = None,
) -> Reach:
    """The range of contacts in any of `include` and none of `exclude`, from sizes alone."""
    include, exclude = list(include), list(exclude)
    now = now or timezone.now()
    known_in = [s.size for s in include if s.size is not None]
    unknown_in = any(s.size is None for s in include)
    unknown_ex = any(s.size is None for s in exclude)
    high = None if unknown_in or not include else sum(known_in)
    low = max(known_in, default=0) - sum(s.size for s in exclude if s.size is not None)
    low = 0 if unknown_ex else max(low, 0)
    segments = include + exclude
    return Reach(
        low=low,
        high=high if include else 0,
        inclusion_count=len(include),
        unknown=[s for s in segments if s.size is None],
        stale=[
            s
            for s in segments
            if s.size is not None
            and s.counted_at is not None
            and now - s.counted_at > SIZE_STALE_AFTER
        ],
    )


def segment_reach(
    *, channel: Channel, include_ids: Iterable[int], exclude_ids: Iterable[int] = ()
) -> Reach:
    """The reach of the channel's segments with these ids (one query; others' ids are ignored)."""
    include_ids, exclude_ids = list(include_ids), list(exclude_ids)
    if not include_ids and not exclude_ids:
        return reach([], [])
    found = {
        s.pk: SizedSegment.of(s)
        for s in Segment.objects.filter(channel=channel, pk__in=include_ids + exclude_ids).only(
            "pk", "name", "size", "size_counted_at"
        )
    }
    return reach(
        [found[i] for i in include_ids if i in found],
        [found[i] for i in exclude_ids if i in found and i not in include_ids],
    )
