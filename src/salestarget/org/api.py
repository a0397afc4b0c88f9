import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import paginate

from salestarget.core.api_contract import Id, IsoDate, responses
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


@router.get("/units", response=responses(list[OrgUnitOut], 422))
@paginate
def list_units(request):
    return OrgUnit.objects.restrict(request.user)


@router.get("/units/{unit_id}", response=responses(OrgUnitOut, 404, 422))
def get_unit(request, unit_id: Id):
    return get_object_or_404(OrgUnit.objects.restrict(request.user), pk=unit_id)


@router.get("/people", response=responses(list[PersonOut], 404, 422))
@paginate
def list_people(request, unit_id: Id | None = None):
    people = Person.objects.restrict(request.user)
    if unit_id is not None:
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=unit_id)
        people = people.filter(memberships__unit__path__startswith=unit.path).distinct()
    return people


@router.get("/people/{person_id}", response=responses(PersonOut, 404, 422))
def get_person(request, person_id: Id):
    return get_object_or_404(Person.objects.restrict(request.user), pk=person_id)


@router.get("/memberships", response=responses(list[MembershipOut], 422))
@paginate
def list_memberships(request, on: IsoDate | None = None):
    rows = Membership.objects.restrict(request.user)
    return rows.active_on(on) if on else rows


@router.get("/territories", response=responses(list[TerritoryOut], 422))
@paginate
def list_territories(request):
    return TerritoryAssignment.objects.restrict(request.user)
