"""Forms of the plan pages: amounts in the metric's own unit on screen (yuan for money), minor
units in the services; percentages as people type them (80, 10)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from salestarget.core.api_contract import MAX_AMOUNT
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import Plan
from salestarget.targets.services import LevelSpec

PARTS = [
    ("", _("Whole year")),
    ("h1", _("First half")),
    ("h2", _("Second half")),
    ("q1", "Q1"),
    ("q2", "Q2"),
    ("q3", "Q3"),
    ("q4", "Q4"),
]


def _style(form: forms.Form) -> None:
    """Bootstrap's small controls (check boxes and radios as such), so the forms fit a phone."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.RadioSelect):
            continue
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs.setdefault("class", css)


class PlanForm(forms.Form):
    metric = forms.ModelChoiceField(
        label=_("Metric"),
        queryset=Metric.objects.filter(active=True).exclude(aggregation=Metric.Aggregation.RATIO),
        to_field_name="code",
        empty_label=None,
    )
    year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=2100)
    part = forms.ChoiceField(label=_("Period"), choices=PARTS, required=False)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    by_product = forms.BooleanField(label=_("By product line"), required=False)
    # The decomposition wizard splits over time, the organisation and product lines; region and
    # segment targets come from the plan's workbook (QA: a ticked box that seemed to do nothing).
    by_region = forms.BooleanField(
        label=_("By sales region"),
        required=False,
        help_text=_(
            "Region targets are filled in the plan's Excel workbook (its Region column) and imported."
        ),
    )
    by_segment = forms.BooleanField(
        label=_("By customer segment"),
        required=False,
        help_text=_(
            "Segment targets are filled in the plan's Excel workbook (its Segment column) and imported."
        ),
    )
    floor_pct = forms.DecimalField(
        label=_("Floor (percent of the target)"),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=1,
        max_value=100,
    )
    stretch_pct = forms.DecimalField(
        label=_("Stretch (percent of the target)"),
        required=False,
        max_digits=7,
        decimal_places=2,
        min_value=100,
        max_value=1000,
    )
    round_top = forms.DecimalField(
        label=_("Round the company and regions to"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    round_reps = forms.DecimalField(
        label=_("Round reps to"), required=False, max_digits=16, decimal_places=2, min_value=Decimal("0.01")
    )
    over_pct = forms.DecimalField(
        label=_("Over-assignment below the company (%)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def period(self):
        year = fiscal_calendar().year(self.cleaned_data["year"])
        part = self.cleaned_data.get("part") or ""
        if not part:
            return year
        kind, index = ("half", int(part[1])) if part[0] == "h" else ("quarter", int(part[1]))
        return year.children(kind)[index - 1]

    def options(self, metric: Metric, depth_of_reps: int) -> dict:
        """The service's keyword arguments (factors as fractions, rounding in minor units)."""
        data = self.cleaned_data
        scale = Decimal(10) ** metric.decimals
        levels = []
        over = int((data["over_pct"] or 0) * 100)
        top = data.get("round_top")
        reps = data.get("round_reps")
        for depth in range(depth_of_reps + 1):
            unit = reps if depth == depth_of_reps else top
            rounding = max(int(unit * scale), 1) if unit is not None else 1
            levels.append(LevelSpec(depth, rounding, over if depth > 0 else 0))
        return {
            "name": data["name"],
            "by_product": data["by_product"],
            "by_region": data["by_region"],
            "by_segment": data["by_segment"],
            "floor_factor": None if data["floor_pct"] is None else data["floor_pct"] / 100,
            "stretch_factor": None if data["stretch_pct"] is None else data["stretch_pct"] / 100,
            "levels": levels,
        }


class TotalForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Set the total by"), choices=Plan.TotalMethod.choices, widget=forms.RadioSelect
    )
    amount = forms.DecimalField(
        label=_("Total"), required=False, max_digits=18, decimal_places=4, min_value=0
    )
    chance = forms.IntegerField(
        label=_("Chance of reaching it (%)"), required=False, min_value=50, max_value=99
    )
    growth = forms.DecimalField(
        label=_("Growth over last year (%)"),
        required=False,
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("-99.99"),
        max_value=1000,
    )

    def __init__(self, metric: Metric, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metric = metric
        from salestarget.actuals.summary import unit_label
        from salestarget.targets.labels import lang

        self.fields["amount"].label = _("Total (%(unit)s)") % {"unit": unit_label(metric, lang())}
        _style(self)

    def options(self) -> dict:
        data = self.cleaned_data
        amount = data.get("amount")
        minor = None
        if amount is not None:
            minor = int((amount * Decimal(10) ** self.metric.decimals).to_integral_value())
            if minor > MAX_AMOUNT:
                minor = MAX_AMOUNT + 1  # the service refuses it with its own message
        growth = data.get("growth")
        return {
            "method": data["method"],
            "amount": minor,
            "chance": data.get("chance"),
            "growth_bp": None if growth is None else int(growth * 100),
        }
