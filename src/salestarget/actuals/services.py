"""Actions on actuals — imports, rollbacks, the daily report. The only code that writes them.

Every action takes the acting user (None for the command line, which runs with full
rights), checks what that user may do through ``restrict(user, action)``, and runs in one
transaction. An import that fails writes nothing but its own record: a rejected
:class:`ImportBatch` with the errors, so that the batch list shows every attempt and the error
report can be downloaded later.

Who may import facts (action ``import``): administrators and sales operations anything; a
manager facts of the people who were in the subtrees they manage on each fact's date, and their
own (rows without a person are the importer's own). Reps record facts through the daily report
only (action ``submit``). Creating missing master data and importing master data need a
company-wide import reach. Each source belongs to one writer (:class:`FactSource`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from salestarget.actuals import journal, rollups
from salestarget.actuals.importers import (
    FACT_FIELDS,
    Access,
    ChunkWriter,
    DryRun,
    FactImport,
    ImportResult,
    Rejected,
    coverage_warnings,
    fact_kind,
)
from salestarget.actuals.masters import MASTER_FIELDS, MASTER_SYNONYMS, MasterImport, master_kind
from salestarget.actuals.models import DailyReport, Fact, FactSource, ImportBatch, MasterChange
from salestarget.actuals.parsing import (
    _LINE_NUMBER,
    SYNONYMS,
    DateParser,
    Problem,
    cell_text,
    decide_date_order,
    guess_mapping,
    header_key,
    open_table,
    parse_date_format,
    unit_multiplier,
)
from salestarget.catalog.models import Customer
from salestarget.metrics.models import FactKind
from salestarget.org.models import Membership, OrgUnit, Person
from salestarget.org.permissions import Action, scope_of

DATE_SAMPLE = 2000

# Who hears how far an import has read: ``report(rows_read, errors)``, set by the job or the
# command that runs the import (a context variable, so the services' signatures stay about
# the import itself and the API's imports pay nothing).
progress_listener: ContextVar[Callable[[int, int], None] | None] = ContextVar(
    "progress_listener", default=None
)


def kinds() -> list[str]:
    return [*FactKind.values, *MASTER_FIELDS]


# --- options ---------------------------------------------------------------------------


def parse_map_options(items: Iterable[str]) -> dict[str, str]:
    """``--map FIELD=COLUMN`` pairs; an empty COLUMN un-maps a guessed field."""
    mapping = {}
    for item in items:
        name, sep, column = item.partition("=")
        if not sep or not name.strip():
            raise Problem(gettext_noop("--map expects FIELD=COLUMN, not %(value)s."), value=item)
        mapping[name.strip()] = column.strip()
    return mapping


def resolve_columns(
    headers: list[str],
    mapping: dict,
    fields: Iterable[str],
    synonyms=None,
    *,
    sample: Iterable[tuple[int, list]] | None = None,
    notes: list[dict] | None = None,
) -> dict[str, list[int]]:
    """Field -> column indexes: guessed from the headers, then the user's mapping on top.

    A column is named by its header (exact, else ignoring case, spaces and punctuation);
    several columns join with “+”, e.g. ``external_id=SalesOrderNumber+SalesOrderLineNumber``.
    With ``sample`` (the first rows), a guessed external id must tell those rows apart (see
    ``unique_external_id``); what the check changed is added to ``notes``."""
    fields = list(fields)
    index = {h: i for i, h in reversed(list(enumerate(headers))) if h}
    loose = {header_key(h): i for i, h in reversed(list(enumerate(headers))) if h}
    columns = {f: [index[h] for h in cols] for f, cols in guess_mapping(headers, fields, synonyms).items()}
    if sample is not None and "external_id" not in (mapping or {}):
        unique_external_id(headers, columns, sample, notes if notes is not None else [])

    def find(name: str) -> int | None:
        name = name.strip().strip('"').strip("'")
        if name in index:
            return index[name]
        return loose.get(header_key(name)) if header_key(name) else None

    for name, spec in (mapping or {}).items():
        if name not in fields:
            raise Problem(
                gettext_noop("Unknown field %(field)s; the fields are: %(fields)s."),
                field=name,
                fields=", ".join(fields),
            )
        parts = (
            spec
            if isinstance(spec, list | tuple)
            else ([spec] if find(spec) is not None else spec.split("+"))
        )
        parts = [p for p in parts if str(p).strip()]
        if not parts:
            columns.pop(name, None)
            continue
        found = []
        for part in parts:
            i = find(str(part))
            if i is None:
                raise Problem(
                    gettext_noop("The file has no column %(column)s; its columns are: %(columns)s."),
                    column=part,
                    columns=", ".join(h for h in headers if h),
                )
            found.append(i)
        columns[name] = found
    return columns


# Headers of a line number within an order, beyond the ones the header guess pairs with an
# order number (parsing._LINE_NUMBER).
_LINE_COLUMNS = _LINE_NUMBER | {
    "line",
    "lineitem",
    "lineitemno",
    "lineitemnumber",
    "itemno",
    "itemnumber",
    "orderlinenumber",
    "orderlineno",
    "项次",
    "行",
    "行项目",
    "行项目号",
    "明细序号",
    "分录号",
}


def _repeats(rows: list[list], idx: list[int]) -> bool:
    """Whether rows tell apart by the columns ``idx`` only as lines do: two or more values each
    on rows of different content (an order number on its order's lines). A single repeated
    value, or a row repeated whole, is more likely a mistake, for the import to name (blank ids
    aside: they are an error of their own row)."""
    contents: dict[tuple, set[tuple]] = {}
    for cells in rows:
        key = tuple(cell_text(cells[i]) if i < len(cells) else "" for i in idx)
        if any(key):
            contents.setdefault(key, set()).add(tuple(cell_text(c) for c in cells))
    return sum(1 for found in contents.values() if len(found) > 1) >= 2


def _duplicated(rows: list[list], idx: list[int]) -> bool:
    """Whether two of ``rows`` have the same non-blank values in the columns ``idx``."""
    seen = set()
    for cells in rows:
        key = tuple(cell_text(cells[i]) if i < len(cells) else "" for i in idx)
        if any(key) and key in seen:
            return True
        seen.add(key)
    return False


def unique_external_id(
    headers: list[str], columns: dict[str, list[int]], sample: Iterable[tuple[int, list]], notes: list[dict]
) -> None:
    """A guessed external id that repeats within the sample as an order number does on a
    line-level export (one per order, not per line) would reject every further line of an order
    as a duplicate. Then: the id plus a line-number column, when that pair is unique in the
    sample; else no external id (rows are told apart by their content) and a note saying so."""
    idx = columns.get("external_id")
    rows = [cells for _n, cells in sample]
    if not idx or not _repeats(rows, idx):
        return
    repeating = "+".join(headers[i] for i in idx)
    for j, header in enumerate(headers):
        if j in idx or not header or header_key(header) not in _LINE_COLUMNS:
            continue
        if not _duplicated(rows, [*idx, j]):
            columns["external_id"] = [*idx, j]
            notes.append(
                {
                    "message": gettext_noop(
                        "%(column)s repeats, so it cannot tell the rows apart: the external id is "
                        "%(columns)s."
                    ),
                    "params": {"column": repeating, "columns": f"{repeating}+{header}"},
                }
            )
            return
    del columns["external_id"]
    notes.append(
        {
            "message": gettext_noop(
                "%(column)s repeats, so it cannot tell the rows apart, and no line number makes it "
                "unique: no external id is mapped (rows are told apart by their content; map "
                "external_id to choose the columns)."
            ),
            "params": {"column": repeating},
        }
    )


def mapping_names(headers: list[str], columns: dict[str, list[int]]) -> dict[str, str]:
    return {f: "+".join(headers[i] for i in idx) for f, idx in columns.items()}


def date_parser(
    date_format: str | None, sample: Iterable, everything: Callable[[], Iterable] | None
) -> DateParser:
    """The user's date format, else the one the values prove: first from a sample, then — only
    when the sample has day/month values that fit both orders — from every value in the file."""
    order, pattern = parse_date_format(date_format)
    if order or pattern:
        return DateParser(order, pattern)
    order, example = decide_date_order(sample)
    if order is None and example is not None and everything is not None:
        order, example = decide_date_order(everything())
    if order is None and example is not None:
        raise Problem(
            gettext_noop(
                "Dates such as %(value)s could be day/month or month/day, and no date in the file "
                "settles it: choose the date format, dd/mm/yy or mm/dd/yy (Date format on the "
                "import page, --date-format on the command line)."
            ),
            value=cell_text(example),
        )
    return DateParser(order)


def check_options(fields, mapping: dict | None, date_format: str | None, unit: str | None = "yuan") -> None:
    """Mistakes in the options themselves fail at once, before the file is opened or a batch
    is recorded."""
    unknown = sorted(set(mapping or {}) - set(fields))
    if unknown:
        raise Problem(
            gettext_noop("Unknown field %(field)s; the fields are: %(fields)s."),
            field=", ".join(unknown),
            fields=", ".join(fields),
        )
    parse_date_format(date_format)
    unit_multiplier(unit)


def parse_effective_from(value: dt.date | str | None) -> dt.date | None:
    """The effective-from option: a date, or its ISO text (the command line, a stored upload)."""
    if value is None or isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Problem(
            gettext_noop("The effective-from date %(value)s is not a date such as 2017-01-01."), value=text
        ) from None


def access_for(user, create_missing: bool = False) -> Access:
    """What ``user`` may import as facts: everything, or (a manager) the people in their reach —
    anyone ever in the subtree, checked row by row against the row's date — and the customers
    of the people in it today."""
    if user is None:
        return Access(people=None, create_missing=create_missing)
    reach = scope_of(user).reach(Action.IMPORT)
    if reach.everything:
        return Access(people=None, create_missing=create_missing)
    if create_missing:
        raise PermissionDenied(
            gettext("Only administrators and sales operations may create missing master data.")
        )
    if reach.nothing:
        raise PermissionDenied(
            gettext("You may not import facts: reps record their results in the daily report.")
        )
    units = frozenset(OrgUnit.objects.filter(reach.units_q("")).values_list("pk", flat=True))
    people = set(Membership.objects.filter(unit_id__in=units).values_list("person_id", flat=True))
    if reach.person_id:
        people.add(reach.person_id)
    customers = Customer.objects.within(reach).values_list("pk", flat=True)
    own_code = Person.objects.filter(pk=reach.person_id).values_list("code", flat=True).first() or ""
    return Access(
        people=frozenset(people),
        default_person=reach.person_id,
        units=units,
        customers=frozenset(customers),
        new_code_prefix=f"{own_code}-" if own_code else "",
    )


def _company_wide(user, action: Action = Action.IMPORT) -> bool:
    return user is None or scope_of(user).can_everywhere(action)


# --- fact sources ----------------------------------------------------------------------

APP_SOURCES = ("daily", "demo", "master")


def claim_source(user, name: str, *, token=None, app: bool = False) -> str:
    """The source ``name`` if ``user`` (with ``token`` for an API request) may write its keys,
    registering it to them on first use; else Problem. ``app`` is for the app's own sources
    (the daily report), which nobody writes from outside."""
    name = _source_name(name)
    if (name in APP_SOURCES) != app:
        raise Problem(
            gettext_noop("The source %(value)s is the app's own; choose another name for yours."), value=name
        )
    bound = FactSource.objects.filter(token=token).first() if token is not None else None
    if bound is not None and bound.name != name:
        raise Problem(gettext_noop("This API token writes the source %(value)s only."), value=bound.name)
    company = _company_wide(user)
    source, created = FactSource.objects.get_or_create(
        name=name, defaults={"owner": None if (company or app) else user}
    )
    if created or app:
        return name
    if source.token_id is not None:
        allowed = user is None or (token is not None and token.pk == source.token_id)
    elif source.owner_id is None:
        allowed = company
    else:
        allowed = user is not None and source.owner_id == user.pk
    if not allowed:
        raise Problem(
            gettext_noop(
                "The source %(value)s belongs to another importer, whose rows you may not add to or "
                "skip; choose a source name of your own."
            ),
            value=name,
        )
    return name


def source_of(token) -> str:
    """The source a request writes when it names none: its token's bound source, else "api"."""
    bound = FactSource.objects.filter(token=token).values_list("name", flat=True).first() if token else None
    return bound or "api"


def do_bind_source(token, name: str) -> FactSource:
    """Bind the fact source ``name`` to an integration's API token (``salestarget token
    --source``): from then on only requests with that token (and the command line) write it."""
    name = _source_name(name)
    if name in APP_SOURCES:
        raise Problem(
            gettext_noop("The source %(value)s is the app's own; choose another name for yours."), value=name
        )
    with transaction.atomic():
        FactSource.objects.filter(token=token).exclude(name=name).update(token=None)
        source, _created = FactSource.objects.update_or_create(
            name=name, defaults={"token": token, "owner": None}
        )
    return source


# --- fact imports ----------------------------------------------------------------------


@dataclass
class _Source:
    """What an import reads from: headers, rows, and how the dates are to be read."""

    headers: list[str]
    columns: dict[str, list[int]]
    rows: Iterable
    dates: DateParser


def _run_fact_import(
    user, kind, source_name, filename, options, dry_run, access, prepare, token=None, app=False, upload=None
) -> ImportResult:
    result = ImportResult(kind=kind, source=source_name, filename=filename, options=options)
    with _import_outcome(user, result, dry_run, upload), prepare() as src:
        options.update(mapping=mapping_names(src.headers, src.columns), date_format=src.dates.label)
        with transaction.atomic():
            # In the import's transaction: a dry run or a rejected file claims no source.
            claim_source(user, source_name, token=token, app=app)
            batch = ImportBatch.objects.create(
                kind=kind,
                source=source_name,
                filename=filename[:255],
                status=ImportBatch.Status.APPLIED,
                created_by=user,
                options=options,
            )
            importer = FactImport(
                kind=kind,
                source=source_name,
                columns=src.columns,
                headers=src.headers,
                dates=src.dates,
                multiplier=unit_multiplier(options.get("unit")),
                access=access,
                result=result,
            )
            importer.batch_id = batch.pk
            _mark(upload, batch)
            # Imports that create records query between chunks, so only the others stream.
            stream = not (access.create_missing or access.new_customers)
            with journal.recording() as created:
                importer.run(_counted(src.rows, result), ChunkWriter(source_name, stream=stream))
                if result.error_count:
                    raise Rejected
                importer.finish(batch.pk)
            # What the batch created on the way, so that its rollback removes that too.
            MasterChange.objects.bulk_create(created.changes(batch))
            # Written all the same, but counted for no team or no territory: said, not refused.
            result.warnings = coverage_warnings(batch.pk, kind)
            batch.rows_read = result.rows_read
            batch.rows_written = result.rows_written
            batch.rows_skipped = result.rows_skipped
            batch.amount_total = result.amount_total
            batch.warnings = result.warnings
            batch.save(
                update_fields=["rows_read", "rows_written", "rows_skipped", "amount_total", "warnings"]
            )
            result.batch_id = batch.pk
            if dry_run:
                raise DryRun
    return result


def _mark(upload, batch: ImportBatch) -> None:
    """Tie the upload to its batch in the import's transaction: the import and the mark commit
    together, so a job run again after a crash sees the file already imported."""
    if upload is not None:
        type(upload).objects.filter(pk=upload.pk).update(batch=batch)


def _counted(rows: Iterable, result: ImportResult) -> Iterable:
    """The rows, telling the import's progress (if anyone listens) how far it has read."""
    report = progress_listener.get()
    return rows if report is None else _reporting(rows, result, report)


def _reporting(rows: Iterable, result: ImportResult, report: Callable[[int, int], None]) -> Iterable:
    n = 0
    for n, row in enumerate(rows, start=1):
        if not n % 1000:
            report(n, result.error_count)
        yield row
    report(n, result.error_count)


@contextmanager
def _import_outcome(user, result: ImportResult, dry_run: bool, upload=None):
    """How an import's transaction ended, turned into its result: a dry run rolls back on
    purpose; any error rolls everything back and records the rejected batch with its errors."""
    try:
        yield
    except DryRun:
        result.status = "dry_run"
        result.batch_id = None
    except Rejected:
        _reject(user, result, dry_run, upload)
    except Problem as problem:
        result.add_error(None, "", "", problem)
        _reject(user, result, dry_run, upload)
    except IntegrityError:
        concurrent = gettext_noop(
            "Another import wrote some of the same rows at the same time; import the file again."
        )
        result.add_error(None, "", "", Problem(concurrent))
        _reject(user, result, dry_run, upload)


def _reject(user, result: ImportResult, dry_run: bool, upload=None) -> None:
    """Record the attempt (not for dry runs, which leave no trace)."""
    result.status = "rejected"
    result.rows_written = result.rows_skipped = result.rows_updated = 0
    result.amount_total = result.profit_total = result.quantity_total = 0
    result.amount_exact = Decimal(0)
    result.created = {}
    result.preview = []
    result.warnings = []
    if dry_run:
        return
    batch = ImportBatch.objects.create(
        kind=result.kind,
        source=result.source,
        filename=result.filename[:255],
        status=ImportBatch.Status.REJECTED,
        created_by=user,
        rows_read=result.rows_read,
        error_count=result.error_count,
        errors=result.errors,
        options=result.options,
    )
    _mark(upload, batch)
    result.batch_id = batch.pk


class _FileSource:
    """Opens the file, maps its columns and settles the date format (a context manager, so the
    file stays open while the import streams it)."""

    def __init__(self, path, *, fields, synonyms, mapping, date_format, encoding, sheet, options):
        self.path, self.fields, self.synonyms = Path(path), fields, synonyms
        self.mapping, self.date_format, self.encoding, self.sheet = mapping, date_format, encoding, sheet
        self.options = options
        self._cm = None

    def __enter__(self) -> _Source:
        self._cm = open_table(self.path, encoding=self.encoding, sheet=self.sheet)
        table = self._cm.__enter__()
        try:
            return self._source(table)
        except BaseException:
            self._cm.__exit__(None, None, None)
            raise

    def _source(self, table) -> _Source:
        self.options.update(format=table.format, encoding=table.encoding_label, sheet=table.sheet)
        notes: list[dict] = []
        columns = resolve_columns(
            table.headers,
            self.mapping,
            self.fields,
            self.synonyms,
            sample=table.sample(DATE_SAMPLE),
            notes=notes,
        )
        if notes:
            self.options["notes"] = notes
        date_cols = [
            i
            for f in ("date", "hire_date", "valid_from", "valid_to", "first_deal_date", "leave_date")
            for i in columns.get(f, [])
        ]

        def values(rows):
            for _n, cells in rows:
                for i in date_cols:
                    if i < len(cells):
                        yield cells[i]

        def everything():
            with open_table(self.path, encoding=table.encoding, sheet=table.sheet) as again:
                yield from values(again.rows())

        dates = date_parser(self.date_format, values(table.sample(DATE_SAMPLE)), everything)
        return _Source(table.headers, columns, table.rows(), dates)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def do_import_facts(
    user,
    path,
    kind: str,
    *,
    mapping: dict | None = None,
    source: str = "file",
    date_format: str | None = None,
    encoding: str | None = None,
    unit: str = "yuan",
    create_missing: bool = False,
    dry_run: bool = False,
    sheet: str | None = None,
    filename: str | None = None,
    upload=None,
) -> ImportResult:
    """Import a CSV/XLSX/XLS file of facts of one kind; see the module doc for who may.
    ``upload``: the stored upload this import comes from, marked with its batch."""
    kind = fact_kind(kind)
    check_options(FACT_FIELDS, mapping, date_format, unit)
    access = access_for(user, create_missing)
    source = _source_name(source)
    options = {"unit": unit, "create_missing": create_missing}
    filename = filename or Path(path).name

    def prepare():
        return _FileSource(
            path,
            fields=FACT_FIELDS,
            synonyms=SYNONYMS,
            mapping=mapping,
            date_format=date_format,
            encoding=encoding,
            sheet=sheet,
            options=options,
        )

    return _run_fact_import(user, kind, source, filename, options, dry_run, access, prepare, upload=upload)


def _source_name(source: str) -> str:
    source = (source or "").strip()
    if not source or len(source) > 64:
        raise Problem(gettext_noop("The source must be a name of 1 to 64 characters."))
    return source


class _RowsSource:
    def __init__(self, rows: list[dict], date_format, options):
        self.rows, self.date_format, self.options = rows, date_format, options

    def __enter__(self) -> _Source:
        headers = list(FACT_FIELDS)
        unknown = sorted({k for row in self.rows for k in row} - set(headers) - {"credits"})
        if unknown:
            raise Problem(
                gettext_noop("Unknown field %(field)s; the fields are: %(fields)s."),
                field=", ".join(unknown),
                fields=", ".join(headers),
            )
        present = [f for f in headers if any(row.get(f) not in (None, "") for row in self.rows)]
        if any(row.get("credits") for row in self.rows) and "person" not in present:
            present.append("person")
        columns = {f: [headers.index(f)] for f in present}
        cells = [(n, [_api_cell(row, f) for f in headers]) for n, row in enumerate(self.rows, start=1)]
        dates = date_parser(self.date_format, (c[1][1] for c in cells), None)
        self.options["format"] = "json"
        return _Source(headers, columns, cells, dates)

    def __exit__(self, *exc):
        return False


def _api_cell(row: dict, name: str):
    """Split credit arrives as a list of {person, share}; the importer reads it in the file
    notation (“P001:60;P002:40”) so that both go through one check."""
    if name == "person" and row.get("credits"):
        return ";".join(f"{c['person']}:{c['share']}" for c in row["credits"])
    value = row.get(name)
    return "" if value is None else value


def do_import_fact_rows(
    user,
    kind: str,
    rows: list[dict],
    *,
    source: str,
    create_missing: bool = False,
    dry_run: bool = False,
    unit: str = "yuan",
    date_format: str | None = None,
    filename: str = "",
    token=None,
    _daily_access: Access | None = None,
) -> ImportResult:
    """Import facts given as dicts (the bulk API, the daily report), with the file rules.

    ``token``: the API token of the request, which may be bound to one source."""
    kind = fact_kind(kind)
    check_options(FACT_FIELDS, None, date_format, unit)
    access = _daily_access or access_for(user, create_missing)
    source = _source_name(source)
    options = {"unit": unit, "create_missing": create_missing}

    def prepare():
        return _RowsSource(rows, date_format, options)

    return _run_fact_import(
        user, kind, source, filename, options, dry_run, access, prepare, token, app=_daily_access is not None
    )


# --- master data -----------------------------------------------------------------------


def do_import_master(
    user,
    path,
    kind: str,
    *,
    mapping: dict | None = None,
    date_format: str | None = None,
    encoding: str | None = None,
    create_missing: bool = False,
    dry_run: bool = False,
    sheet: str | None = None,
    filename: str | None = None,
    upload=None,
    effective_from: dt.date | str | None = None,
) -> ImportResult:
    """Upsert master data by code (admins only); validated completely before anything is saved.

    ``effective_from``: the day the file's memberships and territories start when a row gives
    none of its own (instead of today, or a new person's hire date)."""
    master = master_kind(kind)
    if master is None:
        raise Problem(
            gettext_noop("Unknown kind %(kind)s: use %(kinds)s."), kind=kind, kinds=", ".join(kinds())
        )
    if not _company_wide(user):
        raise PermissionDenied(gettext("Only administrators and sales operations may import master data."))
    check_options(MASTER_FIELDS[master], mapping, date_format)
    effective_from = parse_effective_from(effective_from)
    options = {"create_missing": create_missing}
    if effective_from:
        options["effective_from"] = effective_from.isoformat()
    filename = filename or Path(path).name
    result = ImportResult(kind=master, source="master", filename=filename, options=options)
    fields = MASTER_FIELDS[master]
    with _import_outcome(user, result, dry_run, upload):
        with _FileSource(
            path,
            fields=fields,
            synonyms=MASTER_SYNONYMS,
            mapping=mapping,
            date_format=date_format,
            encoding=encoding,
            sheet=sheet,
            options=options,
        ) as src:
            options.update(mapping=mapping_names(src.headers, src.columns), date_format=src.dates.label)
            with transaction.atomic():
                with journal.recording() as changes:
                    MasterImport(
                        master,
                        columns=src.columns,
                        headers=src.headers,
                        dates=src.dates,
                        create_missing=create_missing,
                        result=result,
                        effective_from=effective_from,
                    ).run(_counted(src.rows, result))
                if result.error_count:
                    raise Rejected
                batch = ImportBatch.objects.create(
                    kind=master,
                    source="master",
                    filename=filename[:255],
                    status=ImportBatch.Status.APPLIED,
                    created_by=user,
                    rows_read=result.rows_read,
                    rows_written=result.rows_written,
                    rows_skipped=result.rows_skipped,
                    options={
                        **options,
                        "created": result.created,
                        "updated": result.rows_updated,
                        "journal": True,
                    },
                )
                MasterChange.objects.bulk_create(changes.changes(batch))
                _mark(upload, batch)
                result.batch_id = batch.pk
                if dry_run:
                    raise DryRun
    return result


# --- rollback --------------------------------------------------------------------------


def can_roll_back(user, batch: ImportBatch) -> bool:
    if batch.status != ImportBatch.Status.APPLIED:
        return False
    if batch.source == "master":
        return _company_wide(user) and journal.can_undo(batch)
    return _company_wide(user) or (user is not None and batch.created_by_id == user.pk)


@transaction.atomic
def do_rollback_batch(user, batch: ImportBatch) -> ImportBatch:
    """Undo a batch; it stays listed as rolled back.

    A fact batch loses its facts and their rollups, and the records it created on the way
    unless something uses them (their labels go to ``options["kept_on_rollback"]``).  A
    master-data batch puts back every record it created or changed (actuals/journal.py), or
    raises Problem and changes nothing when a record was edited or put to use since."""
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if not can_roll_back(user, batch):
        raise PermissionDenied(
            gettext("Only an administrator or whoever imported it may roll back an applied batch.")
        )
    if batch.source == "master":
        journal.undo(batch)
    else:
        _remove_facts(batch)
        kept = journal.undo(batch, keep_in_use=True)
        if kept:
            batch.options = {**batch.options, "kept_on_rollback": kept}
    batch.status = ImportBatch.Status.ROLLED_BACK
    batch.rolled_back_at = timezone.now()
    batch.rolled_back_by = user
    batch.save(update_fields=["status", "rolled_back_at", "rolled_back_by", "options"])
    return batch


def _remove_facts(batch: ImportBatch) -> None:
    customers = set(
        Fact.objects.filter(batch=batch, kind=FactKind.ORDER, customer__isnull=False).values_list(
            "customer_id", flat=True
        )
    )
    rollups.add_batch(batch.pk, sign=-1)
    Fact.objects.filter(batch=batch).delete()
    if customers:
        _recompute_first_deals(customers)


def _recompute_first_deals(customer_ids: set[int]) -> None:
    first = dict(
        Fact.objects.filter(kind=FactKind.ORDER, customer_id__in=customer_ids)
        .values_list("customer_id")
        .annotate(first=Min("date"))
        .values_list("customer_id", "first")
    )
    for customer in Customer.objects.filter(pk__in=customer_ids):
        customer.first_deal_date = first.get(customer.pk)
        customer.save(update_fields=["first_deal_date"])


# --- daily report ----------------------------------------------------------------------


@dataclass
class DailyLine:
    kind: str
    amount: Decimal | None = None
    customer: str = ""
    product: str = ""
    stage: str = ""
    quantity: int | None = None


@transaction.atomic
def do_submit_daily_report(
    user, *, day: dt.date, lines: list[DailyLine], note: str = "", token: str = ""
) -> tuple[DailyReport, list[ImportResult]]:
    """A rep's 销售日报: today's deals, collections, new opportunities and visits, saved as facts
    (source “daily”) through the same import rules, plus the report itself — which exists even
    when there was nothing to record, so the team lead knows the rep has reported.

    ``token`` comes from the form: a second tap on “submit” reuses it, and the generated
    external ids then make the repeat a no-op."""
    scope = scope_of(user)
    if not scope.reach(Action.SUBMIT).person_id:
        raise PermissionDenied(gettext("Only people with a sales profile can file a daily report."))
    person = Person.objects.get(pk=scope.person_id)
    token = token or uuid.uuid4().hex
    results = []
    for kind in FactKind.values:
        rows = [
            {
                "external_id": f"{person.code}-{day.isoformat()}-{token[:12]}-{kind}-{n}",
                "date": day.isoformat(),
                "amount": "" if line.amount is None else str(line.amount),
                "quantity": line.quantity if line.quantity is not None else "",
                "customer": line.customer,
                "product": line.product,
                "stage": line.stage,
                "person": person.code,
            }
            for n, line in enumerate((ln for ln in lines if ln.kind == kind), start=1)
        ]
        if not rows:
            continue
        # The rep's own results, with the customers they may see (read again for each kind:
        # the deals may have added some); a rep meets new customers, so it may add them.
        access = Access(
            people=frozenset({person.pk}),
            default_person=person.pk,
            units=frozenset(),
            customers=frozenset(Customer.objects.restrict(user).values_list("pk", flat=True)),
            new_customers=True,
            new_code_prefix=f"{person.code}-",
        )
        result = do_import_fact_rows(
            user, kind, rows, source="daily", filename=f"daily {day.isoformat()}", _daily_access=access
        )
        if not result.ok:
            raise DailyReportError(result)
        results.append(result)
    report, _created = DailyReport.objects.update_or_create(
        person=person, day=day, defaults={"note": note, "submitted_by": user}
    )
    return report, results


class DailyReportError(Exception):
    """A line of the daily report was refused; carries the import result with the reasons."""

    def __init__(self, result: ImportResult):
        super().__init__(result.errors)
        self.result = result
