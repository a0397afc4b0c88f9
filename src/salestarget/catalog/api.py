import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from salestarget.catalog.models import Customer, Product, Region, Segment
from salestarget.core.api_contract import Id, responses

router = Router(tags=["catalog"])


class NodeOut(Schema):
    id: int
    code: str
    name: str
    parent_id: int | None
    depth: int
    active: bool


class SegmentOut(Schema):
    id: int
    code: str
    name: str
    sort_order: int
    active: bool


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    segment_id: int | None
    segment: str | None = Field(None, description="the segment's code")
    region_id: int | None
    owner_id: int | None
    first_deal_date: dt.date | None
    active: bool

    @staticmethod
    def resolve_segment(obj) -> str | None:
        return obj.segment.code if obj.segment_id else None


@router.get("/products", response=responses(list[NodeOut], 422))
@paginate
def list_products(request):
    return Product.objects.restrict(request.user)


@router.get("/regions", response=responses(list[NodeOut], 422))
@paginate
def list_regions(request):
    return Region.objects.restrict(request.user)


@router.get("/segments", response=responses(list[SegmentOut], 422))
@paginate
def list_segments(request):
    return Segment.objects.restrict(request.user)


@router.get("/customers", response=responses(list[CustomerOut], 422))
@paginate
def list_customers(request):
    return Customer.objects.restrict(request.user).select_related("segment")


@router.get("/customers/{customer_id}", response=responses(CustomerOut, 404, 422))
def get_customer(request, customer_id: Id):
    return get_object_or_404(
        Customer.objects.restrict(request.user).select_related("segment"), pk=customer_id
    )
