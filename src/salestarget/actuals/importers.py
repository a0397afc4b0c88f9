"""The fact import pipeline: cells -> validated rows -> facts and rollups, in one pass.

One streaming pass over the file inside one transaction: rows are validated and, while no
row has failed, written in chunks (executemany on SQLite, COPY on PostgreSQL). The first
invalid row stops the writing; the pass goes on so that the error report lists every bad
row at once (the first problem of each), and the transaction is rolled back, so nothing is
half-written. A file is
never held in memory: only the keys seen so far (to catch duplicates within the file).

Files, the bulk API and the daily report all come through :class:`FactImport`, so they
share one set of rules (codes, dates, amounts, idempotency, scoping, rollups).
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from operator import itemgetter

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from salestarget.actuals import journal, rollups
from salestarget.actuals.models import DailyRollup, Fact, FactCredit
from salestarget.actuals.parsing import (
    DateParser,
    Problem,
    Rounder,
    bounded,
    cell_text,
    check_mapped_headers,
    header_key,
    looks_like_formula,
    parse_decimal,
    parse_whole,
    render,
    spreadsheet_safe,
)
from salestarget.catalog.models import Customer, Product, Region
from salestarget.metrics.models import FactKind
from salestarget.org.models import Membership, Person

FACT_FIELDS = (
    "external_id",
    "date",
    "amount",
    "quantity",
    "profit",
    "person",
    "product",
    "product_name",
    "product_category",
    "customer",
    "customer_name",
    "region",
    "stage",
)
KIND_ALIASES = {
    "order": FactKind.ORDER,
    "orders": FactKind.ORDER,
    "sales": FactKind.ORDER,
    "collection": FactKind.COLLECTION,
    "collections": FactKind.COLLECTION,
    "visit": FactKind.VISIT,
    "visits": FactKind.VISIT,
    "opportunity": FactKind.OPPORTUNITY,
    "opportunities": FactKind.OPPORTUNITY,
}
REQUIRED = {
    FactKind.ORDER: ("date", "amount"),
    FactKind.COLLECTION: ("date", "amount"),
    FactKind.VISIT: ("date", "person"),
    FactKind.OPPORTUNITY: ("date", "stage"),
}
STAGES = {
    **dict.fromkeys(["won", "closedwon", "赢单", "成交", "已成交", "签约", "已签约", "赢"], "won"),
    **dict.fromkeys(["lost", "closedlost", "输单", "丢单", "已丢单", "失败", "输"], "lost"),
}
# The fields the row loop reads, in the order of the tuple it unpacks.
LOOP_FIELDS = (
    "external_id",
    "date",
    "amount",
    "quantity",
    "profit",
    "person",
    "product",
    "customer",
    "region",
    "stage",
)
CHUNK = 5000
ANALYZE_AFTER = 50_000
MAX_STORED_ERRORS = 1000
PREVIEW_ROWS = 20
ZERO = Decimal(0)
HALF = Decimal("0.5")
AMBIGUOUS = -1
MISS = object()
# (ambiguous name, unknown code) per kind of record a fact row names.
REFERENCE_PROBLEMS = {
    "person": (
        gettext_noop("Several people are called “%(value)s”: use their codes."),
        gettext_noop(
            "“%(value)s” is not a known person (code or name). Add them first or create missing records."
        ),
    ),
    "product": (
        gettext_noop("Several products are called “%(value)s”: use their codes."),
        gettext_noop(
            "“%(value)s” is not a known product (code or name). Add it first or create missing records."
        ),
    ),
    "region": (
        gettext_noop("Several regions are called “%(value)s”: use their codes."),
        gettext_noop(
            "“%(value)s” is not a known region (code or name). Add it first or create missing records."
        ),
    ),
    "customer": (
        gettext_noop("Several customers are called “%(value)s”: use their codes."),
        gettext_noop(
            "“%(value)s” is not a known customer (code or name). Add it first or create missing records."
        ),
    ),
}
# The order in which FactImport._run checks a row's columns ("key": not seen before in the file).
ROW_CHECKS = (
    "date",
    "external_id",
    "amount",
    "profit",
    "quantity",
    "person",
    "region",
    "product",
    "customer",
    "stage",
    "key",
)
DATE_CHECK, EXT_CHECK, PERSON_CHECK, REGION_CHECK = (
    ROW_CHECKS.index(c) for c in ("date", "external_id", "person", "region")
)
INSERT_COLUMNS = (
    "kind",
    "date",
    "amount",
    "quantity",
    "profit",
    "stage",
    "source",
    "external_id",
    "customer_id",
    "person_id",
    "product_id",
    "region_id",
    "unit_id",
    "batch_id",
)


def fact_kind(kind: str) -> str:
    try:
        return KIND_ALIASES[kind.strip().lower()]
    except KeyError:
        raise Problem(
            gettext_noop("Unknown kind %(kind)s: use order, collection, visit or opportunity."), kind=kind
        ) from None


# --- results and errors ----------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a rejected file, would have done)."""

    kind: str
    source: str = ""
    filename: str = ""
    status: str = "applied"
    batch_id: int | None = None
    rows_read: int = 0
    rows_written: int = 0
    rows_skipped: int = 0
    rows_updated: int = 0
    amount_total: int = 0
    amount_exact: Decimal = ZERO
    profit_total: int = 0
    quantity_total: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    preview: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, row, column: str, value, problem: Problem) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append(error_entry(row, column, value, problem))

    def as_dict(self) -> dict:
        """The ``--json`` summary and the API's answer; amounts in fen and as yuan text."""
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "kind": self.kind,
            "source": self.source,
            "file": self.filename,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_updated": self.rows_updated,
            "rows_skipped": self.rows_skipped,
            "totals": {
                self.kind: {
                    "amount": yuan(self.amount_total),
                    "amount_fen": self.amount_total,
                    "amount_exact": str(self.amount_exact),
                    "quantity": self.quantity_total,
                    "profit": yuan(self.profit_total),
                    "profit_fen": self.profit_total,
                }
            },
            "created": self.created,
            "options": self.options,
            "error_count": self.error_count,
            "errors": [localised(e) for e in self.errors],
        }


def error_entry(row, column: str, value, problem: Problem) -> dict:
    """Stored untranslated (msgid + params) so a batch reads in the language of whoever opens it."""
    text = cell_text(value)
    return {
        "row": row,
        "column": column,
        "value": text[:200],
        "message": problem.message,
        "params": {k: cell_text(v)[:200] for k, v in problem.params.items()},
    }


def localised(entry: dict) -> dict:
    return {
        "row": entry.get("row"),
        "column": entry.get("column", ""),
        "value": entry.get("value", ""),
        "reason": render(entry["message"], entry.get("params")),
    }


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def error_report_csv(errors: Iterable[dict]) -> bytes:
    """The downloadable error report: UTF-8 with BOM so that Excel shows Chinese correctly,
    every cell defused so that a hostile value cannot run as a formula when opened."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([gettext("Row"), gettext("Column"), gettext("Value"), gettext("Reason")])
    for entry in errors:
        e = localised(entry)
        writer.writerow(
            [
                spreadsheet_safe(e["row"] if e["row"] is not None else ""),
                spreadsheet_safe(e["column"]),
                spreadsheet_safe(e["value"]),
                spreadsheet_safe(e["reason"]),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- code lookups ----------------------------------------------------------------------


class Lookup:
    """Code or name -> id, built once per import: a million rows resolve by dict lookups.

    Codes win over names; a name shared by two records is ambiguous and refused."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]):
        ids: dict[str, int] = {}
        for pk, _code, name in rows:
            for key in {name, name.casefold()}:
                if key:
                    ids[key] = pk if ids.get(key, pk) == pk else AMBIGUOUS
        for pk, code, _name in rows:
            ids[code] = pk
            ids.setdefault(code.casefold(), pk)
        self.ids = ids

    @classmethod
    def of(cls, queryset) -> Lookup:
        return cls(list(queryset.values_list("pk", "code", "name")))

    def find(self, text: str) -> int | None:
        pk = self.ids.get(text)
        if pk is None:
            pk = self.ids.get(text.casefold())
        return pk

    def add(self, pk: int, code: str, name: str) -> None:
        for key in (code, code.casefold(), name, name.casefold()):
            self.ids.setdefault(key, pk)


class UnitAtDate:
    """The unit a person's sale counts for on a day, from effective-dated memberships."""

    def __init__(self):
        spans: dict[int, list[tuple[int, str, str, int]]] = {}
        for person_id, unit_id, role, start, end in Membership.objects.values_list(
            "person_id", "unit_id", "role", "valid_from", "valid_to"
        ):
            # Member rows come before manager rows: a player-coach's sales count for the team.
            rank = 0 if role == Membership.Role.MEMBER else 1
            spans.setdefault(person_id, []).append(
                (rank, start.isoformat(), end.isoformat() if end else "9999-12-31", unit_id)
            )
        for rows in spans.values():
            rows.sort()
        self.spans = spans
        # Most people have one membership: (start, end, unit) answers them without a call.
        self.single = {pid: rows[0][1:] for pid, rows in spans.items() if len(rows) == 1}
        self.cache: dict[tuple[int, str], int | None] = {}

    def __call__(self, person_id: int | None, iso: str) -> int | None:
        if person_id is None:
            return None
        key = (person_id, iso)
        try:
            return self.cache[key]
        except KeyError:
            pass
        unit = None
        for _rank, start, end, unit_id in self.spans.get(person_id, ()):
            if start <= iso <= end:
                unit = unit_id
                break
        self.cache[key] = unit
        return unit


_SPLIT_SEPARATORS = re.compile(r"[;；,，、]")
_SHARE = re.compile(r"^(?P<who>.+?)\s*(?:[:：=]\s*|\s+|[(（]\s*)(?P<pct>\d+(?:\.\d+)?)\s*%?\s*[)）]?$")


def parse_split(text: str) -> list[tuple[str, int]] | None:
    """“P001:60%; P002:40%” -> [("P001", 6000), ("P002", 4000)] in basis points; None when the
    cell names one person."""
    if not (_SPLIT_SEPARATORS.search(text) or "%" in text or ":" in text or "：" in text):
        return None
    shares = []
    for part in _SPLIT_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        m = _SHARE.match(part)
        if not m:
            raise Problem(
                gettext_noop("“%(value)s” is not a split such as “P001:60%%; P002:40%%”."), value=text
            )
        bp = Decimal(m.group("pct")) * 100
        if bp != bp.to_integral_value():
            raise Problem(gettext_noop("Shares in “%(value)s” may have at most two decimals."), value=text)
        shares.append((m.group("who").strip(), int(bp)))
    total = sum(bp for _, bp in shares)
    if total != 10000:
        raise Problem(
            gettext_noop("The shares in “%(value)s” add up to %(total)s%%, not 100%%."),
            value=text,
            total=Decimal(total) / 100,
        )
    return shares


def split_amount(amount: int, shares: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(person, fen) for a split fact: largest remainder, so the parts add up to the amount."""
    exact = [(pid, amount * bp) for pid, bp in shares]
    parts = [(pid, value // 10000) for pid, value in exact]
    left = amount - sum(v for _, v in parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] % 10000), i))
    bumped = set(order[:left])
    return [(pid, v + (1 if i in bumped else 0)) for i, (pid, v) in enumerate(parts)]


# --- the pipeline ----------------------------------------------------------------------


class Rejected(Exception):
    """Unwinds the import's transaction once the pass has found errors."""


class DryRun(Exception):
    """Unwinds the transaction after a complete dry run."""


@dataclass
class Access:
    """What the importer may write, from ``restrict(user, action)``: everything (company-wide
    importers, the command line) or a team's or a rep's own.

    A restricted importer looks people and customers up among ``people`` and ``customers``
    only, so a code outside them reads as unknown whether or not it exists elsewhere; and a
    row's person must be the importer or, on the row's date, in one of ``units``."""

    people: frozenset[int] | None
    default_person: int | None = None
    create_missing: bool = False
    new_customers: bool = False
    units: frozenset[int] | None = None
    customers: frozenset[int] | None = None
    new_code_prefix: str = ""


class FactImport:
    """Streams rows (lists of cells) into facts of one kind for one batch."""

    def __init__(
        self,
        *,
        kind: str,
        source: str,
        columns: dict[str, list[int]],
        headers: list[str],
        dates: DateParser,
        multiplier: int,
        access: Access,
        result: ImportResult,
    ):
        self.kind = kind
        self.source = source
        self.columns = columns
        self.headers = headers
        self.width = len(headers)
        self.dates = dates
        self.shift = 2 + len(str(multiplier)) - 1  # fen = value x 10^shift; the units are powers of 10
        self.access = access
        self.result = result
        people, customers = Person.objects.all(), Customer.objects.all()
        if access.people is not None:
            people = people.filter(pk__in=access.people)
        if access.customers is not None:
            customers = customers.filter(pk__in=access.customers)
        self.people = Lookup.of(people)
        self.products = Lookup.of(Product.objects.all())
        self.customers = Lookup.of(customers)
        self.regions = Lookup.of(Region.objects.all())
        self.unit_at = UnitAtDate()
        self.credits: dict[str, list[tuple[int, int]]] = {}
        self.batch_id: int | None = None
        self.exact_total = ZERO
        self.new = NewRecords(result)
        self.first_deals: dict[int, str] = {}
        self.categories: dict[tuple[str, ...], Product] = {}
        self._cache: dict[str, dict] = {
            "person": {},
            "product": {},
            "customer": {},
            "region": {},
            "stage": {},
        }

    # cells -> values

    def _column_name(self, name: str) -> str:
        idx = self.columns.get(name)
        if not idx:
            return name
        return "+".join(self.headers[i] for i in idx)

    def _getter(self, name: str) -> Callable[[list], object] | None:
        idx = self.columns.get(name)
        if not idx:
            return None
        if len(idx) == 1:
            return itemgetter(idx[0])
        if name == "product_category":
            return lambda cells: [cell_text(cells[i]) for i in idx]
        sep = "-" if name == "external_id" else " "
        if len(idx) == 2:
            a, b = idx

            def pair(cells):
                x, y = cells[a], cells[b]
                if type(x) is str and type(y) is str:
                    return x.strip() + sep + y.strip()
                return cell_text(x) + sep + cell_text(y)

            return pair
        return lambda cells: sep.join(cell_text(cells[i]) for i in idx)

    def _text(self, value, limit: int) -> str:
        text = value if type(value) is str else cell_text(value)
        text = text.strip()
        if looks_like_formula(text):
            raise Problem(
                gettext_noop("“%(value)s” looks like a spreadsheet formula; formulas are refused."),
                value=text,
            )
        if len(text) > limit:
            raise Problem(
                gettext_noop("“%(value)s” is longer than %(limit)s characters."),
                value=text[:40] + "…",
                limit=limit,
            )
        return text

    def _person(self, raw, iso: str) -> tuple[int | None, list[tuple[int, int]] | None]:
        """Rows without a person are the importer's own (for an admin: unassigned)."""
        text = self._text(raw, 200)
        if not text:
            if self.access.default_person is None and "person" in REQUIRED[self.kind]:
                raise Problem(gettext_noop("A person is required."))
            return self.access.default_person, None
        shares = parse_split(text)
        if shares is None:
            return self._one_person(text, iso), None
        credited = []
        for who, bp in shares:
            pid = self._one_person(who, iso)
            if any(pid == other for other, _ in credited):
                raise Problem(gettext_noop("%(value)s appears twice in the split."), value=who)
            credited.append((pid, bp))
        owner = max(credited, key=lambda c: c[1])[0]
        return owner, credited

    def _known(self, kind: str, lookup: Lookup, text: str, may_create: bool) -> int | None:
        """The id of the record ``text`` names (code or name), or None where a new one may be
        made; an ambiguous name, or an unknown one that may not be created, is the row's error."""
        pk = lookup.find(text)
        ambiguous, unknown = REFERENCE_PROBLEMS[kind]
        if pk == AMBIGUOUS:
            raise Problem(ambiguous, value=text)
        if pk is None and not may_create:
            raise Problem(unknown, value=text)
        return pk

    def _one_person(self, text: str, iso: str) -> int:
        pid = self._known("person", self.people, text, self.access.create_missing)
        if pid is None:
            if len(text) > 32:
                raise Problem(gettext_noop("“%(value)s” is too long for a person code."), value=text)
            person = Person.objects.create(code=text, name=text[:100], hire_date=iso)
            self.people.add(person.pk, text, text)
            self._created("people")
            return person.pk
        return pid

    def _in_team(self, got: tuple, iso: str, raw) -> None:
        """A restricted importer writes a row only for themselves or for people who were in
        their team on the row's date (where the fact will be booked)."""
        units, own = self.access.units, self.access.default_person
        pid, credited = got
        for person_id in [c[0] for c in credited] if credited else [pid]:
            if person_id != own and self.unit_at(person_id, iso) not in units:
                raise Problem(
                    gettext_noop(
                        "%(value)s was not in your team on %(date)s: you may record facts only for "
                        "yourself and for your team's members while they were in it."
                    ),
                    value=cell_text(raw),
                    date=iso,
                )

    def _created(self, what: str) -> None:
        self.result.created[what] = self.result.created.get(what, 0) + 1

    def _product(self, text: str, cells: list) -> int | None:
        if not text:
            return None
        pid = self._known("product", self.products, text, self.access.create_missing)
        if pid is not None:
            return pid
        name_of, category_of = self._getter("product_name"), self._getter("product_category")
        if len(text) > 64:
            raise Problem(gettext_noop("“%(value)s” is too long for a product code."), value=text)
        name = self._text(name_of(cells), 200) if name_of else ""
        levels = tuple(category_levels(category_of(cells))) if category_of else ()
        parent = None
        if levels:
            parent = self.categories.get(levels)
            if parent is None:
                parent = self.categories[levels] = category_node(list(levels), self.products)
        pk = self.new.add(Product, code=text, name=name or text, parent=parent)
        self.products.add(pk, text, name or text)
        return pk

    def _region(self, text: str) -> int | None:
        if not text:
            return None
        rid = self._known("region", self.regions, text, self.access.create_missing)
        if rid is not None:
            return rid
        pk = self.new.add(Region, code=text[:64], name=text[:100])
        self.regions.add(pk, text[:64], text[:100])
        return pk

    def _customer(self, text: str, cells: list, region_id, person_id) -> int | None:
        if not text:
            return None
        may_create = self.access.create_missing or self.access.new_customers
        cid = self._known("customer", self.customers, text, may_create)
        if cid is not None:
            return cid
        name_of = self._getter("customer_name")
        if len(text) > 64:
            raise Problem(gettext_noop("“%(value)s” is too long for a customer code."), value=text)
        name = self._text(name_of(cells), 200) if name_of else ""
        # A rep's new customer gets a code of the rep's own, so it never meets (or reveals)
        # a customer of someone else's with the same name.
        code = f"{self.access.new_code_prefix}{text}"[:64]
        pk = self.new.add(Customer, code=code, name=name or text, region_id=region_id, owner_id=person_id)
        self.customers.add(pk, text, name or text)
        return pk

    def _stage(self, raw) -> str:
        text = self._text(raw, 32)
        if not text and "stage" in REQUIRED[self.kind]:
            raise Problem(gettext_noop("A stage is required."))
        return STAGES.get(header_key(text), text.lower())

    # the pass

    def _layout(self) -> tuple[Callable[[list], tuple], list[Callable[[list], str]]]:
        """How a row's cells become the values of ``LOOP_FIELDS`` in one C call: unmapped
        fields read an empty cell appended to the row, fields spread over several columns
        read their joined value, appended after it."""
        blank = self.width
        joiners, index = [], []
        for name in LOOP_FIELDS:
            idx = self.columns.get(name) or []
            if len(idx) == 1:
                index.append(idx[0])
            elif idx:
                joiners.append(self._getter(name))
                index.append(blank + len(joiners))
            else:
                index.append(blank)
        return itemgetter(*index), joiners

    def run(self, rows: Iterator[tuple[int, list]], writer: ChunkWriter) -> None:
        """Validate every row; write chunks while no row has failed.

        The cyclic garbage collector is paused meanwhile: the loop makes millions of small
        containers and no cycles, and the collector's passes over them cost a quarter of
        the loop's time."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._run(rows, writer)
        finally:
            writer.close()
            if enabled:
                gc.enable()

    def _run(self, rows: Iterator[tuple[int, list]], writer: ChunkWriter) -> None:
        """The loop itself.

        This loop is the import's hot path (a million rows must take seconds), hence the
        local names, one C call to pick a row's cells, caches consulted before any parsing,
        and the rounding written out with a shortcut for amounts in whole fen."""
        kind, source, result = self.kind, self.source, self.result
        for name in REQUIRED[kind]:
            if not self.columns.get(name) and not (name == "person" and self.access.default_person):
                raise Problem(
                    gettext_noop("No column is mapped to the required field %(field)s."),
                    field=field_label(name),
                )
        check_mapped_headers(self.headers, self.columns, field_label)
        amount_label, profit_label, quantity_label = map(field_label, ("amount", "profit", "quantity"))
        fields_of, joiners = self._layout()
        ext_mapped = bool(self.columns.get("external_id"))
        amount_required = "amount" in REQUIRED[kind]
        dates, shift, width = self.dates, self.shift, self.width
        date_get = dates.cache.get
        single_unit, unit_at = self.unit_at.single.get, self.unit_at
        caches = self._cache
        for name in ("product", "customer", "region"):
            caches[name][""] = None
        if "stage" not in REQUIRED[kind]:
            caches["stage"][""] = ""
        person_get, product_get = caches["person"].get, caches["product"].get
        in_team = self._in_team if self.access.units is not None else None
        customer_get, region_get, stage_get = (
            caches["customer"].get,
            caches["region"].get,
            caches["stage"].get,
        )
        seen: dict[str, int] = {}
        remember = seen.setdefault
        residue = profit_residue = ZERO
        chunk: list[tuple] = []
        exact: list[tuple[Decimal, Decimal]] = []
        chunk_start = (residue, profit_residue)
        batch_id = self.batch_id
        preview = result.preview
        previews = PREVIEW_ROWS
        clean = True
        read = 0
        column = ""
        for number, cells in rows:
            if len(cells) != width:
                # Cells beyond the header have no name to map; short rows are padded.
                cells = cells[:width] if len(cells) > width else [*cells, *[""] * (width - len(cells))]
            if not any(cells):
                continue
            read += 1
            cells.append("")
            for join in joiners:
                cells.append(join(cells))
            ext, d, amount, qty, profit, person, product, customer, region, stage = fields_of(cells)
            try:
                column = "date"
                iso = date_get(d) or dates(d)
                column = "external_id"
                if not ext_mapped:
                    ext = row_key(cells[:width], seen)
                elif type(ext) is str:
                    ext = ext.strip()
                else:
                    ext = cell_text(ext)
                if not ext or len(ext) > 128 or ext[0] in "=+-@":
                    ext = self._external_id(ext)
                column = "amount"
                if type(amount) is str and amount and "_" not in amount:
                    try:
                        a = Decimal(amount)
                    except InvalidOperation:
                        a = parse_decimal(amount)
                    if not a.is_finite():
                        a = parse_decimal(amount)
                else:
                    a = self._decimal(amount, amount_required)
                # Bounded (the same helper as _check's) before scaling, which would overflow 1e999999.
                a = bounded(a, amount, amount_label, shift).scaleb(shift)
                column = "profit"
                p = (
                    bounded(self._decimal(profit, False), profit, profit_label, shift).scaleb(shift)
                    if profit != ""
                    else ZERO
                )
                column = "quantity"
                if qty == "" or qty is None:
                    q = 0
                else:
                    if type(qty) is str and "_" not in qty:  # int() reads 1_000 as 1000
                        try:
                            q = int(qty)
                        except ValueError:
                            q = parse_whole(qty, quantity_label)
                    elif type(qty) is float and qty.is_integer():
                        q = int(qty)
                    else:
                        q = parse_whole(qty, quantity_label)
                    q = bounded(q, qty, quantity_label)
                column = "person"
                got = person_get(person, MISS)
                if got is MISS:
                    got = caches["person"][person] = self._person(person, iso)
                if in_team is not None:
                    in_team(got, iso, person)
                pid, credited = got
                column = "region"
                rid = region_get(region, MISS)
                if rid is MISS:
                    rid = caches["region"][region] = self._region(self._text(region, 64))
                column = "product"
                prid = product_get(product, MISS)
                if prid is MISS:
                    prid = caches["product"][product] = self._product(self._text(product, 64), cells)
                column = "customer"
                cid = customer_get(customer, MISS)
                if cid is MISS:
                    cid = caches["customer"][customer] = self._customer(
                        self._text(customer, 64), cells, rid, pid
                    )
                column = "stage"
                st = stage_get(stage, MISS)
                if st is MISS:
                    st = caches["stage"][stage] = self._stage(stage)
                column = "key"
                first = remember(ext, number)
                if first != number:
                    raise Problem(
                        gettext_noop(
                            "The key %(value)s appears twice in the file (rows %(first)s and %(row)s)."
                        ),
                        value=ext,
                        first=first,
                        row=number,
                    )
            except Problem as problem:
                values = {
                    "date": d,
                    "external_id": ext,
                    "amount": amount,
                    "profit": profit,
                    "quantity": qty,
                    "person": person,
                    "region": region,
                    "product": product,
                    "customer": customer,
                    "stage": stage,
                    "key": ext,
                }
                # What the columns before the failed one produced (later ones are unset or
                # hold an earlier row's values).
                passed = ROW_CHECKS.index(column)
                known = {}
                if passed > DATE_CHECK:
                    known["date"] = iso
                if passed > EXT_CHECK:
                    known["external_id"] = ext
                if passed > PERSON_CHECK:
                    known["person"] = got
                if passed > REGION_CHECK:
                    known["region"] = rid
                found = [(column, values[column], problem)]
                found += self._later_problems(column, number, cells, values, known, seen)
                for col, value, prob in found:
                    name = "external_id" if col == "key" else col
                    result.add_error(number, self._column_name(name), value, prob)
                clean = False
                continue
            if not clean:
                continue
            # Carry the sub-fen remainder (see parsing.Rounder): the rows sum to the exact total.
            if residue:
                t = residue + a
                r = (t + HALF).to_integral_value(ROUND_FLOOR)
                residue = t - r
                fen = int(r)
            else:
                fen = int(a)
                if fen != a:
                    r = (a + HALF).to_integral_value(ROUND_FLOOR)
                    residue = a - r
                    fen = int(r)
            if p:
                t = profit_residue + p
                r = (t + HALF).to_integral_value(ROUND_FLOOR)
                profit_residue = t - r
                profit_fen = int(r)
            else:
                profit_fen = 0
            one = single_unit(pid)
            if one is not None:
                unit = one[2] if one[0] <= iso <= one[1] else None
            else:
                unit = unit_at(pid, iso)
            row = (kind, iso, fen, q, profit_fen, st, source, ext, cid, pid, prid, rid, unit, batch_id)
            chunk.append(row)
            exact.append((a, p))
            if credited:
                self.credits[ext] = credited
            if previews:
                previews -= 1
                preview.append(self._preview(number, row, cells))
            if len(chunk) >= CHUNK:
                rounding = self._flush(writer, chunk, exact, chunk_start)
                if rounding is not None:
                    residue, profit_residue = rounding
                chunk, exact = [], []
                chunk_start = (residue, profit_residue)
        result.rows_read = read
        if clean and chunk:
            self._flush(writer, chunk, exact, chunk_start)
        if not read and clean:
            raise Problem(gettext_noop("The file has a header but no data rows."))

    def _later_problems(
        self, failed: str, number: int, cells: list, values: dict, known: dict, seen: dict
    ) -> list[tuple[str, object, Problem]]:
        """The problems in the columns after ``failed``, so that one error report names all of a
        row's problems and the file can be fixed in one pass.  Off the hot path: it runs only
        for rows already in error."""
        state = dict(known)
        found = []
        for column in ROW_CHECKS[ROW_CHECKS.index(failed) + 1 :]:
            try:
                state[column] = self._check(column, number, cells, values, state, seen)
            except Problem as problem:
                value = state.get("external_id") if column == "key" else values[column]
                found.append((column, value, problem))
        return found

    def _check(self, column: str, number: int, cells: list, values: dict, state: dict, seen: dict):
        """One of _run's checks on its own, with the same rules and caches.

        A check that needs an earlier column which failed gets a stand-in (today for the hire
        date of a person created by --create-missing, no region or owner for a new customer):
        the row is rejected already, and so is everything the batch would have created.
        """
        raw = values[column]
        if column == "date":
            return self.dates.cache.get(raw) or self.dates(raw)
        if column == "external_id":
            ext = (
                row_key(cells[: self.width], seen)
                if not self.columns.get("external_id")
                else cell_text(raw).strip()
            )
            return self._external_id(ext) if not ext or len(ext) > 128 or ext[0] in "=+-@" else ext
        if column == "amount":
            amount = self._decimal(raw, "amount" in REQUIRED[self.kind])
            return bounded(amount, raw, field_label("amount"), self.shift)
        if column == "profit":
            return (
                bounded(self._decimal(raw, False), raw, field_label("profit"), self.shift)
                if raw != ""
                else ZERO
            )
        if column == "quantity":
            return 0 if raw in ("", None) else parse_whole(raw, field_label("quantity"))
        if column == "key":
            ext = state.get("external_id")
            first = seen.setdefault(ext, number) if ext else number
            if first != number:
                raise Problem(
                    gettext_noop("The key %(value)s appears twice in the file (rows %(first)s and %(row)s)."),
                    value=ext,
                    first=first,
                    row=number,
                )
            return ext
        cache = self._cache[column]
        got = cache.get(raw, MISS)
        if got is MISS:
            if column == "person":
                got = self._person(raw, state.get("date") or timezone.localdate().isoformat())
            elif column == "region":
                got = self._region(self._text(raw, 64))
            elif column == "product":
                got = self._product(self._text(raw, 64), cells)
            elif column == "customer":
                owner = state.get("person")
                got = self._customer(self._text(raw, 64), cells, state.get("region"), owner and owner[0])
            else:
                got = self._stage(raw)
            cache[raw] = got
        if column == "person" and self.access.units is not None and state.get("date"):
            self._in_team(got, state["date"], raw)
        return got

    def _decimal(self, value, required: bool) -> Decimal:
        if type(value) is str and value and "_" not in value:
            try:
                d = Decimal(value)
            except InvalidOperation:
                return parse_decimal(value)
            return d if d.is_finite() else parse_decimal(value)
        if value is None or value == "":
            if required:
                raise Problem(gettext_noop("An amount is required."))
            return ZERO
        return parse_decimal(value)

    def _external_id(self, text: str) -> str:
        text = self._text(text, 128)
        if not text:
            raise Problem(gettext_noop("An external id is required to tell rows apart."))
        return text

    def _flush(self, writer: ChunkWriter, chunk: list[tuple], exact: list, start) -> tuple | None:
        """Write a chunk, skipping rows already imported. When some were skipped the chunk's
        rounding is redone over the rows that remain, so the batch total stays exact; the
        carried remainders are returned then."""
        if self.new.pending:
            chunk = self._materialise(chunk)
        existing = writer.existing(self.source, [row[7] for row in chunk]) if writer.source_known else set()
        rounding = None
        if existing:
            self.result.rows_skipped += len(existing)
            amounts, profits = Rounder(start[0]), Rounder(start[1])
            kept = []
            for row, (a_exact, p_exact) in zip(chunk, exact, strict=True):
                if row[7] in existing:
                    self.credits.pop(row[7], None)
                    continue
                kept.append(
                    ((*row[:2], amounts.take(a_exact), row[3], profits.take(p_exact), *row[5:]), a_exact)
                )
            chunk = [row for row, _ in kept]
            self.exact_total += sum((a for _, a in kept), ZERO)
            rounding = (amounts.residue, profits.residue)
        else:
            self.exact_total += sum((a for a, _ in exact), ZERO)
        if chunk:
            writer.insert(chunk)
            if self.kind == FactKind.ORDER:
                firsts = self.first_deals
                for row in chunk:
                    cid = row[8]
                    if cid is not None and (cid not in firsts or row[1] < firsts[cid]):
                        firsts[cid] = row[1]
        self.result.rows_written += len(chunk)
        return rounding

    def _materialise(self, chunk: list[tuple]) -> list[tuple]:
        """Create the chunk's new records in bulk and put their real ids where the rows (and
        the lookups) hold provisional ones."""
        real = self.new.create()
        for lookup in (self.products, self.customers, self.regions):
            for key, pk in lookup.ids.items():
                if pk in real:
                    lookup.ids[key] = real[pk]
        for name in ("product", "customer", "region"):
            cache = self._cache[name]
            for key, pk in cache.items():
                if pk in real:
                    cache[key] = real[pk]
        get = real.get
        return [
            (*row[:8], get(row[8], row[8]), row[9], get(row[10], row[10]), get(row[11], row[11]), *row[12:])
            if (row[8] or 0) < AMBIGUOUS or (row[10] or 0) < AMBIGUOUS or (row[11] or 0) < AMBIGUOUS
            else row
            for row in chunk
        ]

    def _preview(self, number: int, row: tuple, cells: list) -> dict:
        values = dict(zip(LOOP_FIELDS, self._layout()[0](cells), strict=True))
        return {
            "row": number,
            "external_id": row[7],
            "date": row[1],
            "amount": row[2],
            "quantity": row[3],
            "profit": row[4],
            "person": cell_text(values["person"]),
            "product": cell_text(values["product"]),
            "customer": cell_text(values["customer"]),
            "region": cell_text(values["region"]),
            "stage": row[5],
        }

    def finish(self, batch_id: int) -> None:
        """What follows the rows: totals, split credits, customers' first deals, the rollups."""
        totals = Fact.objects.filter(batch_id=batch_id).aggregate(
            amount=Sum("amount"), quantity=Sum("quantity"), profit=Sum("profit")
        )
        self.result.amount_total = totals["amount"] or 0
        self.result.quantity_total = totals["quantity"] or 0
        self.result.profit_total = totals["profit"] or 0
        self.result.amount_exact = self.exact_total / 100
        if self.credits:
            ids = dict(
                Fact.objects.filter(source=self.source, external_id__in=list(self.credits)).values_list(
                    "external_id", "pk"
                )
            )
            FactCredit.objects.bulk_create(
                [
                    FactCredit(fact_id=ids[ext], person_id=pid, share_bp=bp)
                    for ext, shares in self.credits.items()
                    for pid, bp in shares
                ],
                batch_size=2000,
            )
        if self.first_deals:
            note_first_deals(self.first_deals)
        rollups.add_batch(batch_id)
        if connection.vendor == "postgresql" and self.result.rows_written >= ANALYZE_AFTER:
            # A big batch leaves PostgreSQL's statistics behind; with stale ones the next
            # import's key checks scan the whole source instead of probing the key index.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Fact._meta.db_table}, {DailyRollup._meta.db_table}")


class NewRecords:
    """Records an import creates (create missing), made in bulk per chunk: one by one (tree
    path, history row) they would cost more than the rest of the import. Until then a row
    holds a provisional negative id."""

    ORDER = (Region, Product, Customer)
    LABELS = {Region: "regions", Product: "products", Customer: "customers"}

    def __init__(self, result: ImportResult):
        self.result = result
        self.pending: dict[int, tuple[type, dict]] = {}
        self._next = AMBIGUOUS

    def add(self, model, **attrs) -> int:
        self._next -= 1
        self.pending[self._next] = (model, attrs)
        return self._next

    def create(self) -> dict[int, int]:
        real: dict[int, int] = {}
        for model in self.ORDER:
            items = [(pk, attrs) for pk, (m, attrs) in self.pending.items() if m is model]
            if not items:
                continue
            objs = []
            for _pk, attrs in items:
                if "region_id" in attrs:
                    attrs = {**attrs, "region_id": real.get(attrs["region_id"], attrs["region_id"])}
                objs.append(model(**attrs))
            model.objects.bulk_create(objs, batch_size=1000)
            if hasattr(model, "path"):
                for obj in objs:
                    obj.path = (obj.parent.path if obj.parent_id else "/") + f"{obj.pk}/"
                    obj.depth = obj.path.count("/") - 2
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {model._meta.db_table} SET path = %s, depth = %s WHERE id = %s",
                        [(obj.path, obj.depth, obj.pk) for obj in objs],
                    )
            if hasattr(model, "history"):
                model.history.bulk_history_create(objs, batch_size=1000)
            journal.note_created(objs)
            for (pk, _attrs), obj in zip(items, objs, strict=True):
                real[pk] = obj.pk
            label = self.LABELS[model]
            self.result.created[label] = self.result.created.get(label, 0) + len(objs)
        self.pending.clear()
        return real


def row_key(cells: list, seen: dict) -> str:
    """An idempotency key for files without an id column: the row's content, numbered when the
    same content repeats, so that re-importing the same file adds nothing."""
    base = hashlib.blake2b("\x1f".join(cell_text(c) for c in cells).encode(), digest_size=12).hexdigest()
    key, n = base, 1
    while key in seen:
        n += 1
        key = f"{base}-{n}"
    return key


def category_levels(value) -> list[str]:
    if value is None:
        return []
    parts = value if isinstance(value, list) else re.split(r"\s*(?:/|>|＞|»|\\)\s*", cell_text(value))
    levels = [cell_text(p) for p in parts if cell_text(p)]
    for level in levels:
        if looks_like_formula(level):
            raise Problem(
                gettext_noop("“%(value)s” looks like a spreadsheet formula; formulas are refused."),
                value=level,
            )
    return levels


def category_node(levels: list[str], lookup: Lookup | None = None) -> Product:
    """The product-tree node for a category path such as Office Supplies / Paper, created when
    missing (a category column exists to build the tree)."""
    parent = None
    for depth in range(len(levels)):
        name = levels[depth][:200]
        node = Product.objects.filter(parent=parent, name=name).first()
        if node is None:
            code = "/".join(levels[: depth + 1])[:64]
            node = Product.objects.filter(code=code).first()
            if node is None:
                node = Product(code=code, name=name, parent=parent)
                node.save()
                if lookup is not None:
                    lookup.add(node.pk, code, name)
        parent = node
    return parent


def note_first_deals(firsts: dict[int, str]) -> None:
    """Customers' first-deal dates move earlier when a batch brings older orders (the new-
    customer metric reads them); one statement on PostgreSQL, where round trips cost most."""
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} c SET first_deal_date = v.day FROM unnest(%s::bigint[], %s::date[]) AS v(id, day) "
                f"WHERE c.id = v.id AND (c.first_deal_date IS NULL OR c.first_deal_date > v.day)",
                [list(firsts), list(firsts.values())],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET first_deal_date = %s WHERE id = %s "
                f"AND (first_deal_date IS NULL OR first_deal_date > %s)",
                [(day, pk, day) for pk, day in firsts.items()],
            )


def field_label(name: str) -> str:
    return gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name


FIELD_LABELS = {
    "external_id": gettext_noop("External id"),
    "date": gettext_noop("Date"),
    "amount": gettext_noop("Amount"),
    "quantity": gettext_noop("Quantity"),
    "profit": gettext_noop("Gross profit"),
    "person": gettext_noop("Person"),
    "product": gettext_noop("Product"),
    "product_name": gettext_noop("Product name"),
    "product_category": gettext_noop("Product category"),
    "customer": gettext_noop("Customer"),
    "customer_name": gettext_noop("Customer name"),
    "region": gettext_noop("Region"),
    "stage": gettext_noop("Stage"),
}


# --- writing ---------------------------------------------------------------------------


class ChunkWriter:
    """Bulk writes and key checks on the import's own connection and transaction.

    With ``stream`` (PostgreSQL; only for imports that create no records, which would query
    between chunks) one COPY stays
    open across chunks: the server stores rows while Python reads and checks the next ones, so
    the two cores work at once instead of taking turns at every chunk's end.  ``close`` ends it
    and must run before the connection is used for anything else; the writer's own queries
    do so themselves.
    """

    def __init__(self, source: str, *, stream: bool = False):
        self.raw = connection.connection
        self.stream = stream
        self._open: ExitStack | None = None
        self._copy = None
        self.vendor = connection.vendor
        self.table = Fact._meta.db_table
        cols = ", ".join(INSERT_COLUMNS)
        if self.vendor == "postgresql":
            self.copy_sql = f"COPY {self.table} ({cols}) FROM STDIN"
            self.exists_sql = (
                f"SELECT external_id FROM {self.table} WHERE source = %s AND external_id = ANY(%s)"
            )
        else:
            marks = ", ".join("?" * len(INSERT_COLUMNS))
            self.insert_sql = f"INSERT INTO {self.table} ({cols}) VALUES ({marks})"
            self.exists_sql = (
                f"SELECT external_id FROM {self.table} WHERE source = ? "
                f"AND external_id IN (SELECT value FROM json_each(?))"
            )
        # Keys can only be taken if the source has facts already (this import's own rows are
        # checked against each other in memory): a first import from a source, the common
        # case for big files, skips the per-chunk lookups.
        self.source_known = Fact.objects.filter(source=source).exists()

    # The driver's own connection skips Django's cursor, so its errors are turned into Django's
    # here: a concurrent import's duplicate key must reach the service as IntegrityError.

    def existing(self, source: str, keys: list[str]) -> set[str]:
        with connection.wrap_database_errors:
            if self.vendor == "postgresql":
                self.close()
                with self.raw.cursor() as cur:
                    cur.execute(self.exists_sql, [source, keys])
                    return {r[0] for r in cur.fetchall()}
            cur = self.raw.execute(self.exists_sql, [source, json.dumps(keys, ensure_ascii=False)])
            return {r[0] for r in cur.fetchall()}

    def insert(self, rows: list[tuple]) -> None:
        with connection.wrap_database_errors:
            if self.vendor != "postgresql":
                self.raw.executemany(self.insert_sql, rows)
                return
            if self._open is None:
                self._open = ExitStack()
                cursor = self._open.enter_context(self.raw.cursor())
                self._copy = self._open.enter_context(cursor.copy(self.copy_sql))
            write = self._copy.write_row
            for row in rows:
                write(row)
            if not self.stream:
                self.close()

    def close(self) -> None:
        """Finish the open COPY, if any (waiting for the server to store the rows)."""
        if self._open is not None:
            stack, self._open, self._copy = self._open, None, None
            with connection.wrap_database_errors:
                stack.close()
