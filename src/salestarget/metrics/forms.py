"""Forms of the settings pages: the company settings and a metric's definition.

Each carries the row's ``version`` in a hidden field; the service compares it on save, so an
edit made after someone else's is refused instead of overwriting it (metrics/services.py)."""

from __future__ import annotations

from django import forms
from django.utils.dates import MONTHS
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from salestarget.core.money import CURRENCIES
from salestarget.metrics.models import FiscalSettings, Metric
from salestarget.metrics.services import COMPANY_FIELDS, METRIC_FIELDS


class _VersionedForm(forms.ModelForm):
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            key: _("This form came without its version: reload the page and make your change again.")
            for key in ("required", "invalid", "min_value")
        },
    )

    def __init__(self, *args, editable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["version"].initial = self.instance.version
        for field in self.fields.values():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            if isinstance(field, forms.BooleanField):
                css = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            field.widget.attrs.setdefault("class", css)
            if not editable:
                field.disabled = True

    def changes(self) -> dict:
        """The edited fields, for the service (the version goes separately)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


class CompanySettingsForm(_VersionedForm):
    fy_start_month = forms.TypedChoiceField(
        label=_("Fiscal year starts in"), coerce=int, choices=sorted(MONTHS.items())
    )

    class Meta:
        model = FiscalSettings
        fields = COMPANY_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lang = get_language() or "zh"
        self.fields["currency"].choices = [(code, c.label(lang)) for code, c in CURRENCIES.items()]


class MetricForm(_VersionedForm):
    class Meta:
        model = Metric
        fields = METRIC_FIELDS
        help_texts = {
            "credit_rule": _(
                "Who a row counts for: its owner, whoever holds the territory on the row's date, "
                "or several people by their shares."
            ),
            "stage": _("Only count rows at this stage, e.g. won. Empty: every stage."),
            "active": _("Inactive metrics are kept with their history but not offered for new plans."),
        }


class CalendarYearForm(forms.Form):
    """A year of the working calendar: typed lines or a CSV/XLSX file with the same columns
    (the file wins when both are given). Read by ``metrics.calendar_io``, checked and saved by
    ``metrics.services.do_set_calendar_year``."""

    MAX_FILE = 1024 * 1024

    days = forms.CharField(
        label=_("Days, one per line: date,kind,name"),
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 12,
                "class": "form-control font-monospace",
                "placeholder": "2027-01-01,holiday,元旦",
            }
        ),
        help_text=_(
            "Kinds: holiday (public holiday, a day off), workday (make-up working day, 调休上班), "
            "company_off (the company's own day off). List every day off of a holiday, weekends "
            "included. Leave empty and save to go back to the library's days."
        ),
    )
    file = forms.FileField(
        label=_("Or upload a CSV or XLSX file with the same columns"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.xlsx,.xls,.txt"}),
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > self.MAX_FILE:
            raise forms.ValidationError(_("The file is larger than 1 MB; a year's calendar is a few lines."))
        return upload
