"""Forms of the recommendation pages: money in yuan on screen, fen in the service.

Scope choices are limited to what the user may see, so an id outside them is not a form
error but a scope the user may not ask about (the view turns it into a 404).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from salestarget.catalog.models import Product, Region
from salestarget.core.api_contract import MAX_AMOUNT
from salestarget.core.errors import DomainError
from salestarget.metrics.selectors import fiscal_calendar, with_currency
from salestarget.targets.adjustments import COUNT, DEFAULT_P, PERCENT, SPECS, Adjustments, Spec
from salestarget.targets.scope import (
    LEVEL_WORDS,
    TargetScope,
    backtest_depth,
    backtest_levels,
    resolve_period,
    resolve_scope,
    selectable_people,
    selectable_units,
)

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


def _within(spec: Spec):
    """The schema's own bounds check (one message for every way out of range)."""

    def check(value):
        try:
            spec.check(_fen(value) if spec.money else value)
        except DomainError as exc:
            raise forms.ValidationError(str(exc), code="range") from exc

    return check


def _adjustment_field(spec: Spec) -> forms.Field:
    """The form field of one adjustment: in yuan for money; empty means the default."""
    common = {"label": spec.label, "required": False, "help_text": spec.help_text}
    if spec.kind == PERCENT:
        field = forms.FloatField(validators=[_within(spec)], **common)
    elif spec.money:
        field = forms.DecimalField(max_digits=16, decimal_places=2, validators=[_within(spec)], **common)
    elif spec.kind == COUNT:
        field = forms.IntegerField(validators=[_within(spec)], **common)
    else:
        return forms.DateField(input_formats=MONTH_FORMATS, widget=MonthInput, **common)
    low = spec.gt if spec.gt is not None else spec.ge
    for attr, bound in (("min", low), ("max", spec.le), ("placeholder", spec.default)):
        if bound is not None:
            field.widget.attrs[attr] = spec.shown(bound)
    return field


class RecommendForm(forms.Form):
    """Scope, period and chance; the adjustments' fields are added from the schema (SPECS)."""

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
    check_target = _money(with_currency(gettext_noop("Check a target (%(currency)s)")))

    # The adopt form asks for a figure, not for what-ifs that would produce one.
    with_adjustments = True

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.with_adjustments:
            for spec in SPECS:
                self.fields[spec.name] = _adjustment_field(spec)
        self.fields["unit"].queryset = selectable_units(user)
        self.fields["person"].queryset = selectable_people(user)
        self.fields["product"].queryset = Product.objects.restrict(user)
        self.fields["region"].queryset = Region.objects.restrict(user)
        _style(self)

    @staticmethod
    def defaults(today: dt.date | None = None) -> dict:
        return {
            "year": resolve_period(fiscal_calendar(), today=today).fiscal_year,
            "p_pct": round(DEFAULT_P * 100),
            **{spec.name: spec.default for spec in SPECS if spec.default},
        }

    def forbidden_scope(self) -> bool:
        """A scope id was given but is not among the user's choices."""
        return any(name in self.errors and self.data.get(name) for name in SCOPE_FIELDS)

    def clean(self):
        data = super().clean()
        if data.get("quarter") and data.get("month"):
            raise forms.ValidationError(_("Choose one part of the year: a half, a quarter or a month."))
        return data

    @property
    def adjustment_rows(self) -> list[list[forms.BoundField]]:
        """The adjustments' fields, one list per group of the schema (a row on the page)."""
        rows: dict[str, list] = {}
        for spec in SPECS:
            rows.setdefault(spec.group, []).append(self[spec.name])
        return list(rows.values())

    @property
    def adjusted(self) -> bool:
        """Whether any adjustment differs from its default (the page then shows them open)."""
        return any(
            self[spec.name].value() not in (None, "", spec.default, str(spec.default)) for spec in SPECS
        )

    def scope(self, user) -> TargetScope:
        """The chosen scope, with the service's default (the user's own responsibility) when
        neither a unit nor a person is chosen."""
        ids = {f"{name}_id": obj.pk for name in SCOPE_FIELDS if (obj := self.cleaned_data[name]) is not None}
        return resolve_scope(user, **ids)

    def period(self):
        d = self.cleaned_data
        kind, number = d["quarter"] or (None, None)
        return resolve_period(
            fiscal_calendar(),
            d["year"],
            number if kind == "quarter" else None,
            d["month"],
            half=number if kind == "half" else None,
        )

    def adjustments(self) -> Adjustments:
        d = self.cleaned_data
        return Adjustments.from_values({s.name: _fen(d[s.name]) if s.money else d[s.name] for s in SPECS})

    @property
    def p(self) -> float:
        return self.cleaned_data["p_pct"] / 100

    @property
    def target(self) -> int | None:
        return _fen(self.cleaned_data["check_target"])


class AdoptForm(RecommendForm):
    """The "use as target" post: the page's scope, period and chance, and the figure shown.

    The figure is the user's choice, taken as posted rather than computed again: the page
    showed it, and the planning work will let the user change it before it becomes a target.
    """

    with_adjustments = False
    check_target = None
    metric = forms.SlugField(max_length=32)
    amount = forms.IntegerField(min_value=0, max_value=MAX_AMOUNT)
    next = forms.CharField(required=False, max_length=2000)

    def clean_metric(self):
        from salestarget.targets.history import metric_for  # numpy: loaded when first asked

        try:
            return metric_for(self.cleaned_data["metric"])
        except DomainError as exc:
            raise forms.ValidationError(str(exc), code="metric") from exc


class BacktestForm(forms.Form):
    year = forms.IntegerField(label=_("Fiscal year to replay"), min_value=2000, max_value=2100)
    level = forms.ChoiceField(label=_("Compare"))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = backtest_levels(user)
        # The API's words ("unit", "company", "region") work in a shared link too: as the depth.
        level = self.data.get("level") if self.is_bound else None
        if level in LEVEL_WORDS and level != "rep":
            try:
                depth = backtest_depth(user, level)
            except DomainError:
                pass  # left as it is: the choice field refuses it
            else:
                self.data = self.data.copy()
                self.data["level"] = str(depth)
        _style(self)
