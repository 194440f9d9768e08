import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

_url = URLValidator(schemes=["http", "https"])


def validate_http_url(value: str) -> None:
    """Accept only absolute http(s) URLs; `javascript:`, `data:` and friends are refused."""
    if not value:
        return
    stripped = value.strip()
    if stripped != value or any(ord(ch) < 32 for ch in value):
        raise ValidationError("Enter a link without spaces or control characters.", code="invalid")
    if urlsplit(value).scheme.lower() not in {"http", "https"}:
        raise ValidationError("Only http:// and https:// links are allowed.", code="scheme")
    _url(value)


# A strict subset of what URLValidator accepts, checked first because the full validator
# costs ~11 µs a link; anything this does not match goes through validate_http_url.
_SIMPLE_URL = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}[a-z]{2,24}"
    r"(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~/%-]*)?(?:\?[A-Za-z0-9._~%=&-]*)?",
    re.ASCII,
)


def link_problem(value: str) -> str | None:
    """Why validate_http_url refuses a link, or None when it accepts it (fast for the
    plain links bulk writes are made of)."""
    if not value or (len(value) <= 500 and _SIMPLE_URL.fullmatch(value)):
        return None
    try:
        validate_http_url(value)
    except ValidationError as exc:
        return exc.messages[0]
    return None
