"""Targeting arithmetic: a campaign's final segments versus the audience it started from.

Pure functions on sets of segment ids, so the rules are easy to test on their own:

- base: the audience's inclusion and exclusion segments when it was applied;
- final: the campaign's own inclusion and exclusion segments;
- changes: what the campaign added to or removed from the base.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Definition:
    inclusion: frozenset[int] = field(default_factory=frozenset)
    exclusion: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(cls, inclusion, exclusion) -> "Definition":
        return cls(frozenset(inclusion), frozenset(exclusion))


@dataclass(frozen=True)
class Changes:
    added_inclusions: frozenset[int]
    added_exclusions: frozenset[int]
    # Segments the audience includes (or excludes) that this campaign does not.
    removed_inclusions: frozenset[int]
    removed_exclusions: frozenset[int]

    @property
    def removed(self) -> frozenset[int]:
        return self.removed_inclusions | self.removed_exclusions

    @property
    def count(self) -> int:
        return (
            len(self.added_inclusions)
            + len(self.added_exclusions)
            + len(self.removed_inclusions)
            + len(self.removed_exclusions)
        )


def changes(base: Definition, final: Definition) -> Changes:
    """What the campaign changed relative to its base audience."""
    return Changes(
        added_inclusions=final.inclusion - base.inclusion,
        added_exclusions=final.exclusion - base.exclusion,
        removed_inclusions=base.inclusion - final.inclusion,
        removed_exclusions=base.exclusion - final.exclusion,
    )


def apply_changes(base: Definition, delta: Changes) -> Definition:
    """The base with the campaign's own additions and removals applied.

    Where the new base and the campaign's decisions disagree, the campaign wins: a segment the
    campaign added as an exclusion is never also included, and vice versa.
    """
    inclusion = (base.inclusion - delta.removed_inclusions) | delta.added_inclusions
    exclusion = (base.exclusion - delta.removed_exclusions) | delta.added_exclusions
    inclusion -= delta.added_exclusions
    exclusion -= delta.added_inclusions
    return Definition(frozenset(inclusion), frozenset(exclusion - inclusion))


def reapply(old_base: Definition, new_base: Definition, final: Definition) -> Definition:
    """Move a campaign onto a new base, keeping its own additions and removals."""
    return apply_changes(new_base, changes(old_base, final))


# A targeting fingerprint: the sum of a scrambled value of each segment id, so that equal sets
# of segments give equal numbers; the same arithmetic runs in SQL (selectors) for the list.
FINGERPRINT_MULTIPLIER = 2_654_435_761
FINGERPRINT_MODULUS = 4_294_967_291


def targeting_fingerprint(segment_ids) -> int:
    """One side's (inclusions' or exclusions') fingerprint; 0 for no segments."""
    return sum((pk * FINGERPRINT_MULTIPLIER) % FINGERPRINT_MODULUS + 1 for pk in set(segment_ids))
