import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from salestarget.actuals.importers import localised
from salestarget.actuals.models import Fact, ImportBatch
from salestarget.actuals.parsing import Problem
from salestarget.actuals.services import do_import_fact_rows

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


MAX_BULK_ROWS = 10_000


class CreditIn(Schema):
    person: str
    share: Decimal = Field(description="percent, e.g. 60 or 33.33; the shares of a row add up to 100")


class FactRowIn(Schema):
    """One fact, with the fields of the file import; codes or names for the references."""

    external_id: str = Field(description="unique within the source; re-sending it is a no-op")
    date: str = Field(description="ISO 2024-11-25 (other formats as in file imports)")
    amount: str | int | float | None = Field(
        None, description="in yuan (or the request's unit); a string keeps every decimal"
    )
    quantity: int | str | None = None
    profit: str | int | float | None = None
    person: str | None = Field(None, description="code or name; empty means yourself")
    credits: list[CreditIn] | None = Field(None, description="split credit instead of one person")
    product: str | None = None
    product_name: str | None = None
    product_category: str | None = None
    customer: str | None = None
    customer_name: str | None = None
    region: str | None = None
    stage: str | None = None


class BulkFactsIn(Schema):
    kind: str = Field(description="order, collection, visit or opportunity")
    source: str = Field("api", description="the sending system; idempotency key = source + external_id")
    unit: Literal["yuan", "thousand", "wan"] = "yuan"
    create_missing: bool = Field(
        False, description="admins only: create unknown people, products, customers, regions"
    )
    dry_run: bool = False
    rows: list[FactRowIn]


class RowErrorOut(Schema):
    row: int | None
    column: str
    value: str
    reason: str


class BulkResultOut(Schema):
    batch_id: int | None
    status: str
    rows_read: int
    rows_written: int
    rows_skipped: int
    amount_total: int = Field(description="fen")
    error_count: int
    errors: list[RowErrorOut]


class Message(Schema):
    detail: str


@router.post("/facts/bulk", response={200: BulkResultOut, 403: Message, 422: BulkResultOut})
def bulk_facts(request, payload: BulkFactsIn):
    """Record facts in bulk with the rules of the file import: every row is checked, any error
    rejects the whole request (422, nothing written), rows already received from the same
    source are skipped (so retries are safe), rollups are updated in the same transaction.

    Who may send what: an admin anything; a manager facts of the people in the teams they
    manage; a rep only their own (leave ``person`` empty). Amounts come in yuan (or ``unit``);
    the answer and ``GET /facts`` give fen."""
    if len(payload.rows) > MAX_BULK_ROWS:
        return Status(
            422,
            _bulk_error(
                gettext("At most %(count)s rows per request; split the upload.") % {"count": MAX_BULK_ROWS}
            ),
        )
    rows = []
    for row in payload.rows:
        data = row.dict(exclude_none=True)
        if row.credits:
            data["credits"] = [{"person": c.person, "share": c.share} for c in row.credits]
        rows.append(data)
    try:
        result = do_import_fact_rows(
            request.user,
            payload.kind,
            rows,
            source=payload.source,
            create_missing=payload.create_missing,
            dry_run=payload.dry_run,
            unit=payload.unit,
            filename=f"API {len(rows)} rows",
        )
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    except Problem as problem:
        return Status(422, _bulk_error(str(problem)))
    body = {
        "batch_id": result.batch_id,
        "status": result.status,
        "rows_read": result.rows_read,
        "rows_written": result.rows_written,
        "rows_skipped": result.rows_skipped,
        "amount_total": result.amount_total,
        "error_count": result.error_count,
        "errors": [localised(e) for e in result.errors],
    }
    return Status(200 if result.ok else 422, body)


def _bulk_error(reason: str) -> dict:
    return {
        "batch_id": None,
        "status": "rejected",
        "rows_read": 0,
        "rows_written": 0,
        "rows_skipped": 0,
        "amount_total": 0,
        "error_count": 1,
        "errors": [{"row": None, "column": "", "value": "", "reason": reason}],
    }
