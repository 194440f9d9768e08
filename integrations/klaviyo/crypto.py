"""Encryption at rest for the Klaviyo key: Fernet keys from settings.ENCRYPTION_KEYS.

The first key encrypts; every listed key decrypts, so keys can be rotated by putting a new one
first and keeping the old one until everything has been re-saved.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class EncryptionNotConfigured(Exception):
    """ENCRYPTION_KEYS is empty or holds something that is not a Fernet key."""


class DecryptionFailed(Exception):
    """The stored value was encrypted with a key that is no longer listed."""


def _fernet() -> MultiFernet:
    keys = list(settings.ENCRYPTION_KEYS)
    if not keys:
        raise EncryptionNotConfigured(
            "The server has no encryption key (ENCRYPTION_KEYS), so it cannot store an API key."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise EncryptionNotConfigured(
            "ENCRYPTION_KEYS holds a value that is not a Fernet key."
        ) from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


_UNREADABLE = (
    "The saved Klaviyo key cannot be decrypted with the server's encryption keys "
    "(ENCRYPTION_KEYS changed?). Paste the key again."
)


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed(_UNREADABLE) from None


def rotate(token: str) -> str:
    """The same secret, encrypted again with the first key (after a new key was put first)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed(_UNREADABLE) from None
