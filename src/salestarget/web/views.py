from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from salestarget.web.dashboard import charts, home_summary


@login_required
def home(request):
    summary = home_summary(request.user)
    return render(request, "web/home.html", {"summary": summary, "charts": charts(summary), "nav": "home"})
