import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from salestarget.actuals import summary
from salestarget.actuals.importers import localised, warning_texts
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
from salestarget.metrics.models import FactKind, Metric

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


class SummaryRowOut(Schema):
    id: int = Field(description="person or unit id (0 for the total)")
    code: str
    name: str
    depth: int = Field(description="for units: depth below the first unit shown")
    values: list[int | None] = Field(description="one per month, in the metric's minor units")
    total: int | None


class SummaryOut(Schema):
    metric: str
    unit: str
    decimals: int = Field(description="values are the metric's value × 10^decimals (fen for money)")
    credit_rule: str
    by: Literal["person", "unit"]
    start: dt.date
    end: dt.date
    months: list[str] = Field(description="YYYY-MM, one per value")
    rows: list[SummaryRowOut]
    total: SummaryRowOut | None = Field(
        description="the scope's total, each credited row counted once; null when there are no rows"
    )


@router.get("/summary", response=responses(SummaryOut, 400, 404, 422))
def actuals_summary(
    request,
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    metric: Text(32, 1) = "sales",
    by: Literal["person", "unit"] = "person",
):
    """Actuals by person (or unit, its whole subtree) and month, credited by the metric's rule;
    only what you may see. Without dates: this fiscal year up to yesterday."""
    default_start, default_end = summary.default_range(timezone.localdate())
    start, end = start or default_start, end or default_end
    the_metric = get_object_or_404(Metric.objects.filter(active=True), code=metric)
    result = summary.actuals_summary(request.user, the_metric, start, end, by)
    return {
        "metric": the_metric.code,
        "unit": the_metric.unit,
        "decimals": the_metric.decimals,
        "credit_rule": the_metric.credit_rule,
        "by": by,
        "start": start,
        "end": end,
        "months": [f"{m.year}-{m.month:02d}" for m in result.months],
        "rows": [vars(r) for r in result.rows],
        "total": vars(result.total) if result.total else None,
    }


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
        None, description="in the company's currency (or the request's unit); a string keeps every decimal"
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
    unit: Literal["yuan", "thousand", "wan", "million"] = Field(
        "yuan",
        description="of the amounts, in the company's currency: units, thousands, 万 (10,000), millions",
    )
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
    warnings: list[str] = Field(
        default_factory=list, description="rows written but counted for no team or no territory"
    )


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
    manage; a rep only their own (leave ``person`` empty). Amounts come in the company's currency (or ``unit``);
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
        body["warnings"] = warning_texts(result.warnings)
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
