"""Rotating ENCRYPTION_KEYS: put a new key first, re-encrypt, drop the old key."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.klaviyo import services
from integrations.klaviyo.models import KlaviyoAccount
from tests.klaviyo.conftest import SENTINEL_KEY

pytestmark = pytest.mark.django_db


def reencrypt() -> str:
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    return out.getvalue()


def test_reencrypt_lets_the_old_key_go(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    services.klaviyo_key_save(api_key=SENTINEL_KEY, user=None)
    before = KlaviyoAccount.objects.get().encrypted_api_key

    settings.ENCRYPTION_KEYS = [new, old]
    output = reencrypt()
    assert "Re-encrypted the saved Klaviyo key" in output
    assert SENTINEL_KEY not in output
    assert KlaviyoAccount.objects.get().encrypted_api_key != before

    settings.ENCRYPTION_KEYS = [new]  # the old key is gone from the list
    assert services.klaviyo_api_key() == SENTINEL_KEY


def test_reencrypt_without_a_saved_key_says_so(settings):
    assert "nothing to re-encrypt" in reencrypt()


def test_reencrypt_with_the_old_key_already_removed_explains_and_changes_nothing(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    services.klaviyo_key_save(api_key=SENTINEL_KEY, user=None)
    before = KlaviyoAccount.objects.get().encrypted_api_key

    settings.ENCRYPTION_KEYS = [new]
    with pytest.raises(CommandError, match="cannot be decrypted") as error:
        reencrypt()
    assert SENTINEL_KEY not in str(error.value)
    assert KlaviyoAccount.objects.get().encrypted_api_key == before
