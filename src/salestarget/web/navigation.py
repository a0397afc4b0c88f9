"""The main navigation: one list, shown only for modules that are installed and routed."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from salestarget.org.permissions import Action

# (key, url name, label, Bootstrap icon, the company-wide action it needs or None)
NAV = [
    ("home", "web:home", _("Home"), "bi-house", None),
    ("targets", "targets:index", _("Targets"), "bi-flag", None),
    ("inbox", "targets:inbox", _("Inbox"), "bi-inbox", None),
    ("tracking", "tracking:index", _("Tracking"), "bi-graph-up-arrow", None),
    ("alerts", "alerts:index", _("Alerts"), "bi-bell", None),
    ("actuals", "actuals:index", _("Actuals"), "bi-table", None),
    ("recommend", "targets:recommend", _("Recommend"), "bi-lightbulb", None),
    ("reviews", "reviews:index", _("Reviews"), "bi-journal-check", None),
    ("org", "org:index", _("Organisation"), "bi-diagram-3", None),
    ("users", "accounts:users", _("Users and roles"), "bi-people", Action.CONFIGURE),
    # Administrators and sales operations (a company-wide change reach); only administrators
    # change the company settings, both change metrics (metrics/services.py).
    ("settings", "settings:company", _("Settings"), "bi-gear", Action.CHANGE),
]


def nav_items(scope) -> list[dict]:
    items = []
    for key, name, label, icon, action in NAV:
        if action is not None and not scope.can_everywhere(action):
            continue
        try:
            items.append({"key": key, "url": reverse(name), "label": label, "icon": icon})
        except NoReverseMatch:
            continue
        if key == "alerts":
            items[-1]["badge"] = unread_notifications(scope)
    return items


def unread_notifications(scope) -> int:
    """The signed-in user's unread in-app notifications (站内通知), for the badge on "Alerts"."""
    if scope.user_id is None:
        return 0
    from salestarget.alerts.models import Notification

    return Notification.objects.filter(user_id=scope.user_id, read_at__isnull=True).count()
