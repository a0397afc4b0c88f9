"""Master-data import: org units, people (with memberships), territories, products, regions
and customers from CSV/XLSX, upserted by code.

Master files are small (thousands of rows), so they are read whole, validated completely —
codes, parents, cycles, dates — and only then applied through the models (tree paths and
history are kept by the models' own save), memberships and territories through the org services
(org/services.py), which also re-book the facts of a back-dated move. Nothing is ever deleted:
a row marked inactive (or a person marked as left) is deactivated, so facts keep pointing at
what they pointed at.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_noop

from salestarget.actuals.importers import AMBIGUOUS, Lookup, PersonLookup, category_levels, category_node
from salestarget.actuals.journal import SECRET, masked
from salestarget.actuals.models import Fact
from salestarget.actuals.parsing import (
    DateParser,
    Problem,
    bounded,
    cell_text,
    check_mapped_headers,
    duplicate_key,
    header_key,
    looks_like_formula,
    parse_bool,
    parse_choice,
    parse_decimal,
)
from salestarget.catalog.models import Customer, Product, Region, Segment
from salestarget.engine.rounding import round_half_up
from salestarget.org.models import Membership, OrgUnit, Person
from salestarget.org.services import do_assign_territory, do_end_placement, do_move_person

MASTER_FIELDS = {
    "units": ("code", "name", "parent", "kind", "active"),
    "people": (
        "code",
        "name",
        "unit",
        "role",
        "tier",
        "hire_date",
        "leave_date",
        "status",
        "email",
        "employee_no",
        "national_id",
        "valid_from",
    ),
    "territories": ("person", "region", "valid_from", "valid_to"),
    "products": ("code", "name", "parent", "category", "unit_price", "active"),
    "regions": ("code", "name", "parent", "active"),
    "customers": ("code", "name", "segment", "region", "owner", "first_deal_date", "active"),
}
MASTER_ALIASES = {
    "units": "units",
    "unit": "units",
    "org": "units",
    "orgunits": "units",
    "people": "people",
    "person": "people",
    "reps": "people",
    "staff": "people",
    "territories": "territories",
    "territory": "territories",
    "products": "products",
    "product": "products",
    "regions": "regions",
    "region": "regions",
    "customers": "customers",
    "customer": "customers",
}
REQUIRED = {
    "units": ("code",),
    "people": ("code",),
    "territories": ("person", "region"),
    "products": ("code",),
    "regions": ("code",),
    "customers": ("code",),
}
MASTER_SYNONYMS = {
    "code": [
        "code",
        "编码",
        "代码",
        "编号",
        "工号",
        "员工编号",
        "人员编码",
        "客户编码",
        "客户编号",
        "产品编码",
        "产品编号",
        "物料编码",
        "区域编码",
        "部门编码",
        "组织编码",
        "团队编码",
        "id",
        "customerid",
        "productid",
        "employeeid",
        "sku",
    ],
    "name": [
        "name",
        "名称",
        "姓名",
        "客户名称",
        "产品名称",
        "区域名称",
        "部门名称",
        "组织名称",
        "团队名称",
        "customername",
        "productname",
        "fullname",
    ],
    "parent": [
        "parent",
        "parentcode",
        "上级",
        "上级编码",
        "上级部门",
        "上级区域",
        "上级产品",
        "父级",
        "所属上级",
    ],
    "kind": ["kind", "type", "类型", "层级", "组织类型"],
    "active": ["active", "enabled", "启用", "是否启用", "是否有效", "有效"],
    "unit": [
        "unit",
        "team",
        "department",
        "部门",
        "团队",
        "所属部门",
        "所属团队",
        "组织",
        "小组",
        "销售团队",
    ],
    "role": ["role", "position", "角色", "职务", "岗位"],
    "tier": ["tier", "level", "grade", "级别", "等级", "职级"],
    "hire_date": ["hiredate", "入职日期", "入职时间"],
    "leave_date": ["leavedate", "离职日期", "离职时间"],
    "status": ["status", "状态", "在职状态"],
    "email": ["email", "mail", "邮箱", "电子邮件"],
    # 工号 is the code of a file that has no other code column (code is guessed first).
    "employee_no": ["employeeno", "employeenumber", "staffno", "工号", "员工编号", "员工号", "职工号"],
    "national_id": ["nationalid", "idnumber", "idcard", "身份证号", "身份证号码", "身份证"],
    "valid_from": ["validfrom", "startdate", "from", "生效日期", "开始日期", "起始日期"],
    "valid_to": ["validto", "enddate", "to", "失效日期", "结束日期", "截止日期"],
    "person": [
        "person",
        "salesperson",
        "rep",
        "regionalmanager",
        "manager",
        "owner",
        "销售员",
        "业务员",
        "人员",
        "员工",
        "负责人",
        "经理",
        "工号",
    ],
    "region": ["region", "territory", "区域", "地区", "大区", "销售区域"],
    "category": ["category", "productline", "类别", "品类", "产品线", "产品类别", "分类"],
    "unit_price": ["unitprice", "listprice", "price", "单价", "价格", "标准价", "牌价"],
    "segment": ["segment", "客户类型", "客户分类", "细分"],
    "owner": ["owner", "accountowner", "客户经理", "负责人", "销售员", "业务员"],
    "first_deal_date": ["firstdealdate", "firstorderdate", "首次成交日期", "首单日期"],
}
UNIT_KINDS = {
    **dict.fromkeys(["company", "公司", "集团", "总部"], OrgUnit.Kind.COMPANY),
    **dict.fromkeys(["region", "大区", "区域", "销售区域"], OrgUnit.Kind.REGION),
    **dict.fromkeys(["department", "dept", "部门", "事业部"], OrgUnit.Kind.DEPARTMENT),
    **dict.fromkeys(["team", "团队", "组", "小组", "销售组"], OrgUnit.Kind.TEAM),
}
ROLES = {
    **dict.fromkeys(["member", "rep", "sales", "成员", "组员", "销售", "销售员", "业务员", "员工"], "member"),
    **dict.fromkeys(
        ["manager", "lead", "teamlead", "director", "经理", "主管", "组长", "负责人", "总监", "总经理"],
        "manager",
    ),
}
STATUSES = {
    **dict.fromkeys(["active", "在职", "正常", "在岗"], Person.Status.ACTIVE),
    **dict.fromkeys(["onleave", "leave", "休假", "停职"], Person.Status.ON_LEAVE),
    **dict.fromkeys(["left", "离职", "已离职"], Person.Status.LEFT),
}
# Other spellings of the segments migration catalog 0003 seeds, by code; a segment's own code or
# name is always accepted, and the company's segments are its own list (catalog.Segment).
SEGMENT_ALIASES = {
    **dict.fromkeys(["keyaccount", "大客户", "重点客户", "ka"], "key"),
    **dict.fromkeys(["中小企业", "中小客户", "企业", "corporate", "smallandmediumbusiness"], "smb"),
    **dict.fromkeys(["个人", "消费者", "个人消费者", "零售", "homeoffice"], "consumer"),
    **dict.fromkeys(["政府", "公共", "事业单位", "publicsector", "政企单位", "政府公共事业"], "public"),
}
TIERS = {t: t for t in "ABCD"} | {t.lower(): t for t in "ABCD"}
UNKNOWN = {
    "person": gettext_noop(
        "“%(value)s” is not a known person (code or name). Add them first or create missing records."
    ),
    "region": gettext_noop(
        "“%(value)s” is not a known region (code or name). Add it first or create missing records."
    ),
}


PERSON_KEYS = ("employee_no", "national_id")
KEY_TAKEN = {
    "employee_no": gettext_noop(
        "The employee number %(value)s is also that of %(other)s: an employee number names one person."
    ),
    "national_id": gettext_noop(
        "This national id is also that of %(other)s: a national id names one person."
    ),
}


def master_kind(kind: str) -> str | None:
    return MASTER_ALIASES.get(kind.strip().lower())


@dataclass
class Row:
    number: int
    values: dict


class MasterImport:
    """Validate every row of a master file, then apply it; counts go to ``result``."""

    def __init__(
        self,
        kind: str,
        *,
        columns,
        headers,
        dates: DateParser,
        create_missing: bool,
        result,
        effective_from: dt.date | None = None,
    ):
        self.kind = kind
        self.columns = columns
        self.headers = headers
        self.dates = dates
        self.create_missing = create_missing
        self.result = result
        self.today = timezone.localdate()
        # The file's own date for rows without one (else today for a change, the hire date for
        # someone's first placement).
        self.effective_from = effective_from

    def _column(self, name: str) -> str:
        return "+".join(self.headers[i] for i in self.columns.get(name, [])) or name

    def read(self, rows) -> list[Row]:
        out = []
        for number, cells in rows:
            if not any(c not in (None, "") for c in cells):
                continue
            self.result.rows_read += 1
            values = {}
            for name, idx in self.columns.items():
                parts = [cells[i] if i < len(cells) else "" for i in idx]
                values[name] = (
                    parts[0] if len(parts) == 1 else " ".join(cell_text(p) for p in parts if cell_text(p))
                )
            out.append(Row(number, values))
        if not out:
            raise Problem(gettext_noop("The file has a header but no data rows."))
        return out

    def fail(self, row: Row, name: str, problem: Problem) -> None:
        value = row.values.get(name, "")
        if name in SECRET:
            value = masked(value)
        self.result.add_error(row.number, self._column(name), value, problem)

    # cell helpers

    def text(self, row: Row, name: str, limit: int, required: bool = False) -> str:
        value = cell_text(row.values.get(name))
        if looks_like_formula(value):
            raise _Cell(
                name,
                Problem(
                    gettext_noop("“%(value)s” looks like a spreadsheet formula; formulas are refused."),
                    value=value,
                ),
            )
        if required and not value:
            raise _Cell(name, Problem(gettext_noop("A value is required.")))
        if len(value) > limit:
            raise _Cell(
                name,
                Problem(
                    gettext_noop("“%(value)s” is longer than %(limit)s characters."),
                    value=value[:40] + "…",
                    limit=limit,
                ),
            )
        return value

    def date(self, row: Row, name: str) -> dt.date | None:
        value = row.values.get(name)
        if value is None or cell_text(value) == "":
            return None
        try:
            return dt.date.fromisoformat(self.dates(value))
        except Problem as problem:
            raise _Cell(name, problem) from None

    def parsed(self, row: Row, name: str, parse, *args):
        value = row.values.get(name)
        if value is None or cell_text(value) == "":
            return None
        try:
            return parse(value, *args)
        except Problem as problem:
            raise _Cell(name, problem) from None

    # the import

    def run(self, rows) -> None:
        check_mapped_headers(self.headers, self.columns)
        rows = self.read(rows)
        for name in REQUIRED[self.kind]:
            if name not in self.columns:
                raise Problem(
                    gettext_noop("No column is mapped to the required field %(field)s."), field=name
                )
        plan = getattr(self, f"_plan_{self.kind}")(rows)
        if self.result.error_count:
            return
        for apply in plan:
            apply()

    def _validated(self, rows: list[Row], convert) -> list[tuple[Row, dict]]:
        """Convert every row; a key seen twice is an error even when its first row failed."""
        out, seen = [], {}
        names = ("code",) if "code" in MASTER_FIELDS[self.kind] else ("person", "region", "valid_from")
        for row in rows:
            key = tuple(cell_text(row.values.get(n)) for n in names)
            if key in seen:
                self.fail(
                    row, names[0], duplicate_key(" / ".join(k for k in key if k), seen[key], row.number)
                )
                continue
            seen[key] = row.number
            try:
                out.append((row, convert(row)))
            except _Cell as cell:
                self.fail(row, cell.name, cell.problem)
        return out

    def _count(self, created: bool, changed: bool) -> None:
        if created:
            self.result.created[self.kind] = self.result.created.get(self.kind, 0) + 1
            self.result.rows_written += 1
        elif changed:
            self.result.rows_updated += 1
            self.result.rows_written += 1
        else:
            self.result.rows_skipped += 1

    # trees: units, regions, products

    def _tree_plan(self, model, rows: list[tuple[Row, dict]], fields: tuple[str, ...]):
        existing = {n.code: n for n in model.objects.all()}
        by_id = {n.pk: n for n in existing.values()}
        in_file = {values["code"]: (row, values) for row, values in rows}
        missing_parents = set()
        parent_of: dict[str, str | None] = {
            code: (by_id[n.parent_id].code if n.parent_id else None) for code, n in existing.items()
        }
        for row, values in rows:
            parent = values.get("parent")
            if parent is None:
                if values.get("_has_parent"):
                    parent_of[values["code"]] = None
                elif values["code"] not in existing:
                    parent_of[values["code"]] = None
                continue
            if parent not in existing and parent not in in_file:
                if not self.create_missing:
                    self.fail(
                        row,
                        "parent",
                        Problem(
                            gettext_noop(
                                "The parent %(value)s is neither in the file nor known. Add it or create missing records."
                            ),
                            value=parent,
                        ),
                    )
                    continue
                missing_parents.add(parent)
                parent_of[parent] = None
            parent_of[values["code"]] = parent
        for row, values in rows:
            code, seen = values["code"], set()
            while code is not None and code not in seen:
                seen.add(code)
                code = parent_of.get(code)
            if code is not None:
                self.fail(
                    row,
                    "parent",
                    Problem(
                        gettext_noop("%(value)s would end up below itself: the parents form a cycle."),
                        value=values["code"],
                    ),
                )

        def apply():
            for code in sorted(missing_parents):
                node = model(code=code, name=code[:100])
                node.save()
                existing[code] = node
                self.result.created[self.kind] = self.result.created.get(self.kind, 0) + 1

            def depth(code):
                d = 0
                while (code := parent_of.get(code)) is not None and d < 10_000:
                    d += 1
                return d

            for _row, values in sorted(rows, key=lambda rv: depth(rv[1]["code"])):
                code = values["code"]
                node, created, changed = _merged(existing, model, values, fields)
                if "_category" in values and values["_category"] and "parent" not in values:
                    parent = category_node(values["_category"])
                    if node.parent_id != parent.pk:
                        node.parent = parent
                        changed = True
                elif values.get("_has_parent"):
                    parent_code = values.get("parent")
                    parent = existing[parent_code] if parent_code else None
                    if node.parent_id != (parent.pk if parent else None):
                        node.parent = parent
                        changed = True
                if created or changed:
                    node.full_clean(exclude=["path", "depth"], validate_unique=False)
                    node.save()
                existing[code] = node
                self._count(created, changed)

        return [apply]

    def _tree_values(self, row: Row, code_limit: int = 64) -> dict:
        values = {"code": self.text(row, "code", code_limit, required=True)}
        if "name" in self.columns:
            name = self.text(row, "name", 200)
            if name:
                values["name"] = name
        if "parent" in self.columns:
            values["_has_parent"] = True
            values["parent"] = self.text(row, "parent", 64) or None
        if "active" in self.columns:
            values["active"] = self.parsed(row, "active", parse_bool)
        return values

    def _plan_units(self, rows):
        def convert(row):
            values = self._tree_values(row, code_limit=32)
            if "kind" in self.columns:
                values["kind"] = self.parsed(
                    row,
                    "kind",
                    parse_choice,
                    UNIT_KINDS,
                    "company, region, department, team / 公司, 大区, 部门, 团队",
                )
            return values

        return self._tree_plan(OrgUnit, self._validated(rows, convert), ("name", "kind", "active"))

    def _plan_regions(self, rows):
        return self._tree_plan(Region, self._validated(rows, self._tree_values), ("name", "active"))

    def _plan_products(self, rows):
        def convert(row):
            values = self._tree_values(row)
            if "category" in self.columns:
                try:
                    values["_category"] = category_levels(row.values.get("category"))
                except Problem as problem:
                    raise _Cell("category", problem) from None
            if "unit_price" in self.columns:
                price = self.parsed(row, "unit_price", parse_decimal)
                if price is not None:
                    try:
                        bounded(price, row.values["unit_price"], scale=2)
                    except Problem as problem:
                        raise _Cell("unit_price", problem) from None
                values["unit_price"] = None if price is None else round_half_up(price * 100)
            return values

        return self._tree_plan(Product, self._validated(rows, convert), ("name", "unit_price", "active"))

    # people

    def _plan_people(self, rows):
        units = Lookup.of(OrgUnit.objects.all())
        existing = {p.code: p for p in Person.objects.all()}
        new_units: dict[str, None] = {}

        def convert(row):
            values = {"code": self.text(row, "code", 32, required=True)}
            if "name" in self.columns:
                values["name"] = self.text(row, "name", 100) or None
            if "tier" in self.columns:
                values["tier"] = self.parsed(row, "tier", parse_choice, TIERS, "A, B, C, D")
            if "status" in self.columns:
                values["status"] = self.parsed(
                    row, "status", parse_choice, STATUSES, "active, on leave, left / 在职, 休假, 离职"
                )
            if "email" in self.columns:
                values["email"] = self.text(row, "email", 254) or None
            for name in PERSON_KEYS:
                if name in self.columns:
                    values[name] = self.text(row, name, 32) or None
            for name in ("hire_date", "leave_date", "valid_from"):
                if name in self.columns:
                    values[name] = self.date(row, name)
            if "role" in self.columns:
                values["role"] = self.parsed(row, "role", parse_choice, ROLES, "member, manager / 成员, 经理")
            if "unit" in self.columns:
                unit = self.text(row, "unit", 100)
                if unit:
                    uid = units.find(unit)
                    if uid is None and not self.create_missing:
                        raise _Cell(
                            "unit",
                            Problem(
                                gettext_noop(
                                    "“%(value)s” is not a known org unit. Add it first or create missing records."
                                ),
                                value=unit,
                            ),
                        )
                    if uid == -1:
                        raise _Cell(
                            "unit",
                            Problem(
                                gettext_noop("Several org units are called “%(value)s”: use their codes."),
                                value=unit,
                            ),
                        )
                    if uid is None:
                        new_units[unit] = None
                    values["unit"] = unit
            if values["code"] not in existing and not values.get("hire_date"):
                values["hire_date"] = values.get("valid_from") or self.effective_from or self.today
            return values

        checked = self._validated(rows, convert)
        self._check_person_keys(checked, existing)

        def apply():
            for code in new_units:
                unit = OrgUnit(code=code[:32], name=code[:100])
                unit.save()
                units.add(unit.pk, unit.code, unit.name)
                self.result.created["units"] = self.result.created.get("units", 0) + 1
            unit_of = OrgUnit.objects.in_bulk()
            for row, values in checked:
                person, created, changed = _merged(
                    existing,
                    Person,
                    values,
                    ("name", "tier", "status", "email", "hire_date", "leave_date", *PERSON_KEYS),
                )
                if person.status == Person.Status.LEFT and not person.leave_date:
                    person.leave_date = self.today
                unit = unit_of[units.find(values["unit"])] if values.get("unit") else None
                role = values.get("role") or Membership.Role.MEMBER
                start = self._start(person, created, values, unit, role) if unit else None
                if start is not None and start < person.hire_date and not values.get("hire_date"):
                    # Placed before the hire date on record: one an import without dates set.
                    person.hire_date = start
                    changed = True
                if created or changed:
                    person.save()
                # The org services keep the history and re-book the facts of the days concerned.
                try:
                    if unit is not None:
                        _row, moved = do_move_person(None, person, unit, role=role, valid_from=start)
                        changed |= moved
                    if person.leave_date:
                        changed |= do_end_placement(None, person, last_day=person.leave_date)
                except ValidationError as error:
                    self.fail(row, "unit", _refused(error))
                self._count(created, changed)

        return [apply]

    def _start(self, person: Person, created: bool, values: dict, unit: OrgUnit, role: str) -> dt.date:
        """The day a people row's placement starts when the row gives no valid_from: a new
        person's hire date; for someone not placed yet, the row's hire date or the file's
        effective date; for someone never moved, an earlier such date extends their first
        placement back (people first imported without dates); else (a move) the file's
        effective date, or today."""
        if values.get("valid_from"):
            return values["valid_from"]
        if created:
            return person.hire_date
        own = values.get("hire_date") or self.effective_from
        first = Membership.objects.filter(person=person, role=role).order_by("valid_from").first()
        if first is None:
            return own or person.hire_date
        never_moved = first.unit_id == unit.pk and (first.valid_to is None or first.valid_to >= self.today)
        if own and own < first.valid_from and never_moved:
            return own
        return self.effective_from or self.today

    def _check_person_keys(self, checked: list[tuple[Row, dict]], existing: dict) -> None:
        """An employee number or a national id names one person: refused when the file gives
        one that another person holds (as recorded, or as this file leaves them)."""
        for name, message in KEY_TAKEN.items():
            final = {code: getattr(person, name) for code, person in existing.items()}
            for _row, values in checked:
                if values.get(name):
                    final[values["code"]] = values[name]
            holders: dict[str, list[str]] = {}
            for code, value in final.items():
                if value:
                    holders.setdefault(value.casefold(), []).append(code)
            for row, values in checked:
                value = values.get(name)
                others = (
                    [c for c in holders.get(value.casefold(), []) if c != values["code"]] if value else []
                )
                if others:
                    other = existing.get(others[0])
                    shown = masked(value) if name in SECRET else value
                    self.fail(row, name, Problem(message, value=shown, other=str(other or others[0])))

    # territories

    def _plan_territories(self, rows):
        people = PersonLookup.of(Person.objects.all())
        regions = Lookup.of(Region.objects.all())
        new_people: dict[str, dt.date | None] = {}
        new_regions: dict[str, None] = {}

        def resolve(row, name, lookup, pending):
            text = self.text(row, name, 64, required=True)
            pk = lookup.find(text)
            if pk == AMBIGUOUS:
                raise _Cell(name, _ambiguous(lookup, text))
            if pk is None:
                if not self.create_missing:
                    raise _Cell(name, Problem(UNKNOWN[name], value=text))
                pending.setdefault(text, None)
            return text

        def convert(row):
            values = {
                "person": resolve(row, "person", people, new_people),
                "region": resolve(row, "region", regions, new_regions),
                "valid_from": self.date(row, "valid_from") if "valid_from" in self.columns else None,
                "valid_to": self.date(row, "valid_to") if "valid_to" in self.columns else None,
            }
            if values["valid_from"] and values["valid_to"] and values["valid_to"] < values["valid_from"]:
                raise _Cell("valid_to", Problem(gettext_noop("The end date is before the start date.")))
            return values

        checked = self._validated(rows, convert)

        def apply():
            first_fact = Fact.objects.aggregate(first=Min("date"))["first"]
            for text in new_people:
                starts = [v["valid_from"] for _, v in checked if v["person"] == text and v["valid_from"]]
                # Someone named only in a territory sheet has been there over the history loaded.
                hired = min(starts) if starts else (self.effective_from or first_fact or self.today)
                person = Person.objects.create(code=text[:32], name=text[:100], hire_date=hired)
                people.add(person.pk, person.code, person.name)
                self.result.created["people"] = self.result.created.get("people", 0) + 1
            for text in new_regions:
                region = Region(code=text[:64], name=text[:100])
                region.save()
                regions.add(region.pk, region.code, region.name)
                self.result.created["regions"] = self.result.created.get("regions", 0) + 1
            region_of = Region.objects.in_bulk()
            for row, values in checked:
                person = Person.objects.get(pk=people.find(values["person"]))
                region = region_of[regions.find(values["region"])]
                start = values["valid_from"] or self.effective_from or person.hire_date
                try:
                    _assignment, created, changed = do_assign_territory(
                        None,
                        person,
                        region,
                        valid_from=start,
                        valid_to=values["valid_to"],
                        extend_later=values["valid_from"] is None,
                    )
                except ValidationError as error:
                    self.fail(row, "region", _refused(error))
                    continue
                self._count(created, changed)

        return [apply]

    # customers

    def _plan_customers(self, rows):
        regions = Lookup.of(Region.objects.all())
        people = PersonLookup.of(Person.objects.all())
        segments = Lookup.of(Segment.objects.all())
        known_segments = ", ".join(
            f"{code} ({name})" for code, name in Segment.objects.values_list("code", "name")
        )
        new_segments: dict[str, None] = {}
        existing = {c.code: c for c in Customer.objects.all()}

        def segment(row):
            """The segment's code or name (or a spelling of a seeded one); an unknown one is
            made with create-missing, else the row's error lists the company's segments."""
            text = self.text(row, "segment", 64)
            if not text:
                return None
            pk = segments.find(text)
            if pk is None and header_key(text) in SEGMENT_ALIASES:
                pk = segments.find(SEGMENT_ALIASES[header_key(text)])
            if pk == AMBIGUOUS:
                raise _Cell("segment", _ambiguous(segments, text))
            if pk is None:
                if not self.create_missing:
                    raise _Cell(
                        "segment",
                        Problem(
                            gettext_noop(
                                "“%(value)s” is not a known customer segment; the segments are: %(known)s. "
                                "Add it first or create missing records."
                            ),
                            value=text,
                            known=known_segments or "—",
                        ),
                    )
                new_segments.setdefault(text, None)
            return text

        def ref(row, name, lookup, unknown):
            text = self.text(row, name, 64)
            if not text:
                return None
            pk = lookup.find(text)
            if pk == AMBIGUOUS:
                raise _Cell(name, _ambiguous(lookup, text))
            if pk is None:
                raise _Cell(name, Problem(UNKNOWN[unknown], value=text))
            return pk

        def convert(row):
            values = {"code": self.text(row, "code", 64, required=True)}
            if "name" in self.columns:
                values["name"] = self.text(row, "name", 200) or None
            if "segment" in self.columns:
                values["_segment"] = segment(row)
            if "region" in self.columns:
                values["region_id"] = ref(row, "region", regions, "region")
            if "owner" in self.columns:
                values["owner_id"] = ref(row, "owner", people, "person")
            if "first_deal_date" in self.columns:
                values["first_deal_date"] = self.date(row, "first_deal_date")
            if "active" in self.columns:
                values["active"] = self.parsed(row, "active", parse_bool)
            return values

        checked = self._validated(rows, convert)

        def apply():
            last = Segment.objects.order_by("-sort_order").values_list("sort_order", flat=True).first() or 0
            for text in new_segments:
                if segments.find(text) is not None:  # the same name in another case
                    continue
                last += 10
                made = Segment(code=text, name=text[:100], sort_order=last)
                made.save()
                segments.add(made.pk, made.code, made.name)
                self.result.created["segments"] = self.result.created.get("segments", 0) + 1
            for _row, values in checked:
                if values.get("_segment"):
                    pk = segments.find(values["_segment"])
                    if pk is None:
                        pk = segments.find(SEGMENT_ALIASES[header_key(values["_segment"])])
                    values["segment_id"] = pk
                customer, created, changed = _merged(
                    existing,
                    Customer,
                    values,
                    ("name", "segment_id", "region_id", "owner_id", "first_deal_date", "active"),
                )
                if created or changed:
                    customer.save()
                self._count(created, changed)

        return [apply]


def _ambiguous(lookup: Lookup, text: str) -> Problem:
    """A value naming several records: for people, the two it names."""
    if isinstance(lookup, PersonLookup):
        return lookup.ambiguity(text)
    return Problem(gettext_noop("Several records are called “%(value)s”: use their codes."), value=text)


def _merged(existing: dict, model, values: dict, fields) -> tuple:
    """The record with this row's code (a new, unsaved one when there is none) with the row's
    given fields applied: a blank cell keeps what is stored. Returns (record, created, changed)."""
    code = values["code"]
    record = existing.get(code)
    created = record is None
    if created:
        record = model(code=code, name=values.get("name") or code)
    changed = False
    for name in fields:
        if values.get(name) is not None and getattr(record, name) != values[name]:
            setattr(record, name, values[name])
            changed = True
    return record, created, changed


class _Cell(Exception):
    def __init__(self, name: str, problem: Problem):
        super().__init__(name)
        self.name = name
        self.problem = problem


def _refused(error: ValidationError) -> Problem:
    """The org services refuse what would contradict the memberships or territories already
    recorded (an overlap, say); the file is then rejected like any other invalid row."""
    return Problem(
        gettext_noop("This row contradicts what is recorded: %(reason)s"), reason=" ".join(error.messages)
    )
