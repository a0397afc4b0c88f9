"""Actuals pages: facts, import batches, the upload -> mapping -> preview -> confirm flow, and
the daily report. Thin: reads go through ``restrict``, writes through ``services``."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from salestarget.actuals import import_templates, journal, selectors, summary
from salestarget.actuals.forms import (
    LINES,
    DailyReportForm,
    MappingForm,
    SummaryForm,
    UploadForm,
    line_formsets,
)
from salestarget.actuals.importers import (
    FACT_FIELDS,
    MAX_STORED_ERRORS,
    error_report_csv,
    localised,
    warning_texts,
)
from salestarget.actuals.masters import MASTER_FIELDS, MASTER_SYNONYMS
from salestarget.actuals.models import DailyReport, Fact, ImportBatch, Upload
from salestarget.actuals.parsing import SYNONYMS, Problem, cell_text, open_table
from salestarget.actuals.services import (
    DATE_SAMPLE,
    DailyLine,
    DailyReportError,
    can_roll_back,
    do_rollback_batch,
    do_submit_daily_report,
    resolve_columns,
)
from salestarget.actuals.uploads import do_queue_import, do_store_upload
from salestarget.catalog.models import Customer, Segment
from salestarget.jobs import progress
from salestarget.jobs.models import Worker
from salestarget.metrics.models import FactKind
from salestarget.org.models import Membership, Person, active_on
from salestarget.org.permissions import Action, scope_of

PER_PAGE = 50
SHOWN_ERRORS = 200
SHOWN_CHANGES = 200


def _page(request, queryset):
    return Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@login_required
def index(request):
    """The facts the user may see, newest first, filterable by kind, dates and source."""
    facts = Fact.objects.restrict(request.user).select_related(
        "person", "unit", "product", "customer", "region"
    )
    kind = request.GET.get("kind") or ""
    start, end = _date(request.GET.get("from")), _date(request.GET.get("to"))
    source = (request.GET.get("source") or "").strip()
    if kind in FactKind.values:
        facts = facts.filter(kind=kind)
    if start:
        facts = facts.filter(date__gte=start)
    if end:
        facts = facts.filter(date__lte=end)
    if source:
        facts = facts.filter(source=source)
    page = _page(request, facts.order_by("-date", "-id"))
    context = {
        "page": page,
        # A source links to its batch only where the batch page opens (one read per page).
        "openable": set(
            _batches(request)
            .filter(pk__in={f.batch_id for f in page if f.batch_id})
            .values_list("pk", flat=True)
        ),
        "kinds": FactKind.choices,
        "filters": {"kind": kind, "from": start, "to": end, "source": source},
    }
    return render(request, "actuals/facts.html", context)


def _batches(request):
    """The import batches the user may open: everyone's for company-wide roles, else their own."""
    return ImportBatch.objects.restrict(request.user)


@login_required
def batches(request):
    rows = _batches(request).select_related("created_by").order_by("-created_at", "-id")
    page = _page(request, rows)
    for batch in page:
        batch.can_roll_back = can_roll_back(request.user, batch)
    return render(request, "actuals/batches.html", {"page": page})


def _batch(request, pk) -> ImportBatch:
    return get_object_or_404(_batches(request), pk=pk)


@login_required
def batch(request, pk):
    b = _batch(request, pk)
    errors = [localised(e) for e in b.errors[:SHOWN_ERRORS]]
    context = {
        "batch": b,
        "errors": errors,
        "stored": MAX_STORED_ERRORS,
        "warnings": warning_texts(b.warnings),
        "can_roll_back": can_roll_back(request.user, b),
    }
    if b.source == "master":
        context["changes"] = journal.describe(b, SHOWN_CHANGES)
    return render(request, "actuals/batch.html", context)


@login_required
def error_report(request, pk):
    b = _batch(request, pk)
    return _error_csv(b.errors, b.error_count, f"import-{b.pk}-errors.csv")


@login_required
def upload_error_report(request, pk):
    """A failed check's errors (no batch is recorded for a check): the same report."""
    _importer_role(request)  # as the wizard's own pages
    upload = _upload(request, pk)
    result = upload.result or {}
    if not result.get("error_count"):
        raise Http404
    return _error_csv(result.get("errors", []), result["error_count"], f"check-{upload.pk}-errors.csv")


def _error_csv(errors: list[dict], count: int, filename: str) -> HttpResponse:
    response = HttpResponse(error_report_csv(errors, count), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def rollback(request, pk):
    b = _batch(request, pk)
    try:
        b = do_rollback_batch(request.user, b)
    except Problem as problem:
        messages.error(request, str(problem))
    else:
        if b.source == "master":
            done = _("Batch #%(id)s was rolled back: the records it created or changed are as they were.")
        elif request.POST.get("next") == "daily":  # withdrawn from the daily report
            done = _("Withdrawn: those lines no longer count. Send the corrected ones again.")
        else:
            done = _("Batch #%(id)s was rolled back: its facts are removed.")
        messages.success(request, done % {"id": b.pk})
        kept = b.options.get("kept_on_rollback")
        if kept:
            messages.info(
                request,
                _("Kept, because data added since uses them: %(records)s.")
                % {"records": ", ".join(kept[:20])},
            )
    if request.POST.get("next") == "daily":
        return redirect("actuals:daily")
    return redirect("actuals:batch", pk=b.pk)


# --- the import flow -------------------------------------------------------------------


def _importer_role(request) -> bool:
    """Whether the user imports for the whole company (master data, new records); raises for
    users who may not import at all (reps record their results in the daily report)."""
    reach = scope_of(request.user).reach(Action.IMPORT)
    if reach.nothing:
        raise PermissionDenied(_("You may not import facts: reps record their results in the daily report."))
    return reach.everything


@login_required
def upload(request):
    is_admin = _importer_role(request)
    # A manager's imports go to a source of their own (see FactSource).
    initial = {} if is_admin else {"source": f"file-{request.user.get_username()}"[:64]}
    form = UploadForm(request.POST or None, request.FILES or None, is_admin=is_admin, initial=initial)
    if request.method == "POST" and form.is_valid():
        stored = do_store_upload(
            request.user,
            form.cleaned_data["file"],
            kind=form.cleaned_data["kind"],
            source=form.cleaned_data["source"],
            encoding=form.cleaned_data["encoding"],
            sheet=form.cleaned_data["sheet"],
        )
        return redirect("actuals:import_map", pk=stored.pk)
    recent = Upload.objects.restrict(request.user, Action.IMPORT).select_related("batch")[:10]
    templates = [
        (kind, import_templates.kind_label(kind))
        for kind in import_templates.KINDS
        if is_admin or not import_templates.is_master(kind)
    ]
    return render(request, "actuals/upload.html", {"form": form, "recent": recent, "templates": templates})


@login_required
def template(request, kind):
    """The xlsx template of a kind of import file, for those who may import that kind: fact
    files for managers and up, master data for administrators and sales operations."""
    is_admin = _importer_role(request)
    if kind not in import_templates.KINDS:
        raise Http404
    if import_templates.is_master(kind) and not is_admin:
        raise PermissionDenied(_("Only administrators and sales operations may import master data."))
    segments = list(Segment.objects.values_list("code", "name")) if kind == "customers" else None
    response = HttpResponse(
        import_templates.build_template(kind, segments),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{import_templates.template_filename(kind)}"'
    return response


def _upload(request, pk) -> Upload:
    return get_object_or_404(Upload.objects.restrict(request.user, Action.IMPORT), pk=pk)


def _job_state(upload: Upload) -> tuple[str, str]:
    """The upload's state, and the reason when its job failed for good (the worker records
    failures on the job; the upload still says it was running)."""
    if upload.status in (Upload.Status.QUEUED, Upload.Status.RUNNING) and upload.job_id:
        job = DBTaskResult.objects.filter(id=upload.job_id).values("status", "exception_class_path").first()
        if job is None or job["status"] == TaskResultStatus.FAILED:
            return Upload.Status.FAILED, (job or {}).get("exception_class_path", "")
    return upload.status, ""


@login_required
def mapping(request, pk):
    """Map columns (guessed from the headers), check the file, then import it; the check and
    the import run in the background while this page shows their progress."""
    is_admin = _importer_role(request)
    upload = _upload(request, pk)
    kind = upload.kind
    is_fact = kind not in MASTER_FIELDS
    if not is_fact and not is_admin:
        raise PermissionDenied
    state, failure = _job_state(upload)
    if state == Upload.Status.DONE and upload.batch_id:
        return redirect("actuals:batch", pk=upload.batch_id)
    if state in (Upload.Status.QUEUED, Upload.Status.RUNNING):
        return render(request, "actuals/import_progress.html", {"upload": upload, **_progress(upload)})
    fields = FACT_FIELDS if is_fact else MASTER_FIELDS[kind]
    try:
        with open_table(upload.path, encoding=upload.encoding or None, sheet=upload.sheet or None) as table:
            headers = table.headers
            sample = [[cell_text(c) for c in cells[: len(headers)]] for _n, cells in table.sample(5)]
            # The guess checks on the first rows that its external id tells them apart (an
            # order number on a line-level export does not) and says what it chose instead.
            notes: list[dict] = []
            guessed = resolve_columns(
                headers,
                {},
                fields,
                SYNONYMS if is_fact else MASTER_SYNONYMS,
                sample=table.sample(DATE_SAMPLE) if is_fact else None,
                notes=notes,
            )
    except Problem as problem:
        messages.error(request, str(problem))
        return redirect("actuals:import")
    form_args = {"fields": fields, "headers": headers, "is_fact": is_fact, "is_admin": is_admin}
    if request.method == "POST":
        form = MappingForm(request.POST, **form_args)
        if form.is_valid():
            confirm = request.POST.get("action") == "confirm"
            options = {
                "mapping": form.mapping(),
                "date_format": form.cleaned_data.get("date_format") or "",
                "unit": form.cleaned_data.get("unit") or "yuan",
                "create_missing": bool(form.cleaned_data.get("create_missing")),
                "effective_from": (
                    form.cleaned_data["effective_from"].isoformat()
                    if form.cleaned_data.get("effective_from")
                    else ""
                ),
                "form": {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "action")},
            }
            do_queue_import(request.user, upload, options, dry_run=not confirm)
            return redirect("actuals:import_map", pk=upload.pk)
    elif upload.options.get("form"):
        form = MappingForm(upload.options["form"], **form_args)
        form.is_valid()
    else:
        form = MappingForm(initial=MappingForm.initial_for(headers, guessed), **form_args)
        for note in notes:
            messages.info(request, gettext(note["message"]) % note["params"])
    result = upload.result if state == Upload.Status.CHECKED else None
    if failure:
        messages.error(request, _("The import stopped with an error and was not written; try again."))
    context = {
        "form": form,
        "upload": upload,
        "headers": headers,
        "sample": sample,
        "result": result,
        "errors": [localised(e) for e in result["errors"][:SHOWN_ERRORS]] if result else [],
        "stored": MAX_STORED_ERRORS,
        "warnings": warning_texts(result.get("warnings", [])) if result else [],
        "is_fact": is_fact,
    }
    return render(request, "actuals/mapping.html", context)


def _progress(upload: Upload) -> dict:
    state = progress.read(upload.job_id) if upload.job_id else None
    return {
        "progress": state or {},
        "checking": upload.dry_run,
        # A queued import with no worker alive waits for ever: say so, and what IT should do.
        "no_worker": upload.status == Upload.Status.QUEUED and not Worker.objects.exists(),
    }


@login_required
def import_progress(request, pk):
    """The progress bar, polled by the page (htmx) every second; once the job has finished it
    sends the browser on to the outcome."""
    _importer_role(request)
    upload = _upload(request, pk)
    state, _failure = _job_state(upload)
    if state not in (Upload.Status.QUEUED, Upload.Status.RUNNING):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("actuals:import_map", args=[upload.pk])
        return response
    return render(request, "actuals/_import_progress.html", {"upload": upload, **_progress(upload)})


# --- the daily report ------------------------------------------------------------------


@login_required
def daily(request):
    """The rep's 销售日报, made for a phone: today's deals, opportunities, collections, visits."""
    scope = scope_of(request.user)
    if not scope.person_id:
        raise PermissionDenied(_("Only people with a sales profile can file a daily report."))
    today = timezone.localdate()
    form = DailyReportForm(request.POST or None, initial={"day": today, "token": uuid.uuid4().hex})
    formsets = line_formsets(request.POST or None)
    if request.method == "POST" and form.is_valid() and all(fs.is_valid() for fs in formsets.values()):
        lines = [
            DailyLine(
                kind=kind,
                amount=line.cleaned_data.get("amount"),
                customer=line.cleaned_data.get("customer") or "",
                product=line.cleaned_data["product"].code if line.cleaned_data.get("product") else "",
                stage=line.cleaned_data.get("stage") or "",
                quantity=line.cleaned_data.get("quantity"),
            )
            for kind, fs in formsets.items()
            for line in fs
            if line.has_line()
        ]
        try:
            report, results = do_submit_daily_report(
                request.user,
                day=form.cleaned_data["day"],
                lines=lines,
                note=form.cleaned_data["note"],
                token=form.cleaned_data["token"],
            )
        except DailyReportError as exc:
            for e in exc.result.errors:
                form.add_error(None, localised(e)["reason"])
        else:
            written = sum(r.rows_written for r in results)
            messages.success(
                request,
                _("Daily report for %(day)s saved (%(count)s new lines).")
                % {"day": report.day, "count": written},
            )
            return redirect("actuals:daily")
    person = Person.objects.get(pk=scope.person_id)
    labels = dict(FactKind.choices)
    # Each submission of the last seven days apart, with its lines: a mistyped amount is
    # withdrawn (its batch rolled back, as whoever imported a batch may) and sent again.
    rows = (
        Fact.objects.filter(person=person, source="daily", date__gte=today - dt.timedelta(days=7))
        .values("batch_id", "date", "kind")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("-date", "-batch_id", "kind")
    )
    batches = {
        b.pk: b for b in ImportBatch.objects.filter(pk__in={r["batch_id"] for r in rows if r["batch_id"]})
    }
    recent: list[dict] = []
    for row in rows:
        if not recent or recent[-1]["batch_id"] != row["batch_id"]:
            batch = batches.get(row["batch_id"])
            recent.append(
                {
                    "batch_id": row["batch_id"],
                    "date": row["date"],
                    "lines": [],
                    "withdraw": batch is not None and can_roll_back(request.user, batch),
                }
            )
        recent[-1]["lines"].append({**row, "label": labels.get(row["kind"], row["kind"])})
    context = {
        "form": form,
        "sections": [(kind, LINES[kind][1], formsets[kind]) for kind in LINES],
        "reported_today": DailyReport.objects.filter(person=person, day=today).first(),
        "recent": recent,
        "customers": Customer.objects.restrict(request.user)
        .filter(active=True)
        .order_by("name")
        .values_list("name", flat=True)[:500],
    }
    return render(request, "actuals/daily.html", context)


@login_required
def unreported(request):
    """Who in the user's teams has (not) filed a daily report for the day."""
    scope = scope_of(request.user)
    reach = scope.reach(Action.VIEW)
    if not (reach.everything or reach.paths):
        raise PermissionDenied(_("Only team leads and administrators can see who has reported."))
    # By the company calendar: opened on a day off, the last working day; a day off asked for
    # shows who reported anyway and flags nobody.
    today, asked = timezone.localdate(), _date(request.GET.get("day"))
    day = asked or selectors.last_working_day(today)
    working = selectors.is_working_day(day)
    members = (
        Membership.objects.restrict(request.user)
        .filter(active_on(day), role=Membership.Role.MEMBER, person__status=Person.Status.ACTIVE)
        .exclude(person_id=scope.person_id or 0)
        .select_related("person", "unit")
        .order_by("unit__path", "person__code")
    )
    reports = {
        r.person_id: r
        for r in DailyReport.objects.restrict(request.user).filter(
            day=day, person_id__in=members.values("person_id")
        )
    }
    totals = {
        row["person_id"]: row
        for row in Fact.objects.restrict(request.user)
        .filter(source="daily", date=day, person_id__in=list(reports))
        .values("person_id")
        .annotate(
            deals=Sum("amount", filter=Q(kind=FactKind.ORDER)),
            collections=Sum("amount", filter=Q(kind=FactKind.COLLECTION)),
            visits=Count("id", filter=Q(kind=FactKind.VISIT)),
            opportunities=Count("id", filter=Q(kind=FactKind.OPPORTUNITY)),
        )
    }
    missing, done = [], []
    for m in members:
        report = reports.get(m.person_id)
        if report or working:
            (done if report else missing).append(
                {"membership": m, "report": report, "totals": totals.get(m.person_id)}
            )
    context = {
        "day": day,
        "working": working,
        "today_off": asked is None and day != today,
        # Reps may report on a day off (a weekend deal): the lead sees that they did.
        "today": today,
        "reported_today": (
            DailyReport.objects.filter(day=today, person_id__in=[m.person_id for m in members]).count()
            if asked is None and day != today
            else 0
        ),
        "missing": missing,
        "done": done,
    }
    return render(request, "actuals/unreported.html", context)


def _summary(request):
    """The summary asked for in the query string (defaults: sales by person, this year so far),
    with the form to change it; (None, form) when the question is not valid."""
    start, end = summary.default_range(timezone.localdate())
    initial = {"metric": "sales", "by": "person", "start": start, "end": end}
    form = SummaryForm({**initial, **request.GET.dict()})
    if not form.is_valid():
        return None, form
    data = form.cleaned_data
    result = summary.actuals_summary(request.user, data["metric"], data["start"], data["end"], data["by"])
    return result, form


@login_required
def actuals_summary(request):
    """Per-person (or per-unit) monthly actuals credited by the metric's rule."""
    result, form = _summary(request)
    lang = "en" if (request.LANGUAGE_CODE or "zh").startswith("en") else "zh"
    rows = []
    # Every money cell in one unit, the one the note above the table names (万元, thousand yuan).
    unit = summary.table_unit(result.metric, lang) if result else None
    if result is not None:
        for row in [*result.rows, result.total] if result.total else []:
            rows.append(
                {
                    "row": row,
                    "cells": [summary.shown_in(v, result.metric, unit, lang) for v in row.values],
                    "total": summary.shown_in(row.total, result.metric, unit, lang),
                }
            )
    context = {
        "form": form,
        "summary": result,
        "months": result.month_labels(lang) if result else [],
        "rows": rows[:-1],
        "total": rows[-1] if rows else None,
        "query": request.GET.urlencode(),
        "unit": unit.label if unit else "",
    }
    return render(request, "actuals/summary.html", context)


@login_required
def actuals_summary_xlsx(request):
    """The same summary as a workbook, exact to the fen."""
    result, form = _summary(request)
    if result is None:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
    lang = "en" if (request.LANGUAGE_CODE or "zh").startswith("en") else "zh"
    response = HttpResponse(
        summary.xlsx(result, lang),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"actuals-{result.metric.code}-{result.by}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
