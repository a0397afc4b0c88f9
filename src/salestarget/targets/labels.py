"""Words for what the engine names by code: forecast models and months, in the user's language."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import get_language
from django.utils.translation import gettext as _


def lang() -> str:
    """The engine's language code ("zh" or "en") for the active language."""
    return "en" if (get_language() or "zh").startswith("en") else "zh"


def model_words(name: str) -> str:
    """What a director reads for a forecast model (季节趋势模型), never the engine's name: the
    name means something to an analyst only, and the pages keep it in their technical details."""
    # Imported here: the template tags load at start-up, the forecast engine (numpy) need not.
    from salestarget.engine.forecast import BASELINE, COMBINATION, MEAN_MODEL, SEASONAL_LEVEL, SHARED_SEASON

    words = {
        BASELINE: _("Last year's months"),
        COMBINATION: _("Average of the models"),
        SHARED_SEASON: _("Own level, shared season"),
        SEASONAL_LEVEL: _("Last 12 months' level, with the season"),
        MEAN_MODEL: _("Average month"),
        "TeamPerRep": _("Team per-rep level"),
        "AutoETS": _("Trend and season model"),
        "AutoETS(AZN)": _("Trend and season model"),
        "AutoTheta": _("Smoothed trend model"),
        "DynamicOptimizedTheta": _("Smoothed trend model"),
        "AutoARIMA": _("Recent-pattern model"),
    }.get(name)
    return words or _("Statistical model")


def model_label(name: str) -> str:
    """Words a director reads, then the engine's name for an analyst: 去年同月 (SeasonalNaive)."""
    return f"{model_words(name)} ({name})"


def exposure_words(cadence) -> str:
    """What the forecast took as a month's chance to sell (``cadence``: an engine Cadence), so
    that a director who sees a five-Friday month forecast higher than its neighbours knows why."""
    from django.utils.dates import WEEKDAYS

    if cadence.kind == "weekly":
        return _(
            "The data come once a week, on %(weekday)s: months are compared per reporting day, so a "
            "month with five of them is expected to bring more than one with four."
        ) % {"weekday": WEEKDAYS[cadence.weekday]}
    if cadence.kind == "monthly":
        return _("The data come once a month: every month counts the same, whatever its working days.")
    return _(
        "Months are compared per working day of the company calendar, so that holidays do not look like a slump."
    )


def month_label(month: dt.date, language: str) -> str:
    return f"{month.year}-{month.month:02d}" if language == "en" else f"{month.year}年{month.month}月"
