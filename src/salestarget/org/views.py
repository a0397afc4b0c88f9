from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from salestarget.org.models import Membership, Person
from salestarget.org.selectors import org_chart


@login_required
def index(request):
    return render(request, "org/index.html", {"rows": org_chart(request.user), "nav": "org"})


@login_required
def person_detail(request, pk: int):
    person = get_object_or_404(Person.objects.restrict(request.user), pk=pk)
    # Only the memberships the user may see: not where a rep was before joining their team.
    memberships = (
        Membership.objects.restrict(request.user)
        .filter(person=person)
        .select_related("unit")
        .order_by("-valid_from")
    )
    territories = person.territories.select_related("region").order_by("-valid_from")
    return render(
        request,
        "org/person.html",
        {
            "person": person,
            "memberships": memberships,
            "territories": territories,
            "today": timezone.localdate(),
            "nav": "org",
        },
    )
