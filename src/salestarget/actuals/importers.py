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
from decimal import Decimal
from operator import itemgetter

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from salestarget.actuals import journal, rollups
from salestarget.actuals.credit import split_parts
from salestarget.actuals.models import Fact, FactCredit
from salestarget.actuals.parsing import (
    DateParser,
    Problem,
    Rounder,
    bounded,
    cell_text,
    check_mapped_headers,
    duplicate_key,
    header_key,
    looks_like_formula,
    parse_decimal,
    parse_whole,
    render,
    spreadsheet_safe,
)
from salestarget.catalog.models import Customer, Product, Region
from salestarget.metrics.models import FactKind, Metric
from salestarget.org.models import Membership, Person, TerritoryAssignment, UnitAtDate

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
# The row rules in the order FactImport._run applies them ("key": not seen before in the file).
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
    warnings: list[dict] = field(default_factory=list)

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
            "warnings": warning_texts(self.warnings),
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


def warning_texts(warnings: Iterable[dict]) -> list[str]:
    """Warnings as stored (msgid + params), in the reader's language."""
    return [render(w["message"], w.get("params")) for w in warnings]


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def error_report_csv(errors: list[dict], count: int | None = None) -> bytes:
    """The downloadable error report: UTF-8 with BOM so that Excel shows Chinese correctly,
    every cell defused so that a hostile value cannot run as a formula when opened. Only the
    first MAX_STORED_ERRORS are kept: of ``count`` errors, a last line says how many more."""
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
    if count is not None and count > len(errors):
        more = ngettext(
            "…and %(count)s more error, not listed.",
            "…and %(count)s more errors, not listed.",
            count - len(errors),
        )
        writer.writerow(["", "", "", more % {"count": count - len(errors)}])
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


class PersonLookup(Lookup):
    """A person by code, employee number, e-mail or national id (tried in that order), else by
    name: the one place every import resolves the people a file names.

    A value that is one person's key and another's (by different keys, or a key and a name of
    no-one else's: keys win over names) is ambiguous when it names two people by keys; the row
    is then refused with :meth:`ambiguity`, naming both."""

    KEYS = ("code", "employee_no", "email", "national_id")

    def __init__(self, rows: Iterable[tuple]):
        rows = list(rows)
        super().__init__([(pk, code, name) for pk, code, name, *_ in rows])
        self.clashes: dict[str, tuple[int, int]] = {}
        self.labels = {pk: f"{name} ({code})" for pk, code, name, *_ in rows}
        # (pk, key) in the order of KEYS: code, employee number, e-mail, national id.
        keys = [(row[0], row[1 if n == 0 else n + 2]) for n in range(len(self.KEYS)) for row in rows]
        keys = [(pk, key) for pk, key in keys if key]
        exact = self._keyed(keys)
        # A key's other case finds it too, unless that spelling is someone's key as it is.
        folded = self._keyed([(pk, key.casefold()) for pk, key in keys if key.casefold() not in exact])
        for form, pk in (folded | exact).items():
            self.ids[form] = AMBIGUOUS if form in self.clashes else pk

    def _keyed(self, keys: list[tuple[int, str]]) -> dict[str, int]:
        keyed: dict[str, int] = {}
        for pk, key in keys:
            other = keyed.setdefault(key, pk)
            if other != pk and key not in self.clashes:
                self.clashes[key] = (other, pk)
        return keyed

    @classmethod
    def of(cls, queryset) -> PersonLookup:
        return cls(list(queryset.values_list("pk", "code", "name", "employee_no", "email", "national_id")))

    def add(self, pk: int, code: str, name: str) -> None:
        super().add(pk, code, name)
        self.labels[pk] = f"{name} ({code})"

    def ambiguity(self, text: str) -> Problem:
        """Why ``text`` (for which :meth:`find` gave AMBIGUOUS) names no single person."""
        pair = self.clashes.get(text) or self.clashes.get(text.casefold())
        if pair is None:
            return Problem(REFERENCE_PROBLEMS["person"][0], value=text)
        return Problem(
            gettext_noop(
                "“%(value)s” names two different people: %(first)s and %(second)s (by code, employee "
                "number, e-mail or national id). Use the person's code."
            ),
            value=text,
            first=self.labels[pair[0]],
            second=self.labels[pair[1]],
        )


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
        self.people = PersonLookup.of(people)
        self.products = Lookup.of(Product.objects.all())
        self.customers = Lookup.of(customers)
        self.regions = Lookup.of(Region.objects.all())
        self.unit_at = UnitAtDate()
        self.required = frozenset(REQUIRED[kind])
        self.labels = {name: field_label(name) for name in ("amount", "profit", "quantity")}
        self.ext_mapped = bool(columns.get("external_id"))
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
        self._record_rules = {
            "person": self._person,
            "region": self._region,
            "product": self._product,
            "customer": self._customer,
            "stage": self._stage,
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

    # The row rules: one per entry of ROW_CHECKS, a cell in and its value (or the row's
    # Problem) out. The loop calls them for every row and the error report for the columns
    # after a row's first problem, so a value is judged the same whichever path meets it. The
    # rules of the columns that name records (person, region, product, customer, stage) are
    # memoised per cell value in ``self._cache``, the loop reading the cache before it calls
    # them; they create records, so they must run once per value.

    def _external_id(self, raw, cells: list, seen: dict) -> str:
        if not self.ext_mapped:
            return row_key(cells[: self.width], seen)
        ext = raw.strip() if type(raw) is str else cell_text(raw)
        if not ext or len(ext) > 128 or ext[0] in "=+-@":  # only these can fail _text's checks
            ext = self._text(ext, 128)
            if not ext:
                raise Problem(gettext_noop("An external id is required to tell rows apart."))
        return ext

    def _money(self, raw, column: str) -> Decimal:
        """An amount or a profit in fen, exact: the Rounder makes whole fen of it when the row
        is written. Bounded before scaling, which would overflow on 1e999999."""
        if raw is None or raw == "":
            if column in self.required:
                raise Problem(gettext_noop("An amount is required."))
            return ZERO
        return bounded(parse_decimal(raw), raw, self.labels[column], self.shift).scaleb(self.shift)

    def _quantity(self, raw) -> int:
        return 0 if raw == "" or raw is None else parse_whole(raw, self.labels["quantity"])

    def _person(self, raw, iso: str) -> tuple[int | None, list[tuple[int, int]] | None]:
        """(owner, split credits). Rows without a person are the importer's own (for an admin:
        unassigned)."""
        text = self._text(raw, 200)
        if not text:
            if self.access.default_person is None and "person" in self.required:
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
            raise (
                lookup.ambiguity(text) if isinstance(lookup, PersonLookup) else Problem(ambiguous, value=text)
            )
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
        their team on the row's date (where the fact will be booked). Not memoised: the same
        person may be in the team on one date and not on another."""
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

    def _product(self, raw, cells: list) -> int | None:
        text = self._text(raw, 64)
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

    def _region(self, raw) -> int | None:
        text = self._text(raw, 64)
        if not text:
            return None
        rid = self._known("region", self.regions, text, self.access.create_missing)
        if rid is not None:
            return rid
        pk = self.new.add(Region, code=text[:64], name=text[:100])
        self.regions.add(pk, text[:64], text[:100])
        return pk

    def _customer(self, raw, cells: list, region_id, person_id) -> int | None:
        text = self._text(raw, 64)
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
        if not text and "stage" in self.required:
            raise Problem(gettext_noop("A stage is required."))
        return STAGES.get(header_key(text), text.lower())

    def _key(self, ext: str, number: int, seen: dict) -> str:
        """Not seen before in the file: the rows are checked against each other in memory (the
        writer checks them against earlier imports)."""
        first = seen.setdefault(ext, number)
        if first != number:
            raise duplicate_key(ext, first, number)
        return ext

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
        """The loop itself: the row rules in ROW_CHECKS order, then the row's tuple.

        This loop is the import's hot path (a million rows must take seconds), hence the
        local names, one C call to pick a row's cells, and the memoised values read straight
        from their dicts, so that a rule is called only for a value not met before."""
        kind, source, result = self.kind, self.source, self.result
        for name in REQUIRED[kind]:
            if not self.columns.get(name) and not (name == "person" and self.access.default_person):
                raise Problem(
                    gettext_noop("No column is mapped to the required field %(field)s."),
                    field=field_label(name),
                )
        check_mapped_headers(self.headers, self.columns, field_label)
        fields_of, joiners = self._layout()
        width = self.width
        date_get, dates = self.dates.cache.get, self.dates
        external_id, money, quantity, key = self._external_id, self._money, self._quantity, self._key
        unit_at = self.unit_at
        caches = self._cache
        person_get, region_get, product_get, customer_get, stage_get = (
            caches[name].get for name in ("person", "region", "product", "customer", "stage")
        )
        in_team = self._in_team if self.access.units is not None else None
        seen: dict[str, int] = {}
        amounts, profits = Rounder(), Rounder()
        to_fen, profit_to_fen = amounts.take, profits.take
        chunk: list[tuple] = []
        exact: list[tuple[Decimal, Decimal]] = []
        chunk_start = (amounts.residue, profits.residue)
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
                ext = external_id(ext, cells, seen)
                column = "amount"
                a = money(amount, "amount")
                column = "profit"
                p = money(profit, "profit")
                column = "quantity"
                q = quantity(qty)
                column = "person"
                got = person_get(person, MISS)
                if got is MISS:
                    got = self._memoised("person", person, iso)
                if in_team is not None:
                    in_team(got, iso, person)
                pid, credited = got
                column = "region"
                rid = region_get(region, MISS)
                if rid is MISS:
                    rid = self._memoised("region", region)
                column = "product"
                prid = product_get(product, MISS)
                if prid is MISS:
                    prid = self._memoised("product", product, cells)
                column = "customer"
                cid = customer_get(customer, MISS)
                if cid is MISS:
                    cid = self._memoised("customer", customer, cells, rid, pid)
                column = "stage"
                st = stage_get(stage, MISS)
                if st is MISS:
                    st = self._memoised("stage", stage)
                column = "key"
                key(ext, number, seen)
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
            fen, profit_fen, unit = to_fen(a), profit_to_fen(p), unit_at(pid, iso)
            row = (kind, iso, fen, q, profit_fen, st, source, ext, cid, pid, prid, rid, unit, batch_id)
            chunk.append(row)
            exact.append((a, p))
            if credited:
                self.credits[ext] = credited
            if previews:
                previews -= 1
                preview.append(self._preview(number, row, cells))
            if len(chunk) >= CHUNK:
                self._flush(writer, chunk, exact, (amounts, profits), chunk_start)
                chunk, exact = [], []
                chunk_start = (amounts.residue, profits.residue)
        result.rows_read = read
        if clean and chunk:
            self._flush(writer, chunk, exact, (amounts, profits), chunk_start)
        if not read and clean:
            raise Problem(gettext_noop("The file has a header but no data rows."))

    def _memoised(self, column: str, raw, *context):
        """The rule of a record column, run once per cell value."""
        cache = self._cache[column]
        got = cache.get(raw, MISS)
        if got is MISS:
            got = cache[raw] = self._record_rules[column](raw, *context)
        return got

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
        """The rule of ``column`` on its own, given what the row's earlier columns gave.

        A rule that needs an earlier column which failed gets a stand-in (today for the hire
        date of a person created by --create-missing, no region or owner for a new customer,
        no team check without a date, no key check without a key): the row is rejected
        already, and so is everything the batch would have created.
        """
        raw = values[column]
        if column == "date":
            return self.dates(raw)
        if column == "external_id":
            return self._external_id(raw, cells, seen)
        if column in ("amount", "profit"):
            return self._money(raw, column)
        if column == "quantity":
            return self._quantity(raw)
        if column == "key":
            ext = state.get("external_id")
            return self._key(ext, number, seen) if ext else None
        if column == "person":
            iso = state.get("date")
            got = self._memoised("person", raw, iso or timezone.localdate().isoformat())
            if self.access.units is not None and iso:
                self._in_team(got, iso, raw)
            return got
        if column == "customer":
            owner = state.get("person")
            return self._memoised("customer", raw, cells, state.get("region"), owner and owner[0])
        if column == "product":
            return self._memoised("product", raw, cells)
        return self._memoised(column, raw)

    def _flush(self, writer: ChunkWriter, chunk: list[tuple], exact: list, rounders: tuple, start) -> None:
        """Write a chunk, skipping rows already imported. When some were skipped the chunk's
        rounding is redone over the rows that remain, from the remainders carried into the
        chunk (``start``), so the batch total stays exact."""
        if self.new.pending:
            chunk = self._materialise(chunk)
        existing = writer.existing(self.source, [row[7] for row in chunk]) if writer.source_known else set()
        if existing:
            self.result.rows_skipped += len(existing)
            amounts, profits = rounders
            amounts.residue, profits.residue = start
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
            facts = Fact.objects.filter(source=self.source, external_id__in=list(self.credits))
            values = {
                ext: (pk, amount, quantity, profit)
                for ext, pk, amount, quantity, profit in facts.values_list(
                    "external_id", "pk", "amount", "quantity", "profit"
                )
            }
            credits = []
            for ext, shares in self.credits.items():
                pk, *fact_values = values[ext]
                parts = split_parts(*fact_values, [bp for _pid, bp in shares])
                for (pid, bp), (amount, quantity, profit, rows) in zip(shares, parts, strict=True):
                    credits.append(
                        FactCredit(
                            fact_id=pk,
                            person_id=pid,
                            share_bp=bp,
                            amount=amount,
                            quantity=quantity,
                            profit=profit,
                            rows=rows,
                        )
                    )
            FactCredit.objects.bulk_create(credits, batch_size=2000)
        if self.first_deals:
            note_first_deals(self.first_deals)
        rollups.add_batch(batch_id)
        if self.result.rows_written >= ANALYZE_AFTER:
            rollups.refresh_statistics()


NO_TEAM = gettext_noop(
    "%(rows)s rows are dated before their salesperson joined a team (%(people)s people; the "
    "earliest row is dated %(earliest)s): they count for no team. Enter an effective-from date "
    "in the people import and import the people again."
)
NO_TERRITORY = gettext_noop(
    "%(rows)s rows fall on days when nobody was assigned to their region (%(regions)s regions; "
    "the earliest row is dated %(earliest)s): sales are credited by territory, so they count "
    "for nobody. Enter an effective-from date in the territory import and import the "
    "territories again."
)


def coverage_warnings(batch_id: int, kind: str) -> list[dict]:
    """What a batch wrote but will count nowhere: rows dated before their person's first
    membership (the fact has no team), and, when the sales metric credits by territory and
    counts this kind, rows in regions nobody covered on their date. Stored untranslated
    (msgid + params), like the errors. Counted in SQL over the batch's (person, day) and
    (region, day) groups, so a batch of a million rows costs two grouped scans."""
    fact = Fact._meta.db_table
    warnings = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUM(d.n), COUNT(DISTINCT d.person_id), MIN(d.date) FROM ("
            f"SELECT person_id, date, COUNT(*) AS n FROM {fact} WHERE batch_id = %s "
            f"AND person_id IS NOT NULL GROUP BY person_id, date) d "
            f"WHERE NOT EXISTS (SELECT 1 FROM {Membership._meta.db_table} m "
            f"WHERE m.person_id = d.person_id AND m.valid_from <= d.date)",
            [batch_id],
        )
        rows, people, earliest = cursor.fetchone()
        if rows:
            warnings.append(
                _warning(NO_TEAM, rows=format(int(rows), ","), people=format(people, ","), earliest=earliest)
            )
        sales = Metric.objects.filter(code="sales").values("credit_rule", "fact_kind").first()
        if not sales or sales["credit_rule"] != Metric.Credit.TERRITORY or sales["fact_kind"] != kind:
            return warnings
        region = Region._meta.db_table
        cursor.execute(
            f"SELECT SUM(d.n), COUNT(DISTINCT d.region_id), MIN(d.date) FROM ("
            f"SELECT region_id, date, COUNT(*) AS n FROM {fact} WHERE batch_id = %s "
            f"AND region_id IS NOT NULL GROUP BY region_id, date) d "
            f"JOIN {region} rr ON rr.id = d.region_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM {TerritoryAssignment._meta.db_table} t "
            f"JOIN {region} g ON g.id = t.region_id WHERE t.valid_from <= d.date "
            f"AND (t.valid_to IS NULL OR t.valid_to >= d.date) AND rr.path LIKE g.path || '%%')",
            [batch_id],
        )
        rows, regions, earliest = cursor.fetchone()
        if rows:
            warnings.append(
                _warning(
                    NO_TERRITORY, rows=format(int(rows), ","), regions=format(regions, ","), earliest=earliest
                )
            )
    return warnings


def _warning(message: str, **params) -> dict:
    return {"message": message, "params": {k: str(v) for k, v in params.items()}}


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
    """Bulk writes and key checks on the import's own connection and transaction; the demo
    generator writes its facts through it too, so there is one way facts reach the table.

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

    def insert(self, rows: Iterable[tuple]) -> None:
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
