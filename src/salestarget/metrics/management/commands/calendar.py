"""``salestarget calendar show YEAR`` and ``salestarget calendar import YEAR FILE``: the
company's working calendar of a year (public holidays, make-up working days, company days off)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salestarget.core.errors import DomainError
from salestarget.metrics import calendar_io, selectors, services


class Command(BaseCommand):
    help = (
        "Show a year's working calendar, or import it from a CSV/XLSX file with the columns "
        "date,kind,name (kind: holiday, workday or company_off); an import replaces the year's days."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="the year's days off and make-up working days, and their source")
        show.add_argument("year", type=int)
        load = sub.add_parser("import", help="replace the year's days with those of FILE")
        load.add_argument("year", type=int)
        load.add_argument("file")

    def handle(self, *args, action, year, **options):
        try:
            services.check_calendar_year(year)
            if action == "import":
                days, lines = calendar_io.read_file(options["file"])
                saved = services.do_set_calendar_year(None, year, days, lines=lines)
                self.stdout.write(_("%(year)s: %(count)s days saved.") % {"year": year, "count": len(saved)})
            self._show(year)
        except services.CalendarProblems as exc:
            raise CommandError("\n".join(exc.problems)) from None
        except DomainError as exc:
            raise CommandError(str(exc)) from None

    def _show(self, year: int) -> None:
        cal = selectors.calendar_year(year)
        source = {
            "company": _("entered by the company"),
            "library": _("official days from the built-in calendar"),
            "estimate": _("estimated"),
        }[cal.source]
        self.stdout.write(_("Working calendar %(year)s: %(source)s") % {"year": year, "source": source})
        if cal.estimated:
            self.stdout.write(
                _(
                    "The public holidays and make-up working days of %(year)s have not been entered "
                    "yet: working days are estimated. Enter them once the General Office of the "
                    "State Council announces them."
                )
                % {"year": year}
            )
        for day in cal.days:
            self.stdout.write(f"{day.date.isoformat()},{day.kind},{day.name}")
