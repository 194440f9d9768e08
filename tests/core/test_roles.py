import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from channels_app.roles import MARKETER, VIEWER

pytestmark = pytest.mark.django_db


def _codenames(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_migrate_creates_the_two_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {MARKETER, VIEWER}


def test_viewer_can_only_view():
    perms = _codenames(VIEWER)
    assert "segments.view_segment" in perms
    assert all(p.split(".")[1].startswith("view_") for p in perms)


def test_marketer_can_change_segments_audiences_and_campaigns():
    perms = _codenames(MARKETER)
    for model in ("segments.segment", "audiences.audience", "campaigns.campaign"):
        app, name = model.split(".")
        for action in ("view", "add", "change", "delete"):
            assert f"{app}.{action}_{name}" in perms
    assert "channels_app.change_channel" not in perms  # channels belong to admins


def test_roles_are_restored_if_someone_strips_them():
    Group.objects.get(name=MARKETER).permissions.clear()
    call_command("migrate", verbosity=0)  # post_migrate puts them back
    assert "segments.add_segment" in _codenames(MARKETER)


def test_viewer_opens_pages(viewer_client, channels):
    assert viewer_client.get("/").status_code == 200
    assert viewer_client.get("/channels/email/segments/").status_code == 200
