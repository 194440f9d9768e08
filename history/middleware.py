from django.http import HttpRequest, HttpResponse

from history.actor import VIA_ADMIN, acting_as, user_actor


class HistoryActorMiddleware:
    """Changes made while serving a request are recorded as its user's (through the admin when
    the request is one of the admin's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        via = VIA_ADMIN if request.path_info.startswith("/admin/") else ""
        with acting_as(user_actor(getattr(request, "user", None), via=via)):
            return self.get_response(request)
