from django import template
from django.utils.translation import get_language

from salestarget.core.money import format_amount, format_percent

register = template.Library()


@register.filter
def cny(minor, decimals=2):
    """Minor units shown with 万/亿 in Chinese, K/M in English."""
    return format_amount(minor, int(decimals), get_language() or "zh")


@register.filter
def pct(ratio, places=1):
    return format_percent(ratio, int(places))
