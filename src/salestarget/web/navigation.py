"""The main navigation: one list, shown only for modules that are installed and routed."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (key, url name, label, Bootstrap icon)
NAV = [
    ("home", "web:home", _("Home"), "bi-house"),
    ("targets", "targets:index", _("Targets"), "bi-flag"),
    ("tracking", "tracking:index", _("Tracking"), "bi-graph-up-arrow"),
    ("actuals", "actuals:index", _("Actuals"), "bi-table"),
    ("recommend", "targets:recommend", _("Recommend"), "bi-lightbulb"),
    ("reviews", "reviews:index", _("Reviews"), "bi-journal-check"),
    ("org", "org:index", _("Organisation"), "bi-diagram-3"),
]


def nav_items() -> list[dict]:
    items = []
    for key, name, label, icon in NAV:
        try:
            items.append({"key": key, "url": reverse(name), "label": label, "icon": icon})
        except NoReverseMatch:
            continue
    return items
