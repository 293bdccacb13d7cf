"""manage.py dev_login: make sure the local admin login exists and print it (never in production)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create or refresh the local 'admin' superuser and print its login (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the site is served (printed).")
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing: `make run` prints every login once, with seed_demo's."
        )

    def handle(self, *args, url, quiet, **options):
        if settings.PRODUCTION:
            raise CommandError("dev_login is for local development; use createsuperuser in production.")
        # The password lives beside the dev database, so the printed login stays valid between runs.
        path = settings.VAR_DIR / "admin_password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(12))
        password = path.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        if not quiet:
            self.stdout.write(self.style.SUCCESS(f"Admin login: admin / {password}   ({url.rstrip('/')}/admin/)"))
