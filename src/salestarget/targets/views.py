"""Recommendation pages: thin wrappers that bind a form and call the targets services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from salestarget.core.errors import DomainError
from salestarget.targets.forms import BacktestForm, RecommendForm
from salestarget.targets.scope import ScopeNotVisible, last_complete_year


@login_required
def recommend(request):
    """GET-only so that a recommendation is a link a director can send; the first visit shows
    the default scope and next fiscal year straight away."""
    form = RecommendForm(request.user, request.GET or RecommendForm.defaults())
    rec = charts = checked = None
    if form.is_valid():
        try:
            from salestarget.targets import stored  # the forecast engine, loaded when first asked
            from salestarget.targets.presenters import charts as chart_options

            rec = stored.recommend(
                request.user, form.scope(request.user), form.period(), form.p, form.adjustments()
            )
        except ScopeNotVisible as exc:
            raise Http404(str(exc)) from exc
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            charts = chart_options(rec)
            if form.target is not None:
                checked = (form.target, rec.probability_of(form.target))
    elif form.forbidden_scope():
        raise Http404("scope not visible")
    context = {"form": form, "rec": rec, "charts": charts, "checked": checked, "nav": "recommend"}
    return render(request, "targets/recommend.html", context)


@login_required
def backtest(request):
    form = BacktestForm(request.user, request.GET or {"year": last_complete_year(), "level": "rep"})
    result = None
    if form.is_valid():
        try:
            from salestarget.targets.backtest import backtest as replay

            result = replay(request.user, form.cleaned_data["year"], form.cleaned_data["level"])
        except DomainError as exc:
            form.add_error(None, str(exc))
    return render(request, "targets/backtest.html", {"form": form, "result": result, "nav": "recommend"})
