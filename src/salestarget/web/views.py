from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from salestarget.metrics.selectors import estimated_note
from salestarget.tracking.views import my_target_cards
from salestarget.web.dashboard import charts, home_summary


@login_required
def home(request):
    summary = home_summary(request.user)
    context = {
        "summary": summary,
        "charts": charts(summary),
        "targets": my_target_cards(request.user, summary.as_of),
        "nav": "home",
    }
    # Time progress counts the year's working days: say so when they are estimated.
    if summary.counts_working_days:
        context["estimated"] = estimated_note(request.user, summary.year_start, summary.year_end)
    return render(request, "web/home.html", context)
