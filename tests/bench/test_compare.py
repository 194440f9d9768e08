from urllib.parse import urlsplit

import pytest
from django.urls import resolve

from bench.compare import PAGE_SETS, main


@pytest.mark.parametrize("path", [path for _, pages in PAGE_SETS.values() for _, path, _ in pages])
def test_every_compared_page_is_a_page_of_the_app(path):
    # The paths are written out (a URL name may change between revisions): they must still
    # lead to a view of this one.
    assert resolve(urlsplit(path).path).url_name not in {None, ""}


def test_an_unknown_page_set_is_refused_before_anything_is_checked_out(capsys):
    assert main(["HEAD", "nonsense"]) == 2
    assert "Known: campaign_list, segments, picker" in capsys.readouterr().out
