import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, ngettext
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from salestarget.actuals.importers import localised
from salestarget.actuals.models import Fact, ImportBatch
from salestarget.actuals.parsing import Problem
from salestarget.actuals.services import do_import_fact_rows, source_of
from salestarget.core.api_contract import (
    MAX_AMOUNT,
    BodyIn,
    ErrorItem,
    ErrorOut,
    IsoDate,
    Text,
    Whole,
    responses,
)
from salestarget.metrics.models import FactKind

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


@router.get("/facts", response=responses(list[FactOut], 422))
@paginate
def list_facts(
    request, kind: FactKind | None = None, date_from: IsoDate | None = None, date_to: IsoDate | None = None
):
    """Facts you may see, newest first; amounts in minor units (fen)."""
    facts = Fact.objects.restrict(request.user).order_by("-date", "-id")
    if kind:
        facts = facts.filter(kind=kind)
    if date_from:
        facts = facts.filter(date__gte=date_from)
    if date_to:
        facts = facts.filter(date__lte=date_to)
    return facts


@router.get("/batches", response=responses(list[BatchOut], 422))
@paginate
def list_batches(request):
    return ImportBatch.objects.restrict(request.user)


MAX_BULK_ROWS = 10_000
MAX_CREDITS = 100
# A number in yuan (or the request's unit): the import checks the exact limit in fen.
Number = Annotated[float, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False)]
WholeNumber = Whole(-MAX_AMOUNT, MAX_AMOUNT)
Code = Text(255)


class CreditIn(BodyIn):
    person: Text(255, min_length=1)
    share: Decimal = Field(
        ge=0,
        le=100,
        strict=False,
        allow_inf_nan=False,
        description="percent, e.g. 60 or 33.33; the shares of a row add up to 100",
    )


class FactRowIn(BodyIn):
    """One fact, with the fields of the file import; codes or names for the references."""

    external_id: Text(128) = Field(description="unique within the source; re-sending it is a no-op")
    date: Text(40) = Field(description="ISO 2024-11-25 (other formats as in file imports)")
    amount: Text(40) | WholeNumber | Number | None = Field(
        None, description="in yuan (or the request's unit); a string keeps every decimal"
    )
    quantity: WholeNumber | Text(40) | None = None
    profit: Text(40) | WholeNumber | Number | None = None
    person: Code | None = Field(None, description="code or name; empty means yourself")
    credits: list[CreditIn] | None = Field(
        None, max_length=MAX_CREDITS, description="split credit instead of one person"
    )
    product: Code | None = None
    product_name: Code | None = None
    product_category: Code | None = None
    customer: Code | None = None
    customer_name: Code | None = None
    region: Code | None = None
    stage: Text(64) | None = None


class BulkFactsIn(BodyIn):
    kind: Text(32) = Field(description="order, collection, visit or opportunity")
    source: Text(64) | None = Field(
        None,
        description="the sending system; idempotency key = source + external_id. Empty: the source "
        "bound to the request's API token (salestarget token --source), else “api”",
    )
    unit: Literal["yuan", "thousand", "wan"] = "yuan"
    create_missing: bool = Field(
        False, description="admins only: create unknown people, products, customers, regions"
    )
    dry_run: bool = False
    rows: list[FactRowIn] = Field(
        json_schema_extra={"maxItems": MAX_BULK_ROWS}, description=f"at most {MAX_BULK_ROWS:,}"
    )

    @field_validator("rows", mode="before")
    @classmethod
    def _at_most_max_rows(cls, rows):
        # Before validation: 10 million rows are refused without checking each one.
        if isinstance(rows, list) and len(rows) > MAX_BULK_ROWS:
            raise PydanticCustomError(
                "too_long",
                gettext("At most %(count)s rows per request; split the upload.") % {"count": MAX_BULK_ROWS},
            )
        return rows


class RowErrorOut(ErrorItem):
    """A rejected row: ``loc``/``message`` as every error, and the columns of the file import's
    error report (``row`` counts from 1; None for a problem with the whole request)."""

    row: int | None = None
    column: str = ""
    value: str = ""
    reason: str = ""


class BulkResultOut(Schema):
    batch_id: int | None
    status: str
    rows_read: int
    rows_written: int
    rows_skipped: int
    amount_total: int = Field(description="fen")
    error_count: int
    errors: list[RowErrorOut]


class BulkErrorOut(ErrorOut):
    """422: an ErrorOut. When the request was valid but rows were rejected, ``errors`` name
    each row and column and the batch's counts are added (``status`` "rejected")."""

    errors: list[RowErrorOut] = Field(default_factory=list)
    batch_id: int | None = None
    status: str | None = None
    rows_read: int | None = None
    rows_written: int | None = None
    rows_skipped: int | None = None
    amount_total: int | None = Field(None, description="fen")
    error_count: int | None = Field(None, description="may exceed the errors listed")


@router.post("/facts/bulk", response={**responses(BulkResultOut, 400, 403, 413), 422: BulkErrorOut})
def bulk_facts(request, payload: BulkFactsIn):
    """Record facts in bulk with the rules of the file import: every row is checked, any error
    rejects the whole request (422, nothing written), rows already received from the same
    source are skipped (so retries are safe), rollups are updated in the same transaction.

    Who may send what: an admin anything; a manager facts of the people in the teams they
    manage; a rep only their own (leave ``person`` empty). Amounts come in yuan (or ``unit``);
    the answer and ``GET /facts`` give fen."""
    rows = []
    for row in payload.rows:
        data = row.model_dump(exclude_none=True)
        if row.credits:
            data["credits"] = [{"person": c.person, "share": c.share} for c in row.credits]
        rows.append(data)
    try:
        result = do_import_fact_rows(
            request.user,
            payload.kind,
            rows,
            source=payload.source or source_of(getattr(request, "api_token", None)),
            create_missing=payload.create_missing,
            dry_run=payload.dry_run,
            unit=payload.unit,
            filename=f"API {len(rows)} rows",
            token=getattr(request, "api_token", None),
        )
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc), "errors": []})
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
        "errors": [_row_error(localised(e)) for e in result.errors],
    }
    if result.ok:
        return Status(200, body)
    detail = ngettext(
        "%(count)s error in the rows; nothing was written.",
        "%(count)s errors in the rows; nothing was written.",
        result.error_count,
    ) % {"count": result.error_count}
    return Status(422, {"detail": detail, **body})


def _row_error(entry: dict) -> dict:
    """An import error entry (row from 1, column, value, reason) as an ErrorItem as well."""
    row, column = entry["row"], entry["column"]
    loc = ["body", "rows", row - 1] if isinstance(row, int) and row >= 1 else ["body"]
    if column:
        loc.append(column)
    value = "" if entry["value"] is None else str(entry["value"])
    return {**entry, "value": value, "loc": loc, "message": entry["reason"], "type": "row"}


def _bulk_error(reason: str) -> dict:
    return {
        "detail": reason,
        "batch_id": None,
        "status": "rejected",
        "rows_read": 0,
        "rows_written": 0,
        "rows_skipped": 0,
        "amount_total": 0,
        "error_count": 1,
        "errors": [_row_error({"row": None, "column": "", "value": "", "reason": reason})],
    }
