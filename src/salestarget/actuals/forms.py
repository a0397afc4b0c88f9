"""Forms of the actuals pages: the upload, the column mapping, the daily report."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from salestarget.actuals.importers import FIELD_LABELS
from salestarget.actuals.masters import MASTER_FIELDS
from salestarget.actuals.parsing import UNIT_NAMES, Problem, check_workbook
from salestarget.actuals.summary import check_range
from salestarget.catalog.models import Product
from salestarget.core.errors import DomainError
from salestarget.metrics.models import FactKind, Metric
from salestarget.metrics.selectors import with_currency

ENCODINGS = [
    ("", _("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("gb18030", "GBK / GB18030"),
    ("utf-16", "UTF-16"),
]
DATE_FORMATS = [
    ("", _("Detect automatically")),
    ("yyyy-mm-dd", "yyyy-mm-dd"),
    ("dd/mm/yy", _("day/month/year (dd/mm/yy)")),
    ("mm/dd/yy", _("month/day/year (mm/dd/yy)")),
]
# The units a file's amounts may be in (parsing.UNIT_NAMES), named after the company's
# currency: 元 / 千元 / 万元 / 百万元 (美元 / 千美元 …) in Chinese, units / thousands / 10k / millions.
UNIT_LABELS = {
    "yuan": gettext_noop("units (%(currency)s)"),
    "thousand": gettext_noop("thousands (%(currency)s)"),
    "wan": gettext_noop("10k, 万 (%(currency)s)"),
    "million": gettext_noop("millions (%(currency)s)"),
}


def unit_choices() -> list[tuple[str, str]]:
    return [(name, with_currency(UNIT_LABELS[name])) for name in UNIT_NAMES]


MASTER_LABELS = {
    "units": _("Org units"),
    "people": _("People"),
    "territories": _("Territory assignments"),
    "products": _("Products"),
    "regions": _("Regions"),
    "customers": _("Customers"),
    "segments": _("Customer segments"),
}
MASTER_FIELD_LABELS = {
    "code": gettext_noop("Code"),
    "name": gettext_noop("Name"),
    "parent": gettext_noop("Parent code"),
    "kind": gettext_noop("Kind"),
    "active": gettext_noop("Active"),
    "unit": gettext_noop("Org unit"),
    "role": gettext_noop("Role"),
    "tier": gettext_noop("Tier"),
    "hire_date": gettext_noop("Hire date"),
    "leave_date": gettext_noop("Leave date"),
    "status": gettext_noop("Status"),
    "email": gettext_noop("Email"),
    "employee_no": gettext_noop("Employee number"),
    "national_id": gettext_noop("National id"),
    "valid_from": gettext_noop("Valid from"),
    "valid_to": gettext_noop("Valid to"),
    "person": gettext_noop("Person"),
    "region": gettext_noop("Region"),
    "category": gettext_noop("Category path"),
    "unit_price": gettext_noop("List price"),
    "segment": gettext_noop("Segment"),
    "owner": gettext_noop("Account owner"),
    "first_deal_date": gettext_noop("First deal"),
}
# Fields that may combine two columns (order number + line number; category + sub-category).
TWO_COLUMNS = ("external_id", "product_category")


class Styled:
    """Bootstrap classes on every widget, so templates render fields without a form library."""

    def style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            elif isinstance(widget, forms.HiddenInput):
                continue
            else:
                css = "form-control"
            widget.attrs["class"] = css


class UploadForm(Styled, forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("File (CSV, XLSX or XLS)"))
    source = forms.CharField(
        label=_("Source system"),
        initial="file",
        max_length=64,
        help_text=_("Rows already imported from this source (same external id) are skipped."),
    )
    encoding = forms.ChoiceField(label=_("Encoding (CSV)"), choices=ENCODINGS, required=False)
    sheet = forms.CharField(label=_("Worksheet (Excel)"), required=False, max_length=100)

    def __init__(self, *args, is_admin: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(k.value, k.label) for k in FactKind]
        if is_admin:
            choices += [(k, MASTER_LABELS[k]) for k in MASTER_FIELDS]
        self.fields["kind"].choices = choices
        self.style()

    def clean(self):
        """A workbook the reader could not hold (too many cells, a zip bomb) is refused here,
        before it is stored, with the reason under the file field."""
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            try:
                check_workbook(upload, data.get("sheet") or None)
            except Problem as problem:
                self.add_error("file", str(problem))
        return data


class MappingForm(Styled, forms.Form):
    """One select per field, pre-set to the guessed column; the user corrects what is wrong."""

    date_format = forms.ChoiceField(label=_("Date format"), choices=DATE_FORMATS, required=False)

    def __init__(self, *args, fields, headers, is_fact: bool, is_admin: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_names = list(fields)
        columns = [("", "—")] + [(h, h) for h in headers if h]
        labels = FIELD_LABELS if is_fact else MASTER_FIELD_LABELS
        for name in self.field_names:
            self.fields[f"map_{name}"] = forms.ChoiceField(
                label=_(labels[name]), choices=columns, required=False
            )
            if is_fact and name in TWO_COLUMNS:
                self.fields[f"map_{name}_2"] = forms.ChoiceField(
                    label=_("and column"), choices=columns, required=False
                )
        if is_fact:
            self.fields["unit"] = forms.ChoiceField(
                label=_("Amounts are in"), choices=unit_choices(), initial="yuan"
            )
        if is_admin:
            self.fields["create_missing"] = forms.BooleanField(
                label=_("Create unknown people, products, customers and regions"), required=False
            )
        if "valid_from" in self.field_names:
            self.fields["effective_from"] = forms.DateField(
                label=_("Effective from"),
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
                help_text=_(
                    "The day placements start for rows without a date of their own "
                    "(default: a new person's hire date, else today)."
                ),
            )
        self.style()

    def mapping_rows(self):
        """(field, first column bound field, second column bound field or None) for the template."""
        for name in self.field_names:
            second = self[f"map_{name}_2"] if f"map_{name}_2" in self.fields else None
            yield name, self[f"map_{name}"], second

    def mapping(self) -> dict[str, list[str]]:
        """Every field, mapped or explicitly not: what the user sees is what is imported."""
        data = self.cleaned_data
        return {
            name: [c for c in (data.get(f"map_{name}"), data.get(f"map_{name}_2")) if c]
            for name in self.field_names
        }

    @staticmethod
    def initial_for(headers: list[str], columns: dict[str, list[int]]) -> dict:
        initial = {}
        for name, idx in columns.items():
            for n, i in enumerate(idx[:2]):
                initial[f"map_{name}" + ("_2" if n else "")] = headers[i]
        return initial


# --- daily report ----------------------------------------------------------------------

STAGES = [
    ("lead", _("Lead")),
    ("qualified", _("Qualified")),
    ("proposal", _("Proposal")),
    ("negotiation", _("Negotiation")),
    ("won", _("Won")),
    ("lost", _("Lost")),
]


class DailyReportForm(Styled, forms.Form):
    # A date input takes only ISO dates; the zh locale's own format would leave it empty.
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(
        label=_("Today's summary"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()

    def clean_day(self):
        day = self.cleaned_data["day"]
        today = timezone.localdate()
        if day > today:
            raise forms.ValidationError(_("The report cannot be for a future day."))
        if day < today - dt.timedelta(days=7):
            raise forms.ValidationError(_("Reports can be filed up to 7 days late."))
        return day


class _Line(Styled, forms.Form):
    customer = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "st-customers", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()
        for name in ("amount", "quantity"):
            if name in self.fields:
                self.fields[name].widget.attrs["inputmode"] = "decimal" if name == "amount" else "numeric"

    def has_line(self) -> bool:
        return bool(self.cleaned_data) and any(v not in (None, "") for v in self.cleaned_data.values())


class DealLine(_Line):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(active=True), required=False, to_field_name="code"
    )
    amount = forms.DecimalField(
        label=with_currency(gettext_noop("Amount (%(currency)s)")),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, required=False)

    def clean(self):
        data = super().clean()
        if (data.get("customer") or data.get("product") or data.get("quantity")) and data.get(
            "amount"
        ) is None:
            self.add_error("amount", _("Enter the amount of the deal."))
        return data


class CollectionLine(_Line):
    amount = forms.DecimalField(
        label=with_currency(gettext_noop("Amount (%(currency)s)")),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("customer") and data.get("amount") is None:
            self.add_error("amount", _("Enter the amount collected."))
        return data


class OpportunityLine(_Line):
    amount = forms.DecimalField(
        label=with_currency(gettext_noop("Expected amount (%(currency)s)")),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
    )
    stage = forms.ChoiceField(label=_("Stage"), choices=[("", "—"), *STAGES], required=False)

    def clean(self):
        data = super().clean()
        if (data.get("customer") or data.get("amount") is not None) and not data.get("stage"):
            self.add_error("stage", _("Choose the stage."))
        return data


class VisitLine(_Line):
    pass


LINES = {
    FactKind.ORDER: (DealLine, _("Deals")),
    FactKind.OPPORTUNITY: (OpportunityLine, _("New opportunities")),
    FactKind.COLLECTION: (CollectionLine, _("Collections")),
    FactKind.VISIT: (VisitLine, _("Visits")),
}


def line_formsets(data=None) -> dict[str, forms.BaseFormSet]:
    return {
        kind: forms.formset_factory(form, extra=3, max_num=30)(data, prefix=kind)
        for kind, (form, _label) in LINES.items()
    }


class SummaryForm(forms.Form):
    """The actuals summary's question: which metric, by person or unit, over which days."""

    metric = forms.ModelChoiceField(
        label=_("Metric"), queryset=Metric.objects.filter(active=True), to_field_name="code", empty_label=None
    )
    by = forms.ChoiceField(label=_("By"), choices=[("person", _("Person")), ("unit", _("Unit"))])
    start = forms.DateField(label=_("From"))
    end = forms.DateField(label=_("To"))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            try:
                check_range(data["start"], data["end"])
            except DomainError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data
