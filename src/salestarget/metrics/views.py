"""The settings pages: the company settings, the metric definitions and the working calendar.
Thin: reads here, writes through ``metrics.services`` (which checks the permission again).

Administrators and sales operations see the settings; administrators change the company
settings and the working calendar, both change metrics (see metrics/services.py for why)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salestarget.core.errors import DomainError
from salestarget.metrics import calendar_io, selectors, services
from salestarget.metrics.forms import CalendarYearForm, CompanySettingsForm, MetricForm
from salestarget.metrics.models import FiscalSettings, Metric


def _settings_reader(request) -> None:
    """The settings area is for administrators and sales operations (a company-wide reach)."""
    if not services.may_edit_metrics(request.user):
        raise PermissionDenied(_("Only administrators and sales operations see the settings."))


def _save(request, form, write) -> bool:
    """Validate ``form`` and write it through the service; the service's refusals (a stale
    version, a decimals change on a metric with targets) become form errors."""
    if not form.is_valid():
        return False
    try:
        write(form)
    except DomainError as exc:
        form.add_error(None, str(exc))
        return False
    return True


@login_required
def company(request):
    _settings_reader(request)
    editable = services.may_configure_company(request.user)
    settings = FiscalSettings.current()
    if request.method == "POST" and not editable:
        raise PermissionDenied(_("Only administrators may change the company settings."))
    form = CompanySettingsForm(request.POST or None, instance=settings, editable=editable)

    def write(form):
        services.do_update_company_settings(
            request.user, version=form.cleaned_data["version"], **form.changes()
        )

    if request.method == "POST" and _save(request, form, write):
        messages.success(request, _("Company settings saved."))
        return redirect("settings:company")
    context = {
        "form": form,
        "editable": editable,
        "changes": selectors.recent_changes(FiscalSettings.current()),
        "tab": "company",
        "nav": "settings",
    }
    return render(request, "metrics/company.html", context)


@login_required
def metric_list(request):
    _settings_reader(request)
    metrics = Metric.objects.restrict(request.user).select_related("numerator", "denominator")
    field = Metric._meta.get_field
    labels = {
        name: field(name).verbose_name for name in ("code", "unit", "decimals", "credit_rule", "active")
    }
    labels["metric"] = Metric._meta.verbose_name
    labels["inactive"] = _("inactive")
    context = {"metrics": metrics, "labels": labels, "tab": "metrics", "nav": "settings"}
    return render(request, "metrics/metrics.html", context)


@login_required
def metric_detail(request, code: str):
    _settings_reader(request)
    metric = get_object_or_404(Metric.objects.restrict(request.user), code=code)
    form = MetricForm(request.POST or None, instance=metric)

    def write(form):
        services.do_update_metric(
            request.user,
            Metric.objects.get(pk=metric.pk),
            version=form.cleaned_data["version"],
            **form.changes(),
        )

    if request.method == "POST" and _save(request, form, write):
        messages.success(request, _("Metric %(name)s saved.") % {"name": Metric.objects.get(pk=metric.pk)})
        return redirect("settings:metric", code=metric.code)
    context = {
        "metric": Metric.objects.get(pk=metric.pk),
        "form": form,
        "changes": selectors.recent_changes(metric),
        "tab": "metrics",
        "nav": "settings",
    }
    return render(request, "metrics/metric.html", context)


def _calendar_year_asked(request) -> int:
    text = request.GET.get("year") or request.POST.get("year")
    if not text:
        return timezone.localdate().year
    try:
        year = int(text)
        services.check_calendar_year(year)
    except (ValueError, DomainError) as exc:
        raise BadRequest(str(exc)) from None
    return year


def _calendar_days_of(form) -> tuple[list, list[int]]:
    """The days of the form: the uploaded file's, else the typed lines."""
    upload = form.cleaned_data.get("file")
    if upload is None:
        return calendar_io.parse_text(form.cleaned_data.get("days") or "")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calendar"
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return calendar_io.read_file(path)


@login_required
def calendar(request):
    """The working calendar of a year: its days off and make-up working days and where they come
    from; administrators enter the year's official dates and the company's days off."""
    _settings_reader(request)
    editable = services.may_configure_company(request.user)
    if request.method == "POST" and not editable:
        raise PermissionDenied(_("Only administrators may change the working calendar."))
    year = _calendar_year_asked(request)
    form = CalendarYearForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            days, lines = _calendar_days_of(form)
            services.do_set_calendar_year(request.user, year, days, lines=lines)
        except services.CalendarProblems as exc:
            problems = exc.problems
        except DomainError as exc:
            problems = [str(exc)]
        else:
            messages.success(request, _("The working calendar of %(year)s is saved.") % {"year": year})
            return redirect(f"{reverse('settings:calendar')}?year={year}")
    the_year = selectors.calendar_year(year)
    if request.method != "POST":
        if request.GET.get("start") == "library":
            initial = calendar_io.to_text(selectors.library_year(year))
        else:
            initial = calendar_io.to_text(d for d in the_year.days if d.origin == "company")
        form = CalendarYearForm(initial={"days": initial})
    context = {
        "year": year,
        "calendar": the_year,
        "form": form,
        "problems": problems,
        "editable": editable,
        "years": range(year - 2, year + 3),
        "tab": "calendar",
        "nav": "settings",
    }
    return render(request, "metrics/calendar.html", context)
