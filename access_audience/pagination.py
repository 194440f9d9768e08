from django.core.paginator import Page, Paginator

from access_audience.params import parse_int


def paginate(object_list, page_number: str | None, *, per_page: int = 50) -> Page:
    """A page of results; a page number out of range or not a number gives the nearest page."""
    paginator = Paginator(object_list, per_page)
    number = parse_int(page_number, default=1)
    number = max(1, min(number, paginator.num_pages))
    return paginator.page(number)
