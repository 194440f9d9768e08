import pytest

from segments.models import Segment


def bulk_segments(channel, n: int, *, prefix: str = "Bulk", **fields) -> None:
    """n segments in one INSERT batch (query-count tests at two sizes)."""
    Segment.objects.bulk_create(
        [
            Segment(
                channel=channel, name=f"{prefix} {i:05d}", external_id=f"{prefix}-{i}", **fields
            )
            for i in range(n)
        ],
        batch_size=1000,
    )


@pytest.fixture
def make_many():
    return bulk_segments
