import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "On a fresh install (no user at all), create an 'admin' superuser with a random "
        "password and print how to log in. Does nothing once any user exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the app runs.")

    def handle(self, *args, url: str, **options):
        User = get_user_model()
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username="admin", email="", password=password)
        self.stdout.write(
            self.style.SUCCESS("\nCreated the first user. Log in once with:\n")
            + f"  URL:      {url}\n"
            + "  Username: admin\n"
            + f"  Password: {password}\n"
            + "This password is shown only now: change it after logging in "
            + "(menu at the top right → Change password).\n"
        )
