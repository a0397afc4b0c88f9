import datetime as dt

from ninja import Router, Schema
from ninja.pagination import paginate

from salestarget.actuals.models import Fact, ImportBatch

router = Router(tags=["actuals"])


class FactOut(Schema):
    id: int
    kind: str
    date: dt.date
    amount: int
    quantity: int
    person_id: int | None
    unit_id: int | None
    product_id: int | None
    customer_id: int | None
    region_id: int | None
    stage: str
    source: str
    external_id: str


class BatchOut(Schema):
    id: int
    kind: str
    source: str
    filename: str
    status: str
    created_at: dt.datetime
    rows_read: int
    rows_written: int
    rows_skipped: int
    amount_total: int


@router.get("/facts", response=list[FactOut])
@paginate
def list_facts(
    request, kind: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None
):
    """Facts you may see, newest first; amounts in minor units (fen)."""
    facts = Fact.objects.visible_to(request.user).order_by("-date", "-id")
    if kind:
        facts = facts.filter(kind=kind)
    if date_from:
        facts = facts.filter(date__gte=date_from)
    if date_to:
        facts = facts.filter(date__lte=date_to)
    return facts


@router.get("/batches", response=list[BatchOut])
@paginate
def list_batches(request):
    return ImportBatch.objects.visible_to(request.user)
