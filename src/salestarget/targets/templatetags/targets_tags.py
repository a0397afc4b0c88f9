"""Filters for the recommendation pages."""

from django import template

from salestarget.targets.labels import model_label

register = template.Library()


@register.filter
def forecast_model(name: str) -> str:
    return model_label(name)
