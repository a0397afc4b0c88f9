"""Recommendation pages: thin wrappers that bind a form and call the targets services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from salestarget.core.errors import DomainError
from salestarget.metrics.selectors import estimated_note
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.forms import AdoptForm, BacktestForm, RecommendForm
from salestarget.targets.scope import ScopeNotVisible, last_complete_year


@login_required
def recommend(request):
    """GET-only so that a recommendation is a link a director can send; the first visit shows
    the default scope and next fiscal year straight away."""
    form = RecommendForm(request.user, request.GET or RecommendForm.defaults())
    rec = charts = checked = plain = None
    adopt = False
    if form.is_valid():
        try:
            from salestarget.targets import stored  # the forecast engine, loaded when first asked
            from salestarget.targets.hooks import may_adopt
            from salestarget.targets.plain import summary
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
            plain, adopt = summary(rec), may_adopt(request.user, rec.scope)
            if form.target is not None:
                checked = (form.target, rec.probability_of(form.target))
    elif form.forbidden_scope():
        raise Http404("scope not visible")
    context = {
        "form": form,
        "rec": rec,
        "charts": charts,
        "checked": checked,
        "plain": plain,
        "adopt": adopt,
        "estimated": estimated_note(request.user, rec.period.start, rec.period.end) if rec else None,
        "nav": "recommend",
    }
    return render(request, "targets/recommend.html", context)


@login_required
def adopt(request):
    """POST only, for users who may change targets: once plans exist adopting writes a target,
    which no link, crawler or prefetch may do. What becomes of the figure is the hook's to
    decide (``targets.hooks``), so the planning work changes no view."""
    if not scope_of(request.user).can(Action.CHANGE):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = AdoptForm(request.user, request.POST)
    if not form.is_valid():
        if form.forbidden_scope():
            raise Http404("scope not visible")
        return render(request, "400.html", status=400)
    from salestarget.targets.hooks import adopt_recommendation

    try:
        scope, period = form.scope(request.user), form.period()
    except ScopeNotVisible as exc:
        raise Http404(str(exc)) from exc
    except DomainError:
        return render(request, "400.html", status=400)
    data = form.cleaned_data
    adoption = adopt_recommendation(request.user, scope, period, data["metric"], data["amount"])
    (messages.success if adoption.saved else messages.info)(request, adoption.message)
    return redirect(_back(request, data["next"]))


def _back(request, url: str) -> str:
    """The recommendation the figure came from; any other address (another site, another page)
    is the default recommendation, so the form cannot be used to send a user elsewhere."""
    page = reverse("targets:recommend")
    safe = url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=request.is_secure())
    return url if url and safe and url.startswith(page) else page


@login_required
def backtest(request):
    form = BacktestForm(request.user, request.GET or {"year": last_complete_year(), "level": "rep"})
    result = plain = None
    if form.is_valid():
        try:
            from salestarget.targets.backtest import backtest as replay
            from salestarget.targets.plain import backtest_summary

            result = replay(request.user, form.cleaned_data["year"], form.cleaned_data["level"])
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            plain = backtest_summary(result)
    context = {"form": form, "result": result, "plain": plain, "nav": "recommend"}
    return render(request, "targets/backtest.html", context)
