"""The columns each kind of import file takes, described once for ``salestarget import --help``,
the guides and the downloadable templates.

A template is an xlsx workbook: the first sheet holds the header row (headers the column guess
recognises, in the user's language) and one example row; the second, “说明”/“Notes”, says of
every column whether it is required, what it holds and which values it accepts. The example rows
of all kinds fit together: imported in the order of ``KINDS`` they load cleanly into an empty
database (tests/actuals/test_templates.py does exactly that).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from django.utils.translation import get_language, gettext, gettext_noop

from salestarget.actuals.forms import MASTER_FIELD_LABELS, MASTER_LABELS
from salestarget.actuals.importers import FACT_FIELDS, FIELD_LABELS
from salestarget.actuals.importers import REQUIRED as FACT_REQUIRED
from salestarget.actuals.masters import MASTER_FIELDS, MASTER_SYNONYMS
from salestarget.actuals.masters import REQUIRED as MASTER_REQUIRED
from salestarget.actuals.parsing import SYNONYMS, header_key
from salestarget.metrics.models import FactKind

# Master data first, in the order in which the records refer to each other, then the facts.
MASTER_ORDER = ("units", "people", "regions", "territories", "products", "customers")
KINDS = (*MASTER_ORDER, *(k for k in MASTER_FIELDS if k not in MASTER_ORDER), *FactKind.values)

# The columns of each kind of fact file: any fact file may carry all of FACT_FIELDS; these are
# the ones that mean something for the kind.
FACT_KIND_FIELDS = {
    FactKind.ORDER: tuple(f for f in FACT_FIELDS if f != "stage"),
    FactKind.COLLECTION: ("external_id", "date", "amount", "person", "customer", "customer_name", "region"),
    FactKind.VISIT: ("external_id", "date", "person", "customer", "customer_name", "region"),
    FactKind.OPPORTUNITY: (
        "external_id",
        "date",
        "amount",
        "stage",
        "person",
        "product",
        "customer",
        "customer_name",
        "region",
    ),
}
# Columns described in the notes but left off the template's header row: a product file gives
# either parents or category paths, and a blank parent column would override the paths.
NOT_IN_TEMPLATE = {"products": ("parent",)}

# Headers in Chinese, where the first Chinese synonym of the field is not the natural one.
ZH_HEADERS = {
    ("units", "code"): "部门编码",
    ("units", "name"): "部门名称",
    ("people", "code"): "工号",
    ("people", "name"): "姓名",
    # “工号” is the people's code above; the employee number needs a header of its own.
    ("people", "employee_no"): "员工号",
    ("people", "national_id"): "身份证号",
    ("regions", "code"): "区域编码",
    ("regions", "name"): "区域名称",
    ("products", "code"): "产品编码",
    ("products", "name"): "产品名称",
    ("customers", "code"): "客户编码",
    ("customers", "name"): "客户名称",
    ("order", "external_id"): "订单号",
    ("order", "date"): "订单日期",
    ("order", "amount"): "销售金额",
    ("collection", "external_id"): "回款单号",
    ("collection", "date"): "回款日期",
    ("collection", "amount"): "回款金额",
    ("visit", "external_id"): "拜访编号",
    ("visit", "date"): "拜访日期",
    ("opportunity", "external_id"): "商机编号",
    ("opportunity", "date"): "预计成交日期",
    ("opportunity", "amount"): "商机金额",
    "parent": "上级编码",
    "kind": "类型",
    "active": "是否启用",
    "unit": "所属部门",
    "role": "职务",
    "tier": "级别",
    "status": "在职状态",
    "email": "邮箱",
    "person": "销售员",
    "region": "区域",
    "category": "产品线",
    "unit_price": "单价",
    "segment": "客户类型",
    "owner": "客户经理",
    "first_deal_date": "首次成交日期",
    "product": "产品编码",
    "product_category": "产品类别",
    "customer": "客户编码",
    "stage": "商机阶段",
}
EN_HEADERS = {
    "external_id": "External ID",
    "unit_price": "Unit price",
    "first_deal_date": "First deal date",
}

# field -> (what it holds, the values it accepts), in English; kind-specific entries first.
DATE = gettext_noop("A date: yyyy-mm-dd (other common formats and Excel dates are recognised too).")
YES_NO = gettext_noop("Yes or no: 是/否, 启用/停用, yes/no, 1/0. Blank keeps what is stored.")
NOTES = {
    "code": (
        gettext_noop(
            "The record's code, unique within its kind: a row whose code is stored updates that record."
        ),
        gettext_noop("Text, at most 64 characters (32 for org units and people)."),
    ),
    "name": (
        gettext_noop("The name shown in the app."),
        gettext_noop("Text; blank keeps the stored name (a new record is named by its code)."),
    ),
    "parent": (
        gettext_noop("The code of the record above this one; blank for a record at the top."),
        gettext_noop("A code in the file or already stored."),
    ),
    ("products", "parent"): (
        gettext_noop(
            "The code of the product group above this product. Use it or the category column, not "
            "both: it is left off the template, which uses category paths."
        ),
        gettext_noop("A code in the file or already stored."),
    ),
    "kind": (
        gettext_noop("What the org unit is."),
        gettext_noop("company, region, department, team (公司, 大区, 部门, 团队)."),
    ),
    "active": (gettext_noop("Whether the record is in use; records are deactivated, never deleted."), YES_NO),
    "unit": (
        gettext_noop("The org unit the person belongs to, from the valid-from date."),
        gettext_noop("An org unit's code or name."),
    ),
    "role": (
        gettext_noop("The person's role in the org unit."),
        gettext_noop("member or manager (销售, 经理, 主管, 组长 …)."),
    ),
    "tier": (gettext_noop("The sales tier of the person."), gettext_noop("A, B, C or D.")),
    "hire_date": (
        gettext_noop("The first working day; for a new person, the valid-from date when blank."),
        DATE,
    ),
    "leave_date": (gettext_noop("The last working day of someone who left."), DATE),
    "status": (
        gettext_noop("Whether the person works here now."),
        gettext_noop("active, on leave, left (在职, 休假, 离职)."),
    ),
    "email": (gettext_noop("The person's e-mail address."), gettext_noop("An e-mail address.")),
    "employee_no": (
        gettext_noop("The person's number in the HR system: files may name the person by it."),
        gettext_noop("Text, at most 32 characters; one person's only."),
    ),
    "national_id": (
        gettext_noop("The person's national id: files may name the person by it; shown masked."),
        gettext_noop("Text, at most 32 characters; one person's only."),
    ),
    "valid_from": (
        gettext_noop(
            "From when the row holds (a move to another unit, a territory); blank: the import's "
            "effective-from date, else a new person's hire date, else today."
        ),
        DATE,
    ),
    "valid_to": (gettext_noop("The last day the territory is the person's; blank: open-ended."), DATE),
    "person": (
        gettext_noop("The salesperson the row is about."),
        gettext_noop("A person's code or name."),
    ),
    "region": (gettext_noop("The sales region."), gettext_noop("A region's code or name.")),
    "category": (
        gettext_noop("Where the product sits in the product tree; missing groups are created."),
        gettext_noop("Levels separated by “>”, e.g. 硬件 > 网关."),
    ),
    "unit_price": (
        gettext_noop("The list price of one unit."),
        gettext_noop("A number, up to two decimals, e.g. 1299.00."),
    ),
    "segment": (
        gettext_noop(
            "The customer segment: the company's own list (Django admin, customer segments). An "
            "unknown one is created when missing records are created, and refused otherwise."
        ),
        gettext_noop("A segment's code or name."),
    ),
    "owner": (
        gettext_noop("The salesperson who looks after the customer."),
        gettext_noop("A person's code or name."),
    ),
    "first_deal_date": (gettext_noop("The day of the customer's first order."), DATE),
    "external_id": (
        gettext_noop(
            "The row's id in the source system: a row imported before from the same source is skipped."
        ),
        gettext_noop("Text, at most 128 characters; order number and line number may be two columns."),
    ),
    "date": (gettext_noop("The day the fact happened."), DATE),
    ("opportunity", "date"): (
        gettext_noop("The day the opportunity was won or lost, or is expected to close."),
        DATE,
    ),
    "amount": (
        gettext_noop("The amount of money."),
        gettext_noop(
            "A number in the unit chosen when importing (default: whole currency units), up to two "
            "decimals; currency signs, thousands separators and (negative) amounts are recognised."
        ),
    ),
    "quantity": (gettext_noop("How many units were sold."), gettext_noop("A whole number.")),
    "profit": (gettext_noop("The gross profit of the row."), gettext_noop("A number, like the amount.")),
    ("fact", "person"): (
        gettext_noop("The salesperson credited with the row; blank: the importer (for managers)."),
        gettext_noop("A person's code or name, or a split of the credit such as %(example)s."),
    ),
    "product": (gettext_noop("The product sold."), gettext_noop("A product's code or name.")),
    "product_name": (
        gettext_noop("The product's name, used when the product is created as a missing record."),
        gettext_noop("Text."),
    ),
    "product_category": (
        gettext_noop("The product's category, used when the product is created as a missing record."),
        gettext_noop("Levels separated by “>”, e.g. 硬件 > 网关."),
    ),
    "customer": (gettext_noop("The customer."), gettext_noop("A customer's code or name.")),
    "customer_name": (
        gettext_noop("The customer's name, used when the customer is created as a missing record."),
        gettext_noop("Text."),
    ),
    "stage": (
        gettext_noop("The stage of the opportunity."),
        gettext_noop("won or lost (赢单, 输单); other stages are kept as written."),
    ),
}
SPLIT_EXAMPLE = "E1001:60%; E1002:40%"

# One example row per kind; (Chinese, English) where the language matters. The rows refer to
# each other, so that the templates imported in the order of KINDS load cleanly.
EXAMPLES = {
    "units": {"code": "EAST", "name": ("华东大区", "East China"), "parent": "", "kind": ("大区", "region"),
              "active": ("是", "yes")},
    "people": {"code": "E1001", "name": ("张伟", "Zhang Wei"), "unit": "EAST", "role": ("销售", "member"),
               "tier": "B", "hire_date": "2024-03-01", "leave_date": "", "status": ("在职", "active"),
               "email": "zhang.wei@example.com", "valid_from": "2024-03-01"},
    "regions": {"code": "CN-SH", "name": ("上海", "Shanghai"), "parent": "", "active": ("是", "yes")},
    "territories": {"person": "E1001", "region": "CN-SH", "valid_from": "2024-03-01", "valid_to": ""},
    "products": {"code": "GW-PRO", "name": ("智能网关Pro", "Smart Gateway Pro"), "parent": "",
                 "category": ("硬件 > 网关", "Hardware > Gateways"), "unit_price": 1299,
                 "active": ("是", "yes")},
    "customers": {"code": "C0001", "name": ("上海星辰科技有限公司", "Shanghai Xingchen Technology Co., Ltd."),
                  "segment": ("大客户", "key"), "region": "CN-SH", "owner": "E1001",
                  "first_deal_date": "2024-05-20", "active": ("是", "yes")},
    FactKind.ORDER: {"external_id": "SO-2024-0001", "date": "2024-06-18", "amount": 12990, "quantity": 10,
                     "profit": 3200, "person": "E1001", "product": "GW-PRO",
                     "product_name": ("智能网关Pro", "Smart Gateway Pro"),
                     "product_category": ("硬件 > 网关", "Hardware > Gateways"), "customer": "C0001",
                     "customer_name": ("上海星辰科技有限公司", "Shanghai Xingchen Technology Co., Ltd."),
                     "region": "CN-SH"},
    FactKind.COLLECTION: {"external_id": "HK-2024-0001", "date": "2024-07-15", "amount": 12990,
                          "person": "E1001", "customer": "C0001",
                          "customer_name": ("上海星辰科技有限公司", "Shanghai Xingchen Technology Co., Ltd."),
                          "region": "CN-SH"},
    FactKind.VISIT: {"external_id": "BF-2024-0001", "date": "2024-05-10", "person": "E1001",
                     "customer": "C0001",
                     "customer_name": ("上海星辰科技有限公司", "Shanghai Xingchen Technology Co., Ltd."),
                     "region": "CN-SH"},
    FactKind.OPPORTUNITY: {"external_id": "SJ-2024-0001", "date": "2024-09-30", "amount": 50000,
                           "stage": ("赢单", "won"), "person": "E1001", "product": "GW-PRO",
                           "customer": "C0001",
                           "customer_name": ("上海星辰科技有限公司", "Shanghai Xingchen Technology Co., Ltd."),
                           "region": "CN-SH"},
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool
    holds: str
    accepts: str
    example: object
    in_template: bool


def is_master(kind: str) -> bool:
    return kind in MASTER_FIELDS


def kind_fields(kind: str) -> tuple[str, ...]:
    """Every field the kind takes, in the order of its template."""
    return tuple(MASTER_FIELDS[kind]) if is_master(kind) else FACT_KIND_FIELDS[kind]


def required_fields(kind: str) -> tuple[str, ...]:
    return tuple(MASTER_REQUIRED[kind]) if is_master(kind) else tuple(FACT_REQUIRED[kind])


def kind_label(kind: str) -> str:
    return str(MASTER_LABELS[kind]) if is_master(kind) else str(FactKind(kind).label)


def _chinese() -> bool:
    return (get_language() or "").startswith("zh")


def header(kind: str, field: str, chinese: bool | None = None) -> str:
    """A header the column guess of ``kind`` recognises as ``field``, in Chinese or English."""
    chinese = _chinese() if chinese is None else chinese
    synonyms = (MASTER_SYNONYMS if is_master(kind) else SYNONYMS).get(field, [])
    if chinese:
        text = ZH_HEADERS.get((kind, field)) or ZH_HEADERS.get(field)
        if text is None:
            text = next((s for s in synonyms if not s.isascii()), None)
        if text is not None:
            return text
    text = EN_HEADERS.get(field) or field.replace("_", " ").capitalize()
    if header_key(text) in synonyms or not synonyms:
        return text
    return next((s for s in synonyms if s.isascii()), synonyms[0])


def _note(kind: str, field: str) -> tuple[str, str]:
    scope = "master" if is_master(kind) else "fact"
    holds, accepts = NOTES.get((kind, field)) or NOTES.get((scope, field)) or NOTES.get(field) or (None, None)
    if holds is None:
        label = MASTER_FIELD_LABELS.get(field) or FIELD_LABELS.get(field)
        return (gettext(label) if label else field), ""
    accepts = gettext(accepts)
    if "%(example)s" in accepts:
        accepts = accepts % {"example": SPLIT_EXAMPLE}
    return gettext(holds), accepts


def _example(kind: str, field: str, chinese: bool):
    value = EXAMPLES.get(kind, {}).get(field, "")
    if isinstance(value, tuple):
        return value[0] if chinese else value[1]
    return value


def columns(kind: str, chinese: bool | None = None) -> list[Column]:
    """The columns of ``kind`` in the active language (or the one asked for)."""
    chinese = _chinese() if chinese is None else chinese
    required = required_fields(kind)
    skipped = NOT_IN_TEMPLATE.get(kind, ())
    out = []
    for field in kind_fields(kind):
        holds, accepts = _note(kind, field)
        out.append(
            Column(
                field=field,
                header=header(kind, field, chinese),
                required=field in required,
                holds=holds,
                accepts=accepts,
                example=_example(kind, field, chinese),
                in_template=field not in skipped,
            )
        )
    return out


def template_filename(kind: str) -> str:
    return f"salestarget-{kind}-template.xlsx"


def build_template(kind: str, segments: list[tuple[str, str]] | None = None) -> bytes:
    """The xlsx template of ``kind`` in the active language; ``segments`` (code, name) are the
    company's customer segments, listed in the notes of the customers template."""
    import xlsxwriter

    chinese = _chinese()
    cols = columns(kind, chinese)
    shown = [c for c in cols if c.in_template]
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    text = book.add_format({"num_format": "@"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    title = book.add_format({"bold": True, "font_size": 13})

    sheet = book.add_worksheet(kind_label(kind)[:31])
    for i, column in enumerate(shown):
        sheet.write_string(0, i, column.header, required if column.required else bold)
        if column.holds:
            sheet.write_comment(0, i, column.holds + ("\n" + column.accepts if column.accepts else ""))
        numeric = isinstance(column.example, int | float)
        # Codes and dates as text, so Excel keeps leading zeros and writes dates as typed.
        sheet.set_column(i, i, max(14, min(40, len(column.header) * 2 + 4)), None if numeric else text)
        if numeric:
            sheet.write_number(1, i, column.example)
        elif column.example != "":
            sheet.write_string(1, i, str(column.example))
    sheet.freeze_panes(1, 0)

    notes = book.add_worksheet("说明" if chinese else "Notes")
    notes.set_column(0, 0, 18)
    notes.set_column(1, 1, 16)
    notes.set_column(2, 2, 10)
    notes.set_column(3, 4, 60)
    notes.write_string(0, 0, gettext("Template: %(kind)s") % {"kind": kind_label(kind)}, title)
    heads = [gettext("Column"), gettext("Field (for --map)"), gettext("Required"), gettext("What it holds"),
             gettext("Accepted values and format")]  # fmt: skip
    notes.write_row(2, 0, heads, bold)
    row = 3
    for column in cols:
        accepts = column.accepts
        if column.field == "segment" and segments:
            accepts += " " + gettext("The segments now: %(segments)s.") % {
                "segments": ", ".join(f"{code} ({name})" for code, name in segments)
            }
        notes.write_row(
            row,
            0,
            [
                column.header if column.in_template else f"({column.header})",
                column.field,
                gettext("required") if column.required else gettext("optional"),
                column.holds,
                accepts,
            ],
            wrap,
        )
        row += 1
    row += 1
    for line in general_notes(kind):
        notes.merge_range(row, 0, row, 4, line, wrap)
        notes.set_row(row, 30)
        row += 1
    book.close()
    return out.getvalue()


def general_notes(kind: str) -> list[str]:
    lines = [
        gettext(
            "Fill in one row per record under the header row of the first sheet and replace the "
            "example row. Headers in Chinese or English are recognised; the column order does not "
            "matter and optional columns may be left out."
        ),
        gettext(
            "Highlighted headers are required. Any invalid row rejects the whole file, with a report of every error."
        ),
    ]
    if is_master(kind):
        lines.append(
            gettext(
                "Rows are matched to stored records by code: a stored record is updated, a new code "
                "adds a record, and a blank cell keeps what is stored. Nothing is deleted."
            )
        )
    else:
        lines.append(
            gettext(
                "People, products, customers and regions are named by code or name; unknown ones "
                "are refused unless missing records are created (administrators)."
            )
        )
    lines.append(
        gettext("Import it on the Import page or with: salestarget import %(kind)s FILE.xlsx")
        % {"kind": kind}
    )
    return lines


def help_epilog(width: int = 100) -> str:
    """The columns of every kind, for ``salestarget import --help``."""
    lines = [
        gettext(
            "Columns per kind (* = required; the header in the file may be any usual Chinese or English name):"
        )
    ]
    for kind in KINDS:
        fields = ", ".join(
            f"{c.field}{'*' if c.required else ''}"
            + (f"({c.header})" if header_key(c.header) != header_key(c.field) else "")
            for c in columns(kind)
        )
        lines += textwrap.wrap(
            fields,
            width=width,
            initial_indent=f"  {kind:<12}",
            subsequent_indent=" " * 14,
            break_long_words=False,
        )
    lines.append("")
    for text in (
        gettext("Fact files of any kind may carry any of: %(fields)s.") % {"fields": ", ".join(FACT_FIELDS)},
        gettext(
            "A template with the headers, an example row and a description of every column: "
            "salestarget import --template KIND FILE.xlsx"
        ),
    ):
        lines += textwrap.wrap(text, width=width, break_long_words=False)
    return "\n".join(lines)


def markdown(chinese: bool) -> str:
    """The guides' tables of columns (docs/guide.*.md), generated from the same definitions."""
    out = []
    for kind in KINDS:
        out.append(f"#### {kind_label(kind)} (`{kind}`)\n")
        out.append(
            "| "
            + " | ".join(
                [
                    gettext("Column"),
                    gettext("Field (for --map)"),
                    gettext("Required"),
                    gettext("What it holds"),
                    gettext("Accepted values and format"),
                ]  # fmt: skip
            )
            + " |"
        )
        out.append("|---|---|---|---|---|")
        for c in columns(kind, chinese):
            cells = [
                c.header,
                f"`{c.field}`",
                gettext("required") if c.required else gettext("optional"),
                c.holds,
                c.accepts,
            ]
            out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        out.append("")
    return "\n".join(out)
