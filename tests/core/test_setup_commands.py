import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ensure_admin_creates_the_first_user_once():
    out = io.StringIO()
    call_command("ensure_admin", url="http://127.0.0.1:8000/", stdout=out)
    text = out.getvalue()
    password = re.search(r"Password: (\S+)", text).group(1)
    assert "Username: admin" in text and "http://127.0.0.1:8000/" in text
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)

    again = io.StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""
    assert get_user_model().objects.count() == 1


def test_channel_with_data_cannot_be_deleted_in_the_admin(admin_client, email):
    from channels_app.models import Channel
    from tests.factories import make_segment

    make_segment(email)
    response = admin_client.post(
        f"/admin/channels_app/channel/{email.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert Channel.objects.filter(pk=email.pk).exists()
    assert "cannot be deleted" in response.content.decode()


def test_empty_channel_can_be_deleted_in_the_admin(admin_client, meta):
    from channels_app.models import Channel

    admin_client.post(f"/admin/channels_app/channel/{meta.pk}/delete/", {"post": "yes"})
    assert not Channel.objects.filter(pk=meta.pk).exists()
