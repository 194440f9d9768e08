from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from channels_app.models import Channel
from segments.models import Segment

STATUS_CHOICES = [
    ("all", "All"),
    ("active", "Active"),
    ("inactive", "Inactive"),
    ("missing", "Not in Klaviyo"),
]


def segment_search(
    *,
    channel: Channel,
    query: str = "",
    status: str = "all",
    order: str = "name",
) -> QuerySet[Segment]:
    """The channel's segments matching a search on name or Segment ID (case-insensitive).

    An exact Segment ID match comes first. `status` is one of STATUS_CHOICES; `order` is
    "name", "-name", "updated" or "-updated".
    """
    qs = Segment.objects.filter(channel=channel)
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    elif status == "missing":
        qs = qs.filter(klaviyo_missing_since__isnull=False)
    query = query.strip()
    ordering = {
        "name": ["name", "pk"],
        "-name": ["-name", "-pk"],
        "updated": ["updated_at", "pk"],
        "-updated": ["-updated_at", "-pk"],
    }.get(order, ["name", "pk"])
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
        exact = Case(
            When(external_id=query, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return qs.order_by(exact, *ordering)
    return qs.order_by(*ordering)
