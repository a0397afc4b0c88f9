"""Filters for the recommendation pages."""

from django import template

from salestarget.targets.labels import exposure_words, model_label, model_words

register = template.Library()


@register.filter
def forecast_model(name: str) -> str:
    return model_label(name)


@register.filter
def forecast_model_words(name: str) -> str:
    return model_words(name)


@register.filter
def forecast_exposure_words(cadence) -> str:
    return exposure_words(cadence)
