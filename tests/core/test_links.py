import pytest
from django.urls import NoReverseMatch, reverse

from access_audience.links import id_url


@pytest.mark.parametrize("pk", [1, 42, 10**12])
def test_id_url_gives_what_reverse_gives(pk):
    assert id_url("campaigns:detail")(pk) == reverse("campaigns:detail", args=[pk])
    assert id_url("segments:detail", "email")(pk) == reverse("segments:detail", args=["email", pk])


def test_id_url_refuses_a_url_that_does_not_end_in_an_id():
    with pytest.raises(NoReverseMatch):  # the list takes no id
        id_url("campaigns:list")
