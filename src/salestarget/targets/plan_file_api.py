"""A plan's cells, and the plan to a file and back, over the API (issue 13).

``GET /plans/{plan_id}/cells`` lists the cells of a scenario (the primary one by default) that
the caller may see: ``TargetCell.objects.restrict`` is the only scoping, as everywhere.
``GET /plans/{plan_id}/export`` and ``POST /plans/{plan_id}/import`` are the plan page's export
and import (``targets.workbook``), with the same rule of who may use them
(``services.may_plan``, else 403): the file holds every unit's and person's targets.
"""

import codecs
import datetime as dt
import json
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext, gettext_noop, ngettext
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate
from pydantic import StringConstraints

from salestarget.actuals.parsing import UNIT_NAMES, Problem
from salestarget.core.api_contract import Bool, ErrorItem, ErrorOut, Id, QueryIn, Text, responses
from salestarget.core.errors import DomainError
from salestarget.targets import services
from salestarget.targets.grid_api import router as cells_router
from salestarget.targets.models import Plan, Scenario, TargetCell

router = Router(tags=["targets"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
# An uploaded plan file: a whole organisation's year by week is a few MB; the readers check
# rows, columns and unpacked size on top (settings.SALESTARGET_IMPORT_LIMITS).
MAX_PLAN_FILE_BYTES = 100 * 1024 * 1024
# A mapping {field: column} as JSON.
MAX_MAPPING_CHARS = 10_000

PeriodKind = Literal["year", "half", "quarter", "month", "week"]
FileUnit = Literal["yuan", "thousand", "wan", "million"]
assert set(FileUnit.__args__) == set(UNIT_NAMES)
MappingText = Text(MAX_MAPPING_CHARS)
SheetName = Text(100)
Encoding = Annotated[str, StringConstraints(max_length=40, pattern=r"^[-A-Za-z0-9_.:]*$")]


# --------------------------------------------------------------------------- cells


class PlanCellOut(Schema):
    id: int
    unit_id: int | None
    person_id: int | None
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    product_id: int | None
    region_id: int | None
    segment_id: int | None
    floor: int | None = Field(description="the metric's minor units (fen)")
    target: int = Field(description="the metric's minor units (fen)")
    stretch: int | None = Field(description="the metric's minor units (fen)")
    locked: bool
    source: str
    version: int


class PlanCellsQuery(QueryIn):
    scenario_id: Id | None = Field(None, description="the plan's primary scenario by default")
    unit_id: Id | None = None
    person_id: Id | None = None
    period_kind: PeriodKind | None = None
    product_id: Id | None = None


def _plan(request, plan_id: int) -> Plan:
    return get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=plan_id)


def _scenario(request, plan: Plan, scenario_id: int | None) -> Scenario:
    scenarios = Scenario.objects.restrict(request.user).filter(plan=plan)
    if scenario_id is None:
        return get_object_or_404(scenarios, is_primary=True)
    return get_object_or_404(scenarios, pk=scenario_id)


# The path is also grid_api's POST (save cells): Django hands one URL to one router, so this
# GET joins the router that owns the path (a GET on our own router would answer 405).
@cells_router.get("/plans/{plan_id}/cells", response=responses(list[PlanCellOut], 404, 422))
@paginate
def list_plan_cells(request, plan_id: Id, q: Query[PlanCellsQuery]):
    """The cells of the plan's scenario (the primary one by default) that you may see: a rep
    their own, a manager those of the units and people they manage. Amounts in fen."""
    plan = _plan(request, plan_id)
    scenario = _scenario(request, plan, q.scenario_id)
    cells = TargetCell.objects.restrict(request.user).filter(scenario=scenario)
    for name in ("unit_id", "person_id", "period_kind", "product_id"):
        value = getattr(q, name)
        if value is not None:
            cells = cells.filter(**{name: value})
    return cells.order_by("period_kind", "period_start", "unit_id", "person_id", "pk")


# --------------------------------------------------------------------------- export


class PlanExportQuery(QueryIn):
    format: Literal["xlsx", "csv"] = Field("xlsx", description="xlsx (the planners' layout) or csv (long)")
    scenario_id: Id | None = Field(None, description="the plan's primary scenario by default")


def _check_may_plan(request) -> None:
    if not services.may_plan(request.user):
        raise PermissionDenied(
            gettext("Only those who look after the whole organisation may set up target plans.")
        )


@router.get(
    "/plans/{plan_id}/export",
    response=responses(None, 403, 404, 422),
    openapi_extra={
        "responses": {
            200: {
                "description": "the file",
                "content": {
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def export_plan_file(request, plan_id: Id, q: Query[PlanExportQuery]):
    """The plan as the plan page exports it: an xlsx workbook in the planners' layout or one
    long CSV table, headers in the request's language. For those who plan the whole
    organisation (403 for anyone else): the file holds every unit's and person's targets."""
    from salestarget.targets.labels import lang
    from salestarget.targets.workbook import export_plan

    plan = _plan(request, plan_id)
    _check_may_plan(request)
    scenario = _scenario(request, plan, q.scenario_id)
    content = export_plan(plan, scenario, lang=lang(), fmt=q.format)
    response = HttpResponse(content, content_type=CSV if q.format == "csv" else XLSX)
    response["Content-Disposition"] = f'attachment; filename="plan-{plan.pk}.{q.format}"'
    return response


# --------------------------------------------------------------------------- import


class PlanImportRowErrorOut(ErrorItem):
    """A rejected row: ``loc``/``message`` as every error, and the columns of the import's
    error report (``row`` counts from 1; None for a problem with the whole file). In a workbook
    of several sheets ``sheet`` names the row's sheet and ``column`` is written 底线!合计."""

    row: int | None = None
    sheet: str = ""
    column: str = ""
    value: str = ""
    reason: str = ""


class PlanImportOut(Schema):
    plan: int
    file: str
    status: str = Field(description="applied, or dry_run (nothing written)")
    rows_read: int
    cells_written: int = Field(description="on a dry run: would be written")
    cells_deleted: int
    options: dict[str, Any] = Field(description="unit, format, encoding, sheets and the column mapping used")
    error_count: int
    errors: list[PlanImportRowErrorOut]


class PlanImportErrorOut(ErrorOut):
    """400: an ErrorOut. When the file was read but rows were rejected, ``errors`` name each
    row and column, and the import's counts are added (``status`` "rejected"); nothing was
    written."""

    errors: list[PlanImportRowErrorOut] = Field(default_factory=list)
    plan: int | None = None
    file: str | None = None
    status: str | None = None
    rows_read: int | None = None
    cells_written: int | None = None
    cells_deleted: int | None = None
    options: dict[str, Any] | None = None
    error_count: int | None = Field(None, description="may exceed the errors listed")


class PlanImportForm(QueryIn):
    unit: FileUnit = Field("yuan", description="the unit of the file's amounts")
    dry_run: Bool = Field(False, description="check and count, write nothing")
    mapping: MappingText | None = Field(
        None, description='JSON object {field: column}, e.g. {"code": "工号", "M01": "一月"}'
    )
    sheet: SheetName | None = Field(None, description="read this sheet as the target level")
    encoding: Encoding | None = Field(None, description="the CSV's encoding, detected by default")


def _row_error(entry: dict) -> dict:
    row, column = entry.get("row"), entry.get("column") or ""
    loc: list[str | int] = ["body", "file"]
    if isinstance(row, int) and row >= 1:
        loc.append(row)
    if column:
        loc.append(column)
    value = "" if entry.get("value") is None else str(entry["value"])
    reason = entry.get("reason", "")
    return {
        "row": row if isinstance(row, int) else None,
        "sheet": entry.get("sheet") or "",
        "column": column,
        "value": value,
        "reason": reason,
        "loc": loc,
        "message": reason,
        "type": "row",
    }


def _refused(reason: str, loc: list[str | int] | None = None, kind: str = "file") -> dict:
    return {
        "detail": reason,
        "errors": [
            {
                "row": None,
                "column": "",
                "value": "",
                "reason": reason,
                "loc": loc or ["body", "file"],
                "message": reason,
                "type": kind,
            }
        ],
        "status": "rejected",
        "error_count": 1,
    }


def _mapping(text: str | None) -> dict[str, str] | None:
    """The mapping form field: a JSON object {field: column} (a ValueError otherwise)."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(
            gettext('The mapping is not a JSON object of field to column, such as {"code": "工号"}.')
        )
    return value


def _check_encoding(name: str | None) -> None:
    """A codec that turns bytes into text: codecs also knows bytes-to-bytes ones (hex, zlib…)
    that would reach the reader as an encoding and fail there."""
    if not name:
        return
    try:
        codec = codecs.lookup(name.strip().lower().replace("_", "-"))
    except LookupError:
        return  # the reader names an unknown encoding itself
    if not getattr(codec, "_is_text_encoding", True):
        raise Problem(
            gettext_noop("Unknown encoding %(encoding)s: use utf-8, gbk, gb18030 or utf-16."), encoding=name
        )


@router.post(
    "/plans/{plan_id}/import",
    response={**responses(PlanImportOut, 403, 404, 413, 422), 400: PlanImportErrorOut},
)
def import_plan_file(request, plan_id: Id, file: File[UploadedFile], form: Form[PlanImportForm]):
    """A planners' workbook or CSV (an export, or any wide or long layout with ``mapping``, a
    JSON object {field: column}) into the draft plan's primary scenario, as the plan page
    imports it. ``unit`` is the unit of the file's amounts; ``sheet`` reads that one sheet as
    the target level; ``encoding`` overrides the CSV's detected encoding.

    Every row is checked: any error writes nothing and answers 400 with the errors row by row;
    ``dry_run`` checks and counts without writing. For those who plan the whole organisation
    (403 for anyone else)."""
    from salestarget.targets.workbook import do_import_plan_workbook

    plan = _plan(request, plan_id)
    _check_may_plan(request)
    if file.size is not None and file.size > MAX_PLAN_FILE_BYTES:
        return Status(413, {"detail": gettext("The request body is too large."), "errors": []})
    try:
        columns = _mapping(form.mapping)
    except ValueError as exc:
        return Status(400, _refused(str(exc), ["body", "mapping"], "mapping"))
    suffix = Path(file.name or "").suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,7}", suffix):
        suffix = ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        for chunk in file.chunks():
            handle.write(chunk)
        handle.flush()
        try:
            _check_encoding(form.encoding)
            result = do_import_plan_workbook(
                request.user,
                plan,
                handle.name,
                mapping=columns,
                unit=form.unit,
                sheet=form.sheet or None,
                dry_run=form.dry_run,
                encoding=form.encoding or None,
            )
        except (DomainError, Problem) as exc:
            return Status(400, _refused(str(exc)))
    answer = result.as_dict()
    answer["file"] = Path(file.name or "").name[:255]
    answer["errors"] = [_row_error(e) for e in answer["errors"]]
    if result.ok:
        return Status(200, answer)
    detail = ngettext(
        "Nothing was imported: %(count)s error.",
        "Nothing was imported: %(count)s errors.",
        result.error_count,
    ) % {"count": result.error_count}
    return Status(400, {"detail": detail, **answer})
