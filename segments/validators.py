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
