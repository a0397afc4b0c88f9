import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import paginate

from salestarget.catalog.models import Customer, Product, Region

router = Router(tags=["catalog"])


class NodeOut(Schema):
    id: int
    code: str
    name: str
    parent_id: int | None
    depth: int
    active: bool


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    segment: str
    region_id: int | None
    owner_id: int | None
    first_deal_date: dt.date | None
    active: bool


@router.get("/products", response=list[NodeOut])
@paginate
def list_products(request):
    return Product.objects.visible_to(request.user)


@router.get("/regions", response=list[NodeOut])
@paginate
def list_regions(request):
    return Region.objects.visible_to(request.user)


@router.get("/customers", response=list[CustomerOut])
@paginate
def list_customers(request):
    return Customer.objects.visible_to(request.user)


@router.get("/customers/{customer_id}", response=CustomerOut)
def get_customer(request, customer_id: int):
    return get_object_or_404(Customer.objects.visible_to(request.user), pk=customer_id)
