"""Recommendations computed once: the forecast basis kept per visible rows, scope and period.

Fitting the models takes seconds; everything after them (adjustments, chance, the published
target, names) takes milliseconds. So the page, the API and the command keep the basis
(``StoredForecast``) and compose each request's recommendation from it: a second visit, or
the same scope with other adjustments or another chance, fits nothing again.

A stored basis is used while it is current: its ``data_version`` is that of the facts (a fact
batch written or rolled back, a unit, product or region saved all change it) and its history
ends where today's would. Otherwise the request computes it again and stores it;
``refresh()`` (the ``refresh_recommendations`` job) does that in the background for every
stored basis whose data changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import numpy as np
from django.db.models import Count, Max, Q
from django.utils import timezone

from salestarget.actuals.models import ImportBatch
from salestarget.catalog.models import Product, Region
from salestarget.core.errors import DomainError
from salestarget.engine.cadence import Cadence
from salestarget.engine.calendar import FiscalCalendar, Period
from salestarget.engine.explain import Note
from salestarget.engine.forecast import SeriesForecast
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import Membership, OrgUnit, TerritoryAssignment
from salestarget.org.permissions import Action, scope_of
from salestarget.targets import history
from salestarget.targets.adjustments import DEFAULT_P, Adjustments
from salestarget.targets.models import StoredForecast
from salestarget.targets.recommendations import (
    Basis,
    Recommendation,
    check_probability,
    compose,
    forecast_basis,
    history_end_for,
)
from salestarget.targets.scope import ScopeNotVisible, TargetScope, resolve_scope

# Part of every key: bump it when the stored basis changes shape or meaning (3: exposure follows
# the data's cadence, issue 17).
FORMAT = 3
# A basis nobody asked for in this long is dropped rather than computed again.
KEEP = dt.timedelta(days=30)
# used_at is written at most this often, so that reading a basis rarely writes.
USE_RESOLUTION = dt.timedelta(days=1)


def recommend(
    user,
    scope: TargetScope,
    period: Period,
    p: float = DEFAULT_P,
    adjustments: Adjustments | None = None,
    *,
    metric: str = "sales",
    bottom_up: bool = True,
    today: dt.date | None = None,
) -> Recommendation:
    """The recommended target for ``scope`` in ``period`` that is reached with probability ``p``:
    the adjustments and the chance composed on the stored forecast, fitted again only when the
    facts, the trees or the month changed (see ``history_end_for`` for where the history ends)."""
    check_probability(p)
    return compose(
        user, basis(user, scope, period, metric=metric, bottom_up=bottom_up, today=today), p, adjustments
    )


def basis(
    user, scope: TargetScope, period: Period, *, metric: str, bottom_up: bool, today: dt.date | None = None
) -> Basis:
    """The stored basis when current, else a fresh one, stored."""
    today = today or timezone.localdate()
    the_metric = history.metric_for(metric)
    # Read before the facts are: a basis is never labelled newer than what it was computed from.
    version = data_version()
    inputs = _inputs(scope, period, metric, bottom_up)
    key = _key(user, inputs, the_metric, fiscal_calendar())
    end = history_end_for(period, today)
    now = timezone.now()
    row = StoredForecast.objects.filter(key=key, data_version=version, history_end=end).first()
    if row is not None:
        if row.used_at < now - USE_RESOLUTION:
            StoredForecast.objects.filter(pk=row.pk).update(used_at=now)
        return _load(row.basis, scope, the_metric, period)
    data = _dump(forecast_basis(user, scope, period, metric=metric, bottom_up=bottom_up, today=today))
    StoredForecast.objects.update_or_create(
        key=key,
        defaults={
            "user": user,
            "inputs": inputs,
            "history_end": end,
            "data_version": version,
            "basis": data,
            "computed_at": now,
            "used_at": now,
        },
    )
    # Composed from the stored form on the first visit too, so that every visit shows the same.
    return _load(data, scope, the_metric, period)


def data_version() -> str:
    """Changes whenever the rollups or what groups them may have changed: a batch written (the
    newest id) or rolled back (their count); a unit, product, region, membership or territory
    saved (the newest history id of each: a back-dated move re-books past facts)."""
    batches = ImportBatch.objects.exclude(status=ImportBatch.Status.REJECTED).aggregate(
        last=Max("pk"), undone=Count("pk", filter=Q(status=ImportBatch.Status.ROLLED_BACK))
    )
    trees = [
        model.history.aggregate(v=Max("history_id"))["v"] or 0
        for model in (OrgUnit, Product, Region, Membership, TerritoryAssignment)
    ]
    return f"{batches['last'] or 0}-{batches['undone']}-" + ".".join(str(t) for t in trees)


def refresh(today: dt.date | None = None) -> int:
    """Compute again every stored basis that is not current; drop those nobody used within
    ``KEEP`` and those their user may no longer ask for. Returns how many were computed."""
    today = today or timezone.localdate()
    now = timezone.now()
    version = data_version()
    StoredForecast.objects.filter(used_at__lt=now - KEEP).delete()
    cal = fiscal_calendar()
    computed = 0
    for row in StoredForecast.objects.defer("basis").select_related("user").iterator():
        if not _askable(row, cal):
            row.delete()
            continue
        period = _period(row.inputs, cal)
        if row.data_version == version and row.history_end == history_end_for(period, today):
            continue
        try:
            scope = resolve_scope(row.user, **row.inputs["scope"])
            fresh = forecast_basis(
                row.user,
                scope,
                period,
                metric=row.inputs["metric"],
                bottom_up=row.inputs["bottom_up"],
                today=today,
            )
        except ScopeNotVisible:
            row.delete()
            continue
        StoredForecast.objects.filter(pk=row.pk).update(
            basis=_dump(fresh),
            data_version=version,
            history_end=fresh.history_end,
            computed_at=timezone.now(),
        )
        computed += 1
    return computed


# --------------------------------------------------------------------------- keys


def _askable(row: StoredForecast, cal: FiscalCalendar) -> bool:
    """Whether the row's user could still ask for it: active, the metric still forecastable by
    the same rule, the same rows visible to them, the same calendar."""
    try:
        metric = history.metric_for(row.inputs["metric"])
    except DomainError:
        return False
    return row.user.is_active and _key(row.user, row.inputs, metric, cal) == row.key


def _inputs(scope: TargetScope, period: Period, metric: str, bottom_up: bool) -> dict:
    return {
        "scope": scope.ids(),
        "metric": metric,
        "period": {"kind": period.kind, "start": period.start.isoformat(), "end": period.end.isoformat()},
        "bottom_up": bottom_up,
    }


def _period(inputs: dict, cal: FiscalCalendar) -> Period:
    p = inputs["period"]
    start, end = dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"])
    return Period(p["kind"], start, end, cal.start_month, cal.week_start)


def _visible_rows(user) -> str:
    """Which rollups the user may see (``RollupQuerySet.scope_filter``): everything, or the
    units under their subtrees plus their own person's."""
    reach = scope_of(user).reach(Action.VIEW)
    if reach.everything:
        return "all"
    return f"units={','.join(sorted(reach.paths))};person={reach.person_id or ''}"


def _key(user, inputs: dict, metric: Metric, cal: FiscalCalendar) -> str:
    """A hash of what a basis depends on besides the facts (the company's own calendar days only
    when it has some, so that keys stored before them stay valid)."""
    calendar = [cal.start_month, cal.week_start, cal.country]
    if cal.overrides or cal.company_years:
        calendar += [[[d.isoformat(), w] for d, w in cal.overrides], list(cal.company_years)]
    text = json.dumps(
        {
            "format": FORMAT,
            "visible": _visible_rows(user),
            "calendar": calendar,
            "metric_rule": [metric.fact_kind, metric.stage, metric.aggregation, metric.credit_rule],
            **inputs,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- stored form


def _dump(b: Basis) -> dict:
    """The basis as JSON values. Reps keep only what the bottom-up table shows (model and
    period total), so that a company of thousands of reps stays a small row."""
    return {
        "history_start": b.history_start.isoformat() if b.history_start else None,
        "history_end": b.history_end.isoformat(),
        "history": [int(v) for v in b.history],
        "forecast": _dump_forecast(b.forecast),
        "active_reps": list(b.active_reps),
        "reps": None
        if b.rep_forecasts is None
        else [[rep, _dump_total(fc)] for rep, fc in b.rep_forecasts.items()],
        "last_year_actual": b.last_year_actual,
        "last_year_period": None
        if b.last_year_period is None
        else [b.last_year_period.start.isoformat(), b.last_year_period.end.isoformat()],
        "new_reps": [[rep, n] for rep, n in b.new_reps.items()],
        "cadence": [b.cadence.kind, b.cadence.weekday],
    }


def _load(data: dict, scope: TargetScope, metric, period: Period) -> Basis:
    start = data["history_start"]
    return Basis(
        scope=scope,
        metric=metric,
        period=period,
        history_start=dt.date.fromisoformat(start) if start else None,
        history_end=dt.date.fromisoformat(data["history_end"]),
        history=data["history"],
        forecast=_load_forecast(data["forecast"]),
        active_reps=data["active_reps"],
        rep_forecasts=None if data["reps"] is None else {rep: _load_forecast(fc) for rep, fc in data["reps"]},
        last_year_actual=data["last_year_actual"],
        last_year_period=_load_period(data.get("last_year_period"), period),
        new_reps={rep: n for rep, n in data.get("new_reps", [])},
        cadence=Cadence(*data.get("cadence", ["daily", None])),
    )


def _load_period(dates: list[str] | None, like: Period) -> Period | None:
    if not dates:
        return None
    start, end = (dt.date.fromisoformat(d) for d in dates)
    return Period(like.kind, start, end, like.start_month, like.week_start)


def _number(value: float) -> float | None:
    """JSON has no NaN (PostgreSQL's jsonb refuses it): None stands for it."""
    return float(value) if math.isfinite(value) else None


def _numbers(values) -> list[float | None]:
    return [_number(v) for v in values]


def _array(values: list) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _dump_total(fc: SeriesForecast) -> dict:
    return {
        "key": fc.key,
        "model": fc.model,
        "total_mean": int(fc.total_mean),
        "total_sigma": int(fc.total_sigma),
        "nonnegative": bool(fc.nonnegative),
        "total_quantiles": [float(v) for v in fc.total_quantiles],
    }


def _dump_forecast(fc: SeriesForecast) -> dict:
    return {
        **_dump_total(fc),
        "backtest": {m: {k: _number(v) for k, v in s.items()} for m, s in fc.backtest.items()},
        "mean": _numbers(fc.mean),
        "lo": {str(level): _numbers(arr) for level, arr in fc.lo.items()},
        "hi": {str(level): _numbers(arr) for level, arr in fc.hi.items()},
        "period_start": int(fc.period_start),
        "history_months": int(fc.history_months),
        "filled_months": int(fc.filled_months),
        "per_working_day": bool(fc.per_working_day),
        "interval_scale": float(fc.interval_scale),
        "warnings": [n.to_dict() for n in fc.warnings],
        "backtest_windows": int(fc.backtest_windows),
        "backtest_window_months": int(fc.backtest_window_months),
        "backtest_errors": [float(v) for v in fc.backtest_errors],
    }


def _load_forecast(d: dict) -> SeriesForecast:
    """A SeriesForecast from its stored form (a rep's: the period total only)."""
    return SeriesForecast(
        key=d["key"],
        model=d["model"],
        backtest={
            m: {k: math.nan if v is None else v for k, v in s.items()}
            for m, s in d.get("backtest", {}).items()
        },
        mean=_array(d.get("mean", [])),
        lo={int(level): _array(v) for level, v in d.get("lo", {}).items()},
        hi={int(level): _array(v) for level, v in d.get("hi", {}).items()},
        period_start=d.get("period_start", 0),
        total_mean=d["total_mean"],
        total_sigma=d["total_sigma"],
        history_months=d.get("history_months", 0),
        filled_months=d.get("filled_months", 0),
        per_working_day=d.get("per_working_day", False),
        interval_scale=d.get("interval_scale", 1.0),
        nonnegative=d["nonnegative"],
        warnings=tuple(Note(n["code"], n["params"]) for n in d.get("warnings", [])),
        # A rep's stored total (_dump_total) keeps its distribution but no backtest.
        total_quantiles=tuple(d.get("total_quantiles", ())),
        backtest_windows=d.get("backtest_windows", 0),
        backtest_window_months=d.get("backtest_window_months", 0),
        backtest_errors=tuple(d.get("backtest_errors", ())),
    )
