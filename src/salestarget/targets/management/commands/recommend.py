"""``salestarget recommend``: a recommended target and its explanation on the command line.

Scope is given by codes (what people type), and the command runs as a user (an admin by
default) so that the same visibility rules apply as on the web page and the API.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from salestarget.catalog.models import Product, Region
from salestarget.core.errors import DomainError
from salestarget.core.money import format_amount, format_percent
from salestarget.engine.rounding import round_half_up
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import company_currency, fiscal_calendar
from salestarget.org.models import OrgUnit, Person
from salestarget.targets import stored
from salestarget.targets.adjustments import COUNT, DEFAULT_P, MONTH, PERCENT, SPECS, Adjustments
from salestarget.targets.labels import model_label
from salestarget.targets.scope import ScopeNotVisible, resolve_period, resolve_scope


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as exc:
        raise CommandError(_("Months are written YYYY-MM, not %(value)s.") % {"value": value}) from exc


def _yuan(value: str) -> int:
    """Whole units of the company's currency on the command line, minor units in the service."""
    try:
        return round_half_up(Decimal(value.strip()) * 100)
    except (InvalidOperation, ValueError, OverflowError) as exc:
        raise CommandError(_("%(value)s is not an amount.") % {"value": value}) from exc


def _spec_help(spec) -> str:
    text = str(spec.label) + (f"; {spec.help_text}" if spec.help_text else "")
    return text.replace("%", "%%")


# Read when the help is printed: a money label names the company's currency, from the database.
_help_text = lazy(_spec_help, str)

# How each kind of adjustment is typed on the command line (money in the company's currency).
TYPES = {PERCENT: float, COUNT: int, MONTH: _month}
METAVARS = {PERCENT: "PERCENT", COUNT: "N", MONTH: "YYYY-MM"}


class Command(BaseCommand):
    help = "Recommend a target for a scope and period, with its chance of being reached."

    def add_arguments(self, parser):
        parser.add_argument("--unit", help="org unit code (its whole subtree)")
        parser.add_argument("--person", help="sales rep code")
        parser.add_argument("--product", help="product code (its whole subtree)")
        parser.add_argument("--region", help="region code (its whole subtree)")
        parser.add_argument("--year", type=int, help="fiscal year (default: next)")
        parser.add_argument("--half", type=int, choices=(1, 2))
        parser.add_argument("--quarter", type=int, choices=range(1, 5))
        parser.add_argument("--month", type=int, choices=range(1, 13))
        parser.add_argument("--p", type=float, default=DEFAULT_P, help="chance of reaching, e.g. 0.8")
        parser.add_argument("--metric", default="sales")
        for spec in SPECS:
            parser.add_argument(
                f"--{(spec.flag or spec.name).replace('_', '-')}",
                dest=spec.name,
                type=_yuan if spec.money else TYPES[spec.kind],
                metavar="AMOUNT" if spec.money else METAVARS[spec.kind],
                default=spec.default,
                help=_help_text(spec),
            )
        parser.add_argument(
            "--target", type=_yuan, help="also print the chance of this target (in the company's currency)"
        )
        parser.add_argument("--user", help="run as this username (default: the first admin)")
        parser.add_argument("--json", action="store_true", help="print the whole recommendation as JSON")

    def handle(self, *args, **o):
        user = self._user(o["user"])
        ids = {
            "unit_id": self._pk(OrgUnit, o["unit"]),
            "person_id": self._pk(Person, o["person"]),
            "product_id": self._pk(Product, o["product"]),
            "region_id": self._pk(Region, o["region"]),
        }
        try:
            scope = resolve_scope(user, **ids)
            period = resolve_period(fiscal_calendar(), o["year"], o["quarter"], o["month"], half=o["half"])
            adjustments = Adjustments.from_values(o)
            rec = stored.recommend(user, scope, period, o["p"], adjustments, metric=o["metric"])
        except (ScopeNotVisible, DomainError) as exc:
            raise CommandError(str(exc)) from exc
        if o["json"]:
            data = rec.to_dict()
            if o["target"] is not None:
                data["target"] = {"target": o["target"], "probability": rec.probability_of(o["target"])}
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        self._print(rec, o["target"])

    def _user(self, username):
        users = get_user_model().objects.filter(is_active=True)
        user = (
            users.filter(username=username).first() if username else users.filter(is_superuser=True).first()
        )
        if user is None:
            raise CommandError(
                _("There is no active user %(name)s.") % {"name": username}
                if username
                else _("There is no administrator: name a user with --user.")
            )
        return user

    def _pk(self, model, code):
        if code is None:
            return None
        pk = model.objects.filter(code=code).values_list("pk", flat=True).first()
        if pk is None:
            raise CommandError(
                _("There is no %(what)s with the code %(code)s.")
                % {"what": model._meta.verbose_name, "code": code}
            )
        return pk

    def _print(self, rec, target):
        decimals = rec.metric.decimals
        cur = company_currency()
        is_money = rec.metric.aggregation in (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT)

        def money(v):
            return format_amount(v, decimals, "zh", currency=cur, symbol=is_money)

        out = self.stdout
        out.write(f"{rec.scope.label()} · {rec.period_label} · {rec.metric.name}")
        out.write(
            _("Model %(model)s, %(months)s months of history up to %(end)s")
            % {
                "model": model_label(rec.model),
                "months": rec.forecast.history_months,
                "end": f"{rec.history_end:%Y-%m}",
            }
        )
        for line in rec.lines:
            note = f"  ({line.note})" if line.note else ""
            out.write(f"  {line.label:<40} {money(line.amount):>16}{note}")
        out.write(
            _("Recommended target (chance of reaching it %(p)s): %(target)s (%(fen)s fen)")
            % {"p": format_percent(rec.p, 0), "target": money(rec.recommended), "fen": rec.recommended}
        )
        for q, t in rec.ladder():
            out.write("  " + _("%(p)s chance: %(target)s") % {"p": format_percent(q, 0), "target": money(t)})
        out.write(
            _("%(rule)s: %(target)s, chance %(p)s")
            % {
                "rule": rec.rule_of_thumb_label,
                "target": money(rec.rule_of_thumb),
                "p": format_percent(rec.rule_probability),
            }
        )
        if rec.existing_target is not None:
            out.write(
                _("Current target: %(target)s, chance %(p)s")
                % {"target": money(rec.existing_target), "p": format_percent(rec.existing_probability)}
            )
        if target is not None:
            out.write(
                _("The chance of reaching a target of %(target)s: %(p)s")
                % {"target": money(target), "p": format_percent(rec.probability_of(target))}
            )
        if rec.bottom_up is not None:
            bu = rec.bottom_up
            out.write(
                _("Bottom-up (sum of %(reps)s reps): %(bottom_up)s; top-down: %(top_down)s; gap %(gap)s")
                % {
                    "reps": len(bu.reps),
                    "bottom_up": money(bu.recommended_total),
                    "top_down": money(bu.top_down_recommended),
                    "gap": money(bu.gap),
                }
            )
        for warning in rec.warnings:
            out.write(_("Note: %(text)s") % {"text": warning})
