"""Forms of the recommendation pages: money in yuan on screen, fen in the service.

Scope choices are limited to what the user may see, so an id outside them is not a form
error but a scope the user may not ask about (the view turns it into a 404).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from salestarget.catalog.models import Product, Region
from salestarget.targets import recommend as service

SCOPE_FIELDS = ("unit", "person", "product", "region")
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else int((value * 100).to_integral_value())


def _style(form: forms.Form) -> None:
    """Bootstrap's small controls, so the form fits a phone without custom templates."""
    for field in form.fields.values():
        css = (
            "form-select form-select-sm"
            if isinstance(field.widget, forms.Select)
            else "form-control form-control-sm"
        )
        field.widget.attrs.setdefault("class", css)


class MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        return value.strftime("%Y-%m") if isinstance(value, dt.date) else value


def _part(value: str) -> tuple[str, int]:
    """The "half or quarter" choice: "h1" is the first half, "3" the third quarter."""
    return ("half", int(value[1:])) if value.startswith("h") else ("quarter", int(value))


def _money(label, required=False, help_text=""):
    return forms.DecimalField(
        label=label, required=required, max_digits=16, decimal_places=2, min_value=0, help_text=help_text
    )


class RecommendForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=None, required=False, label=_("Unit"), empty_label=_("(default)"))
    person = forms.ModelChoiceField(queryset=None, required=False, label=_("Sales rep"), empty_label="—")
    product = forms.ModelChoiceField(queryset=None, required=False, label=_("Product line"), empty_label="—")
    region = forms.ModelChoiceField(queryset=None, required=False, label=_("Region"), empty_label="—")
    year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label=_("Half or quarter"),
        required=False,
        coerce=_part,
        empty_value=None,
        choices=[("", _("Whole year")), ("h1", _("First half")), ("h2", _("Second half"))]
        + [(str(q), f"Q{q}") for q in range(1, 5)],
    )
    month = forms.TypedChoiceField(
        label=_("Month"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—")] + [(m, str(m)) for m in range(1, 13)],
    )
    p_pct = forms.IntegerField(
        label=_("Chance of reaching it (%)"),
        min_value=1,
        max_value=99,
        help_text=_("50% is a stretch target, 80% a commitment."),
    )
    growth_pct = forms.FloatField(label=_("Market growth (%)"), required=False, min_value=-99)
    price_pct = forms.FloatField(label=_("Price change (%)"), required=False, min_value=-99)
    new_business = _money(_("New products or regions (yuan)"))
    hires = forms.IntegerField(label=_("New hires"), required=False, min_value=0, max_value=1000)
    hire_month = forms.DateField(
        label=_("First month of the hires"), required=False, input_formats=MONTH_FORMATS, widget=MonthInput
    )
    hire_productivity = _money(_("Monthly sales of a fully ramped hire (yuan)"))
    ramp_months = forms.IntegerField(label=_("Ramp-up (months)"), min_value=1, max_value=24)
    departures = forms.IntegerField(label=_("Departures"), required=False, min_value=0, max_value=1000)
    departure_month = forms.DateField(
        label=_("First month without them"), required=False, input_formats=MONTH_FORMATS, widget=MonthInput
    )
    departure_productivity = _money(
        _("Monthly sales of a leaver (yuan)"), help_text=_("Empty: an average rep of the scope.")
    )
    check_target = _money(_("Check a target (yuan)"))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = service.selectable_units(user)
        self.fields["person"].queryset = service.selectable_people(user)
        self.fields["product"].queryset = Product.objects.restrict(user)
        self.fields["region"].queryset = Region.objects.restrict(user)
        _style(self)

    @staticmethod
    def defaults(today: dt.date | None = None) -> dict:
        return {
            "year": service.resolve_period(service.fiscal_calendar(), today=today).fiscal_year,
            "p_pct": round(service.DEFAULT_P * 100),
            "ramp_months": service.DEFAULT_RAMP_MONTHS,
        }

    def forbidden_scope(self) -> bool:
        """A scope id was given but is not among the user's choices."""
        return any(name in self.errors and self.data.get(name) for name in SCOPE_FIELDS)

    def clean(self):
        data = super().clean()
        if data.get("quarter") and data.get("month"):
            raise forms.ValidationError(_("Choose one part of the year: a half, a quarter or a month."))
        return data

    def scope(self, user) -> service.TargetScope:
        """The chosen scope, with the service's default (the user's own responsibility) when
        neither a unit nor a person is chosen."""
        ids = {f"{name}_id": obj.pk for name in SCOPE_FIELDS if (obj := self.cleaned_data[name]) is not None}
        return service.resolve_scope(user, **ids)

    def period(self):
        d = self.cleaned_data
        kind, number = d["quarter"] or (None, None)
        return service.resolve_period(
            service.fiscal_calendar(),
            d["year"],
            number if kind == "quarter" else None,
            d["month"],
            half=number if kind == "half" else None,
        )

    def adjustments(self) -> service.Adjustments:
        d = self.cleaned_data
        return service.Adjustments(
            growth_pct=d["growth_pct"] or 0.0,
            price_pct=d["price_pct"] or 0.0,
            new_business=_fen(d["new_business"]) or 0,
            hires=d["hires"] or 0,
            hire_month=d["hire_month"],
            hire_productivity=_fen(d["hire_productivity"]) or 0,
            ramp_months=d["ramp_months"],
            departures=d["departures"] or 0,
            departure_month=d["departure_month"],
            departure_productivity=_fen(d["departure_productivity"]),
        )

    @property
    def p(self) -> float:
        return self.cleaned_data["p_pct"] / 100

    @property
    def target(self) -> int | None:
        return _fen(self.cleaned_data["check_target"])


class BacktestForm(forms.Form):
    year = forms.IntegerField(label=_("Fiscal year to replay"), min_value=2000, max_value=2100)
    level = forms.ChoiceField(label=_("Compare"))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = service.backtest_levels(user)
        _style(self)
