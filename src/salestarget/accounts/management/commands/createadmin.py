"""``salestarget createadmin``: an administrator with a generated password, shown once."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


def create_admin(username: str = "admin", email: str = "", reset: bool = False) -> tuple[object, str | None]:
    """Create the admin (or, with reset, give it a new password); the password is returned once."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None and not reset:
        return user, None
    password = secrets.token_urlsafe(12)
    if user is None:
        user = User.objects.create_superuser(username=username, email=email, password=password)
    else:
        user.set_password(password)
        user.is_superuser = user.is_staff = user.is_active = True
        user.save()
    return user, password


class Command(BaseCommand):
    help = "Create an administrator account and print its generated password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="")
        parser.add_argument("--reset", action="store_true", help="give an existing account a new password")

    def handle(self, *args, username, email, reset, **options):
        user, password = create_admin(username, email, reset)
        if password is None:
            raise CommandError(
                _("The account %(name)s already exists; use --reset to give it a new password.")
                % {"name": username}
            )
        self.stdout.write(
            _("Administrator: %(name)s  password: %(password)s  (shown only once)")
            % {"name": user.get_username(), "password": password}
        )
