"""The settings pages: the company settings and the metric definitions. Thin: reads here,
writes through ``metrics.services`` (which checks the permission again).

Administrators and sales operations see the settings; administrators change the company
settings, both change metrics (see metrics/services.py for why)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from salestarget.core.errors import DomainError
from salestarget.metrics import selectors, services
from salestarget.metrics.forms import CompanySettingsForm, MetricForm
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
