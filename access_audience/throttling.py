"""Login throttling with django-axes: the client's address and the lockout page."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from access_audience.params import strip_controls

# django-axes stores the username in a 255-character column.
USERNAME_MAX = 255


def login_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a failed login is counted against, as the database can store it.

    A typed username far past any account's length, or with a NUL in it, would otherwise make
    recording the failure itself fail (PostgreSQL refuses both), answering 500 instead of
    "wrong username or password".
    """
    if credentials:
        username = credentials.get("username")
    else:
        username = request.POST.get("username") if request is not None else None
    if username is None:
        return None
    return strip_controls(str(username))[:USERNAME_MAX]


def client_ip_address(request: HttpRequest) -> str | None:
    """The address a lockout is counted against: the connection's, or behind LOGIN_PROXY_COUNT
    proxies the one the outermost of them saw (the Nth from the right in X-Forwarded-For;
    entries further left are whatever the client chose to send)."""
    count = settings.LOGIN_PROXY_COUNT
    if count > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def login_locked_out(request: HttpRequest, original_response=None, credentials=None):
    """The page after too many failed logins: the same for every username, existing or not,
    so it reveals nothing about accounts; it says when to try again."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = max(1, round(cooloff.total_seconds() / 60))
    context = {
        "cooloff_minutes": minutes,
        "retry_at": (timezone.localtime() + cooloff).replace(microsecond=0),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    response: HttpResponse = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response
