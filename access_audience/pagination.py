from django.core.paginator import Page, Paginator


def paginate(object_list, page_number: str | None, *, per_page: int = 50) -> Page:
    """A page of results; a page number out of range or not a number gives the nearest page."""
    paginator = Paginator(object_list, per_page)
    try:
        number = int(page_number or 1)
    except (TypeError, ValueError):
        number = 1
    number = max(1, min(number, paginator.num_pages))
    return paginator.page(number)
