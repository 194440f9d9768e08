"""Every URL of the project, for anonymous, Viewer, Marketer and superuser, by GET and POST.

The routes come from the URLconf (like tests/core/test_access.py), so a new view is swept
automatically, and a route missing from EXPECTED fails loudly: whoever adds a view declares
who may use it. Each request runs in a savepoint that is rolled back, so a Marketer's delete
does not take the object away from the next request; so the world is built once for the
module (tests/security/conftest.py, shared_world).
"""

import re
from collections.abc import Callable

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.core.test_access import ALL_ROUTES
from tests.security.conftest import ROLES, World

pytestmark = pytest.mark.django_db

# What a cell may answer.
LOGIN = "redirect to log in"
ADMIN_LOGIN = "redirect to the admin's log in"
OK = "allowed (200, or a redirect that is not to a log in page)"
OK_200 = "200"
DENIED = "403"
NOT_ALLOWED = "405"
NOT_FOUND = "404"
REDIRECT = "redirect (any)"
# Anonymous visitors of the admin: the app's log in page or the admin's, both with ?next=.
ANY_LOGIN = "redirect to a log in page"
ADMIN_INDEX = "redirect to the admin's index (which asks staff to log in)"
LOGGED_OUT = "redirect to the log in page, logged out"


def expect(anonymous, viewer, marketer, superuser):
    return dict(zip(ROLES, (anonymous, viewer, marketer, superuser), strict=True))


# The kinds of route; each is {role: (GET, POST)}.
PUBLIC = expect(*[(OK_200, OK_200)] * 4)
PUBLIC_GET = expect(*[(OK_200, NOT_ALLOWED)] * 4)
ANY_USER_GET = expect((LOGIN, LOGIN), *[(OK_200, NOT_ALLOWED)] * 3)
ANY_USER_FORM = expect((LOGIN, LOGIN), *[(OK_200, OK_200)] * 3)
# A page behind a view permission that both roles have.
READ = expect((LOGIN, LOGIN), (OK_200, NOT_ALLOWED), (OK_200, NOT_ALLOWED), (OK_200, NOT_ALLOWED))
# A form (GET shows it, POST writes) behind a Marketer's permission.
WRITE_FORM = expect((LOGIN, LOGIN), (DENIED, DENIED), (OK_200, OK), (OK_200, OK))
# A POST-only write behind a Marketer's permission (require_POST answers before the check).
WRITE_ACTION = expect((LOGIN, LOGIN), (NOT_ALLOWED, DENIED), (NOT_ALLOWED, OK), (NOT_ALLOWED, OK))
# Klaviyo key management: only whoever holds klaviyo.manage_klaviyo_key (the superuser here).
KEY_ACTION = expect((LOGIN, LOGIN), (NOT_ALLOWED, DENIED), (NOT_ALLOWED, DENIED), (NOT_ALLOWED, OK))
LOGOUT = expect((LOGIN, LOGIN), *[(NOT_ALLOWED, LOGGED_OUT)] * 3)


# Admin pages: staff only (neither role is staff); everyone else is sent to the admin's log in.
def admin_page(superuser):
    return expect((ANY_LOGIN, ANY_LOGIN), *[(ADMIN_LOGIN, ADMIN_LOGIN)] * 2, superuser)


ADMIN = admin_page((OK_200, OK))
ADMIN_REDIRECT = admin_page((REDIRECT, REDIRECT))

EXPECTED: dict[str, dict] = {
    "": ANY_USER_GET,
    "healthz": PUBLIC_GET,
    # Accounts
    "accounts/login/": PUBLIC,
    "accounts/logout/": LOGOUT,
    "accounts/password_change/": ANY_USER_FORM,
    "accounts/password_change/done/": ANY_USER_GET,
    "accounts/password_reset/": PUBLIC,
    "accounts/password_reset/done/": PUBLIC_GET,
    "accounts/reset/<uidb64>/<token>/": PUBLIC,  # a bad link: the "invalid link" page
    "accounts/reset/done/": PUBLIC_GET,
    # Segments
    "channels/<slug:channel_slug>/segments/": READ,
    "channels/<slug:channel_slug>/segments/add/": WRITE_FORM,
    "channels/<slug:channel_slug>/segments/bulk/": WRITE_ACTION,
    "channels/<slug:channel_slug>/segments/picker/": READ,
    "channels/<slug:channel_slug>/segments/<int:pk>/": READ,
    "channels/<slug:channel_slug>/segments/<int:pk>/edit/": WRITE_FORM,
    "channels/<slug:channel_slug>/segments/<int:pk>/active/": WRITE_ACTION,
    "channels/<slug:channel_slug>/segments/<int:pk>/delete/": WRITE_FORM,
    # Audiences
    "channels/<slug:channel_slug>/audiences/": READ,
    "channels/<slug:channel_slug>/audiences/new/": WRITE_FORM,
    "channels/<slug:channel_slug>/audiences/reach/": READ,
    "channels/<slug:channel_slug>/audiences/<int:pk>/": READ,
    "channels/<slug:channel_slug>/audiences/<int:pk>/edit/": WRITE_FORM,
    "channels/<slug:channel_slug>/audiences/<int:pk>/clone/": WRITE_FORM,
    "channels/<slug:channel_slug>/audiences/<int:pk>/delete/": WRITE_FORM,
    # Campaigns
    "campaigns/": READ,
    "campaigns/new/": WRITE_FORM,
    "campaigns/calendar/": READ,
    "campaigns/form-checks/": READ,
    "campaigns/<int:pk>/": READ,
    "campaigns/<int:pk>/edit/": WRITE_FORM,
    "campaigns/<int:pk>/duplicate/": WRITE_FORM,
    "campaigns/<int:pk>/reapply/": WRITE_ACTION,
    "campaigns/<int:pk>/delete/": WRITE_FORM,
    # Data: uploads and export
    "data/": READ,
    "data/upload/": WRITE_FORM,
    # An unfinished upload opens on its current step for those who can continue it.
    "data/uploads/<int:pk>/": expect(
        (LOGIN, LOGIN), (OK_200, NOT_ALLOWED), (OK, NOT_ALLOWED), (OK, NOT_ALLOWED)
    ),
    "data/uploads/<int:pk>/read/": WRITE_FORM,
    "data/uploads/<int:pk>/map/": WRITE_FORM,
    "data/uploads/<int:pk>/import/": WRITE_ACTION,
    "data/uploads/<int:pk>/remap/": WRITE_ACTION,
    "data/uploads/<int:pk>/retry/": WRITE_ACTION,
    "data/uploads/<int:pk>/cancel/": WRITE_ACTION,
    "data/uploads/<int:pk>/errors.csv": READ,
    "data/uploads/<int:pk>/import-valid/": WRITE_ACTION,
    # The file's invalid rows, or back to the upload once its file is gone.
    "data/uploads/<int:pk>/invalid-rows.csv": expect(
        (LOGIN, LOGIN), (OK, NOT_ALLOWED), (OK, NOT_ALLOWED), (OK, NOT_ALLOWED)
    ),
    "data/export/<slug:channel_slug>/segments.csv": READ,
    # Integrations: Klaviyo
    "integrations/klaviyo/": READ,
    "integrations/klaviyo/key/": KEY_ACTION,
    "integrations/klaviyo/key/delete/": KEY_ACTION,
    "integrations/klaviyo/test/": KEY_ACTION,
    "integrations/klaviyo/channels/<slug:channel_slug>/switch/": WRITE_ACTION,
    "integrations/klaviyo/channels/<slug:channel_slug>/sync/": WRITE_ACTION,
    "integrations/klaviyo/channels/<slug:channel_slug>/panel/": READ,
    "integrations/klaviyo/runs/<int:run_id>/": READ,
    # Sizes from Klaviyo: the Segments tab's panel, and Refresh sizes.
    "integrations/klaviyo/channels/<slug:channel_slug>/sizes/": WRITE_ACTION,
    "integrations/klaviyo/channels/<slug:channel_slug>/sizes/panel/": READ,
    # History: both roles read it, Marketers restore; the Activity page is for admins (staff).
    "channels/<slug:channel_slug>/segments/<int:pk>/history/": READ,
    "channels/<slug:channel_slug>/audiences/<int:pk>/history/": READ,
    "channels/<slug:channel_slug>/audiences/<int:pk>/history/restore/": WRITE_ACTION,
    "campaigns/<int:pk>/history/": READ,
    "campaigns/<int:pk>/history/restore/": WRITE_ACTION,
    "activity/": expect(
        (LOGIN, LOGIN), (DENIED, NOT_ALLOWED), (DENIED, NOT_ALLOWED), (OK_200, NOT_ALLOWED)
    ),
    "activity/export.csv": expect(
        (LOGIN, LOGIN), (DENIED, NOT_ALLOWED), (DENIED, NOT_ALLOWED), (OK_200, NOT_ALLOWED)
    ),
    # The campaign page's In Klaviyo panel, and Send / Update in Klaviyo and Refresh.
    "integrations/klaviyo/campaigns/<int:campaign_id>/": READ,
    "integrations/klaviyo/campaigns/<int:campaign_id>/send/": WRITE_ACTION,
    "integrations/klaviyo/campaigns/<int:campaign_id>/update/": WRITE_ACTION,
    "integrations/klaviyo/campaigns/<int:campaign_id>/refresh/": WRITE_ACTION,
    # Admin pages that are not a model's (the models' pages follow ADMIN_MODEL_PAGES).
    "admin/": ADMIN,
    # A superuser who is logged in already is sent on to the admin's index.
    "admin/login/": expect(*[(OK_200, OK_200)] * 3, (REDIRECT, OK_200)),
    "admin/logout/": expect(
        (ANY_LOGIN, ANY_LOGIN), *[(ADMIN_INDEX, ADMIN_INDEX)] * 2, (NOT_ALLOWED, LOGGED_OUT)
    ),
    "admin/password_change/": ADMIN,
    "admin/password_change/done/": admin_page((OK_200, NOT_ALLOWED)),
    "admin/jsi18n/": admin_page((OK_200, NOT_ALLOWED)),
    # Without app/model/field parameters the autocomplete refuses even a superuser.
    "admin/autocomplete/": admin_page((DENIED, NOT_ALLOWED)),
    # No model of ours has a page on the site (get_absolute_url): "view on site" is a 404.
    "admin/r/<path:content_type_id>/<path:object_id>/": admin_page((NOT_FOUND, NOT_FOUND)),
    "admin/auth/user/<id>/password/": ADMIN,
}

# Every registered model's admin pages, by the end of the route.
ADMIN_MODEL_PAGES = {
    "": ADMIN,  # changelist
    "add/": ADMIN,
    "<path:object_id>/": ADMIN_REDIRECT,  # old-style URL, redirects to change/
    "<path:object_id>/change/": ADMIN,
    "<path:object_id>/delete/": ADMIN,
    "<path:object_id>/history/": ADMIN,
}
ADMIN_READ_ONLY = admin_page((OK_200, DENIED))
ADMIN_REFUSED = admin_page((DENIED, DENIED))
# Where a model's admin deliberately differs from ADMIN_MODEL_PAGES.
ADMIN_MODEL_EXCEPTIONS = {
    # Read-only in the admin: nobody adds, changes or deletes them there, not even a superuser.
    "admin/klaviyo/klaviyoaccount/add/": ADMIN_REFUSED,
    "admin/klaviyo/klaviyoaccount/<path:object_id>/change/": ADMIN_READ_ONLY,
    "admin/klaviyo/syncrun/add/": ADMIN_REFUSED,
    "admin/klaviyo/sizerun/add/": ADMIN_REFUSED,
    "admin/klaviyo/sizerun/<path:object_id>/change/": ADMIN_READ_ONLY,
    "admin/klaviyo/campaignpush/add/": ADMIN_REFUSED,
    "admin/klaviyo/campaignpush/<path:object_id>/change/": ADMIN_READ_ONLY,
    "admin/uploads/upload/add/": ADMIN_REFUSED,
    "admin/django_tasks_database/dbtaskresult/add/": ADMIN_REFUSED,
    # Login throttling records: written by django-axes only (deleting an attempt unlocks).
    "admin/axes/accessattempt/add/": ADMIN_REFUSED,
    "admin/axes/accessfailurelog/add/": ADMIN_REFUSED,
    "admin/axes/accesslog/add/": ADMIN_REFUSED,
    "admin/django_tasks_database/dbtaskresult/<path:object_id>/change/": ADMIN_READ_ONLY,
    "admin/django_tasks_database/dbtaskresult/<path:object_id>/delete/": ADMIN_REFUSED,
    # History is never added, changed or deleted in the admin, not even by a superuser.
    "admin/history/change/add/": ADMIN_REFUSED,
    "admin/history/change/<path:object_id>/change/": ADMIN_READ_ONLY,
    "admin/history/change/<path:object_id>/delete/": ADMIN_REFUSED,
    # A segment in use or a channel with data is not deleted: back to its page with a message.
    "admin/segments/segment/<path:object_id>/delete/": admin_page((REDIRECT, OK)),
    "admin/channels_app/channel/<path:object_id>/delete/": admin_page((REDIRECT, OK)),
}


def _admin_models():
    return {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/": model
        for model in admin.site._registry
    }


def expected_for(route: str) -> dict:
    if route in EXPECTED:
        return EXPECTED[route]
    if route in ADMIN_MODEL_EXCEPTIONS:
        return ADMIN_MODEL_EXCEPTIONS[route]
    for prefix in _admin_models():
        if route.startswith(prefix) and route[len(prefix) :] in ADMIN_MODEL_PAGES:
            return ADMIN_MODEL_PAGES[route[len(prefix) :]]
    raise LookupError(route)


def concrete_url(route: str, world: World) -> str:
    """The route with real ids: each detail or edit URL points at an existing object."""
    values: dict[str, Callable[[], object]] = {
        "channel_slug": lambda: "email",
        "run_id": lambda: world.run.pk,
        "campaign_id": lambda: world.campaign.pk,
        "uidb64": lambda: "MQ",
        "token": lambda: "bad-token",
        "id": lambda: world.users["viewer"].pk,
    }
    if route.startswith("channels/<slug:channel_slug>/segments/"):
        values["pk"] = lambda: world.segment.pk
    elif route.startswith("channels/<slug:channel_slug>/audiences/"):
        values["pk"] = lambda: world.audience.pk
    elif route.startswith("campaigns/"):
        values["pk"] = lambda: world.campaign.pk
    elif route.startswith("data/uploads/"):
        values["pk"] = lambda: world.upload.pk
    if route.startswith("admin/r/"):
        values["content_type_id"] = lambda: ContentType.objects.get_for_model(world.segment).pk
        values["object_id"] = lambda: world.segment.pk
    else:
        for prefix, model in _admin_models().items():
            if route.startswith(prefix):
                obj = model._default_manager.order_by("pk").first()
                assert obj is not None, f"build_world() makes no {model.__name__} for {route}"
                values["object_id"] = lambda obj=obj: obj.pk

    def fill(match: re.Match) -> str:
        name = match.group(1)
        assert name in values, f"No sample value for <{name}> in {route}"
        return str(values[name]())

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)


def check(response, expected: str) -> bool:
    status = response.status_code
    location = response.get("Location", "")
    login, admin_login = reverse("login"), reverse("admin:login")
    if expected == LOGIN:
        return status == 302 and location.startswith(f"{login}?next=")
    if expected == ANY_LOGIN:
        return status == 302 and location.startswith((f"{login}?next=", f"{admin_login}?next="))
    if expected == ADMIN_LOGIN:
        return status == 302 and location.startswith(f"{admin_login}?next=")
    if expected == OK:
        if status == 302:
            return not location.startswith((login, admin_login))
        return status == 200
    if expected == ADMIN_INDEX:
        return status == 302 and location == reverse("admin:index")
    if expected == LOGGED_OUT:
        return status == 302 and location == login
    if expected == REDIRECT:
        return status == 302
    return str(status) == expected


ROUTES = sorted({route for _, route in ALL_ROUTES})


def test_every_route_has_declared_expectations():
    missing = []
    for route in ROUTES:
        try:
            expected_for(route)
        except LookupError:
            missing.append(route)
    assert not missing, (
        "These URLs have no line in the permission matrix (tests/security/"
        f"test_permission_matrix.py EXPECTED): {missing}"
    )


def test_the_table_has_no_stale_lines():
    declared = set(EXPECTED) | set(ADMIN_MODEL_EXCEPTIONS)
    assert declared <= set(ROUTES), declared - set(ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=[r or "/" for r in ROUTES])
def test_permission_matrix(shared_world, route):
    world = shared_world
    try:
        expected = expected_for(route)
    except LookupError:
        pytest.fail(f"{route!r} is missing from the permission matrix's EXPECTED table")
    url = concrete_url(route, world)
    holes = []
    for role in ROLES:
        for method, want in zip(("GET", "POST"), expected[role], strict=True):
            client = Client()
            if world.users[role] is not None:
                client.force_login(world.users[role])
            with transaction.atomic():
                response = getattr(client, method.lower())(url)
                transaction.set_rollback(True)
            if not check(response, want):
                holes.append(
                    f"{role} {method} {url}: expected {want}, got {response.status_code} "
                    f"{response.get('Location', '')}"
                )
    assert not holes, "\n".join(holes)
