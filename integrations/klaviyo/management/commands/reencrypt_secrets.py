from django.core.management.base import BaseCommand, CommandError

from integrations.klaviyo import crypto
from integrations.klaviyo.services import klaviyo_key_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypt the saved Klaviyo key again with the first key of ENCRYPTION_KEYS. Run it after "
        "putting a new key first; then the older keys can be removed from the list."
    )

    def handle(self, *args, **options):
        try:
            reencrypted = klaviyo_key_reencrypt()
        except (crypto.EncryptionNotConfigured, crypto.DecryptionFailed) as error:
            raise CommandError(str(error)) from None
        if reencrypted:
            self.stdout.write(
                "Re-encrypted the saved Klaviyo key with the first key of ENCRYPTION_KEYS; "
                "the other keys can now be removed."
            )
        else:
            self.stdout.write("No Klaviyo key is saved: nothing to re-encrypt.")
