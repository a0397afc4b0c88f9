import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import paginate

from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment

router = Router(tags=["org"])


class OrgUnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    depth: int
    active: bool


class PersonOut(Schema):
    id: int
    code: str
    name: str
    tier: str
    hire_date: dt.date
    leave_date: dt.date | None
    status: str


class MembershipOut(Schema):
    id: int
    person_id: int
    unit_id: int
    role: str
    valid_from: dt.date
    valid_to: dt.date | None


class TerritoryOut(Schema):
    id: int
    person_id: int
    region_id: int
    valid_from: dt.date
    valid_to: dt.date | None


@router.get("/units", response=list[OrgUnitOut])
@paginate
def list_units(request):
    return OrgUnit.objects.visible_to(request.user)


@router.get("/units/{unit_id}", response=OrgUnitOut)
def get_unit(request, unit_id: int):
    return get_object_or_404(OrgUnit.objects.visible_to(request.user), pk=unit_id)


@router.get("/people", response=list[PersonOut])
@paginate
def list_people(request, unit_id: int | None = None):
    people = Person.objects.visible_to(request.user)
    if unit_id is not None:
        unit = get_object_or_404(OrgUnit.objects.visible_to(request.user), pk=unit_id)
        people = people.filter(memberships__unit__path__startswith=unit.path).distinct()
    return people


@router.get("/people/{person_id}", response=PersonOut)
def get_person(request, person_id: int):
    return get_object_or_404(Person.objects.visible_to(request.user), pk=person_id)


@router.get("/memberships", response=list[MembershipOut])
@paginate
def list_memberships(request, on: dt.date | None = None):
    rows = Membership.objects.visible_to(request.user)
    return rows.active_on(on) if on else rows


@router.get("/territories", response=list[TerritoryOut])
@paginate
def list_territories(request):
    return TerritoryAssignment.objects.visible_to(request.user)
