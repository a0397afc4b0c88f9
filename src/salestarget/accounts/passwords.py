"""Password rules with messages in the app's catalogue.

Django 5.2 reworded the too-short message ("…at least %d characters.") and its zh-Hans catalogue
still translates only the old wording, so a Chinese administrator read it in English beside a
Chinese "这个密码太常见了。". The rule is Django's; only the message is the app's.
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return ngettext(
            "This password is too short. It must contain at least %(min_length)d character.",
            "This password is too short. It must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}
