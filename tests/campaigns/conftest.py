import pytest

from tests.factories import make_audience, make_segment


@pytest.fixture
def vip_setup(email, marketer):
    """The seeds' example: VIP Customers = VIP or Repeat buyers, except Unsubscribed 90d."""
    seg = {
        name: make_segment(email, name=name, external_id=f"id-{i}")
        for i, name in enumerate(
            ["VIP", "Repeat buyers", "Unsubscribed 90d", "Newsletter", "Churn risk"]
        )
    }
    audience = make_audience(
        email,
        name="VIP Customers",
        include=[seg["VIP"], seg["Repeat buyers"]],
        exclude=[seg["Unsubscribed 90d"]],
    )
    return seg, audience
