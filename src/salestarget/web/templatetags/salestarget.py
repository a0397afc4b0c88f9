from django import template
from django.utils.translation import get_language

from salestarget.core.money import currency_unit as _currency_unit
from salestarget.core.money import format_amount, format_percent
from salestarget.metrics.selectors import company_currency

register = template.Library()


@register.filter
def cny(minor, decimals=2):
    """Minor units in the company's currency: 万/亿 in Chinese, K/M/B in English, with the
    currency's symbol (none for renminbi in Chinese): "1,234.57万", "US$1,234.57万", "$12.35M".
    (The name is historical: it formats every currency.)"""
    return format_amount(minor, int(decimals), get_language() or "zh", currency=company_currency())


@register.simple_tag
def currency_unit() -> str:
    """The company currency's word for headers: 元/美元 in Chinese, yuan/USD in English."""
    return _currency_unit(get_language() or "zh", company_currency())


@register.filter
def pct(ratio, places=1):
    return format_percent(ratio, int(places))
