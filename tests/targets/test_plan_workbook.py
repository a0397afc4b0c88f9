"""Plans to Excel and CSV and back (issue 13): exact round trips, foreign layouts through a
mapping, row-level errors that write nothing, and who may import."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salestarget.core.errors import DomainError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import Plan, TargetCell
from salestarget.targets.services import do_create_plan
from salestarget.targets.workbook import do_import_plan_workbook, export_plan
from tests.factories import OrgUnitFactory, PersonFactory

MONTHS = [dt.date(2027, m, 1) for m in range(1, 13)]
YEAR = dt.date(2027, 1, 1)


def new_plan(company, name=""):
    return do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(2027), name=name
    )


def primary(plan):
    return plan.scenarios.get(is_primary=True)


def snapshot(plan) -> set[tuple]:
    return set(
        TargetCell.objects.filter(scenario=primary(plan)).values_list(
            "unit_id",
            "person_id",
            "product_id",
            "region_id",
            "segment_id",
            "period_kind",
            "period_start",
            "floor",
            "target",
            "stretch",
        )  # fmt: skip
    )


def cell(plan, *, unit=None, person=None, kind="month", start=YEAR, target, floor=None, stretch=None, **dims):
    return TargetCell(
        scenario=primary(plan),
        unit=unit,
        person=person,
        period_kind=kind,
        period_start=start,
        target=target,
        floor=floor,
        stretch=stretch,
        **dims,
    )


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def round_trip(company, plan, tmp_path, fmt, lang="zh") -> set[tuple]:
    """Export ``plan`` and import the file into a fresh draft; the fresh plan's cells."""
    path = write(tmp_path, f"plan.{fmt}", export_plan(plan, lang=lang, fmt=fmt))
    fresh = new_plan(company, name=f"copy {fmt} {lang} {Plan.objects.count()}")
    result = do_import_plan_workbook(company.admin, fresh, path)
    assert result.ok, result.as_dict()["errors"]
    return snapshot(fresh)


# --- the property: export -> import reproduces the plan exactly ---------------------------

fen = st.integers(min_value=0, max_value=10**13)
row_strategy = st.fixed_dictionaries(
    {
        "months": st.lists(st.none() | fen, min_size=12, max_size=12),
        "floor": st.booleans(),
        "stretch": st.booleans(),
        "year": st.sampled_from(["none", "sum", "alone"]),
        "alone": fen,
    }
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n_units=st.integers(min_value=1, max_value=4),
    n_people=st.integers(min_value=0, max_value=4),
    rows=st.lists(row_strategy, min_size=1, max_size=8),
    fmt=st.sampled_from(["xlsx", "csv"]),
    lang=st.sampled_from(["zh", "en"]),
)
def test_export_then_import_reproduces_any_plan(
    company, tmp_path_factory, n_units, n_people, rows, fmt, lang
):
    tmp_path = tmp_path_factory.mktemp("plan")
    with transaction.atomic():
        # A random small organisation under the company, and people.
        units = [company.hq]
        for i in range(n_units):
            units.append(OrgUnitFactory(parent=units[i // 2], name=f"部门 {i}"))
        people = [PersonFactory(name=f"代表{i}") for i in range(n_people)]
        owners = [("unit", u) for u in units] + [("person", p) for p in people]
        plan = new_plan(company)
        cells = []
        for i, spec in enumerate(rows):
            kind, owner = owners[i % len(owners)]
            if i >= len(owners):
                break
            who = {"unit": owner} if kind == "unit" else {"person": owner}
            floors = stretches = 0
            present = False
            for month, value in zip(MONTHS, spec["months"], strict=True):
                if value is None:
                    continue
                present = True
                floor = value * 9 // 10 if spec["floor"] else None
                stretch = value * 6 // 5 if spec["stretch"] else None
                floors += floor or 0
                stretches += stretch or 0
                cells.append(cell(plan, start=month, target=value, floor=floor, stretch=stretch, **who))
            total = sum(v for v in spec["months"] if v is not None)
            if spec["year"] == "sum" and present:
                cells.append(
                    cell(
                        plan,
                        kind="year",
                        target=total,
                        floor=floors if spec["floor"] else None,
                        stretch=stretches if spec["stretch"] else None,
                        **who,
                    )
                )
            elif spec["year"] == "alone" and not present:
                cells.append(cell(plan, kind="year", target=spec["alone"], **who))
        TargetCell.objects.bulk_create(cells)
        assert round_trip(company, plan, tmp_path, fmt, lang) == snapshot(plan)
        transaction.set_rollback(True)


def test_the_demo_style_plan_round_trips_and_reimports_unchanged(company, tmp_path):
    """Units with a year cell beside their months and levels, reps with a year only (as the
    demo's plan holds them), by product and region; imported into itself nothing changes."""
    plan = new_plan(company)
    cells = []
    for u, unit in enumerate([company.hq, company.east, company.sh]):
        months = [(u + 1) * 1_000_000 + m * 12_345 for m in range(12)]
        for start, value in zip(MONTHS, months, strict=True):
            cells.append(cell(plan, unit=unit, start=start, target=value, floor=value - 5, stretch=value + 7))
        cells.append(
            cell(
                plan,
                unit=unit,
                kind="year",
                target=sum(months),
                floor=sum(months) - 60,
                stretch=sum(months) + 84,
            )
        )
    cells.append(cell(plan, person=company.rep_sh1, kind="year", target=123_456_789, floor=1, stretch=2))
    cells.append(
        cell(plan, person=company.rep_sh1, unit=company.sh, start=MONTHS[3], target=5, floor=4, stretch=6)
    )
    cells.append(
        cell(
            plan,
            unit=company.sz,
            start=MONTHS[0],
            target=77,
            product=company.product,
            region=company.shanghai,
        )
    )
    TargetCell.objects.bulk_create(cells)
    before = snapshot(plan)
    for fmt in ("xlsx", "csv"):
        assert round_trip(company, plan, tmp_path, fmt) == before
    path = write(tmp_path, "self.xlsx", export_plan(plan, lang="en"))
    result = do_import_plan_workbook(company.admin, plan, path)
    assert result.ok and result.cells_written == 0 and result.cells_deleted == 0
    assert snapshot(plan) == before


def test_the_export_layout(company, tmp_path):
    from python_calamine import CalamineWorkbook

    plan = new_plan(company)
    TargetCell.objects.bulk_create(
        [cell(plan, unit=company.east, start=m, target=100_00) for m in MONTHS]
        + [cell(plan, unit=company.hq, start=MONTHS[0], target=5_00, floor=4_00)]
        + [cell(plan, person=company.rep_sz, start=MONTHS[1], target=1_234_567_89)]
    )
    book = CalamineWorkbook.from_path(str(write(tmp_path, "zh.xlsx", export_plan(plan, lang="zh"))))
    assert book.sheet_names == ["目标", "底线", "说明"]
    rows = book.get_sheet_by_name("目标").to_python()
    assert rows[0][:4] == ["类型", "编码", "名称", "2027-01"]
    assert rows[0][15:] == ["2027年第1季度", "2027年第2季度", "2027年第3季度", "2027年第4季度", "合计"]
    assert [r[1] for r in rows[1:]] == ["HQ", "EAST", company.rep_sz.code]  # units depth-first, then people
    assert rows[2][2] == "  华东" and rows[2][15] == 300.0 and rows[2][19] == 1200.0
    assert rows[3][0] == "人员" and rows[3][4] == 1234567.89
    english = CalamineWorkbook.from_path(str(write(tmp_path, "en.xlsx", export_plan(plan, lang="en"))))
    assert english.sheet_names == ["Target", "Floor", "Notes"]
    assert english.get_sheet_by_name("Target").to_python()[0][-1] == "Total"


# --- a planners' workbook nobody here made -----------------------------------------------


def test_a_planners_utf16_file_in_thousands_keyed_by_national_id(company, tmp_path):
    company.rep_sh1.national_id = "310101199001011234"
    company.rep_sh1.save()
    company.rep_sz.national_id = "44030519920202567X"
    company.rep_sz.save()
    company.rep_hz.national_id = "330102198512120011"
    company.rep_hz.save()
    lines = [
        "2027年度销售目标\t单位：千元",
        "\t".join(["序号", "姓名", "身份证号", *[f"{m}月" for m in range(1, 13)], "全年"]),
        "\t".join(["1", "陈一", "310101199001011234", "1,200.5", "-", *["100"] * 10, "", "2,200.5"]),
        "\t".join(["2", "周杭", "330102198512120011", *["NULL"] * 12, "—"]),
        "\t".join(["3", "黄深", "44030519920202567x ", *["—"] * 11, "0.01", ""]),
    ]
    path = write(tmp_path, "planners.txt", ("\r\n".join(lines) + "\r\n").encode("utf-16"))
    plan = new_plan(company)
    result = do_import_plan_workbook(
        company.admin, plan, path, mapping={"code": "身份证号", "name": "姓名"}, unit="thousand"
    )
    assert result.ok, result.as_dict()["errors"]
    assert result.options["encoding"] == "UTF-16"
    cells = {
        (c.person_id, c.period_kind, c.period_start): c.target
        for c in TargetCell.objects.filter(scenario=primary(plan))
    }
    sh1 = company.rep_sh1.pk
    assert cells[(sh1, "month", MONTHS[0])] == 1_200_500_00
    assert (sh1, "month", MONTHS[1]) not in cells
    assert cells[(sh1, "month", MONTHS[2])] == 100_000_00
    assert (sh1, "year", YEAR) not in cells  # the 全年 column was the sum of the months
    assert cells[(company.rep_sz.pk, "month", MONTHS[11])] == 10_00
    assert len(cells) == 12


# --- errors: row by row, in the user's language, nothing written ---------------------------


def test_unknown_codes_non_numbers_and_quarters_off_their_months_write_nothing(company, tmp_path):
    plan = new_plan(company)
    TargetCell.objects.create(
        scenario=primary(plan), unit=company.hq, period_kind="month", period_start=MONTHS[0], target=1
    )
    header = "Kind,Code,Name,Jan,Feb,Mar,Q1,Total\n"
    body = f"unit,HQ,公司,1,2,3,6,6\nunit,NOPE,?,1,2,3,,\nperson,{company.rep_sh1.code},x,1,abc,3,,\nunit,EAST,华东,1,2,3,7,\n"
    path = write(tmp_path, "bad.csv", (header + body).encode("gb18030"))
    before = snapshot(plan)
    with translation.override("en"):
        result = do_import_plan_workbook(company.admin, plan, path)
        errors = result.as_dict()["errors"]
    assert result.status == "rejected" and result.error_count == 3
    assert [(e["row"], e["column"]) for e in errors] == [(3, "Code"), (4, "Feb"), (5, "Q1")]
    assert "NOPE" in errors[0]["reason"]
    assert "not a number" in errors[1]["reason"]
    assert "Q1 is 7" in errors[2]["reason"] and "6.00" in errors[2]["reason"]
    assert snapshot(plan) == before
    with translation.override("zh-hans"):
        chinese = do_import_plan_workbook(company.admin, plan, path).as_dict()["errors"]
    assert chinese[1]["reason"] != errors[1]["reason"]


def test_a_long_layout_with_a_year_off_its_months_is_refused(company, tmp_path):
    plan = new_plan(company)
    text = "kind,code,level,period,value\nunit,HQ,target,2027-01,1.00\nunit,HQ,target,2027,2.00\n"
    result = do_import_plan_workbook(company.admin, plan, write(tmp_path, "long.csv", text.encode()))
    assert result.status == "rejected" and result.errors[0]["row"] == 3
    assert not TargetCell.objects.filter(scenario=primary(plan)).exists()


def test_a_mapping_with_wan_and_replacing_only_the_periods_present(company, tmp_path):
    plan = new_plan(company)
    keep = cell(plan, unit=company.hq, start=MONTHS[5], target=42)
    gone = cell(plan, unit=company.hq, start=MONTHS[1], target=43)
    TargetCell.objects.bulk_create([keep, gone])
    text = "单位编码,一月,二月\nHQ,1.5,-\n"
    result = do_import_plan_workbook(
        company.admin,
        plan,
        write(tmp_path, "wan.csv", text.encode()),
        mapping={"code": "单位编码"},
        unit="wan",
    )
    assert result.ok and result.cells_deleted == 1
    values = dict(TargetCell.objects.filter(scenario=primary(plan)).values_list("period_start", "target"))
    assert values == {MONTHS[0]: 1_500_000, MONTHS[5]: 42}
    # Every write is in the cells' history, with who made it.
    history = TargetCell.history.filter(scenario_id=primary(plan).pk)
    created = history.get(history_type="+", period_start=MONTHS[0])
    assert created.target == 1_500_000 and created.history_user_id == company.admin.pk
    assert history.get(history_type="-").target == 43
    text = "单位编码,一月\nHQ,2\n"
    do_import_plan_workbook(
        company.admin,
        plan,
        write(tmp_path, "again.csv", text.encode()),
        mapping={"code": "单位编码"},
        unit="wan",
    )
    assert history.get(history_type="~").target == 2_000_000


def test_a_foreign_long_layout_through_a_mapping(company, tmp_path):
    """One row per person and month, months written three ways, values in 万, employee numbers."""
    company.rep_hz.employee_no = "E-0042"
    company.rep_hz.save()
    text = "工号,月份,目标金额(万元),备注\nE-0042,1月,1.2345,\ne-0042,Feb,NULL,x\nE-0042,M03,-,\nE-0042,2027-Q2,3,\n"
    plan = new_plan(company)
    path = write(tmp_path, "long.csv", text.encode("utf-8-sig"))
    result = do_import_plan_workbook(
        company.admin,
        plan,
        path,
        mapping={"code": "工号", "period": "月份", "value": "目标金额(万元)"},
        unit="wan",
    )
    assert result.ok, result.as_dict()["errors"]
    cells = set(
        TargetCell.objects.filter(scenario=primary(plan)).values_list("person_id", "period_kind", "target")
    )
    assert cells == {(company.rep_hz.pk, "month", 1_234_500), (company.rep_hz.pk, "quarter", 3_000_000)}


def test_the_mapping_wins_over_the_headers_and_can_unmap(company, tmp_path):
    plan = new_plan(company)
    text = "code,1月,2月,实际1月,全年\nHQ,1,2,9,999\n"
    result = do_import_plan_workbook(
        company.admin,
        plan,
        write(tmp_path, "m.csv", text.encode()),
        mapping={"M01": "实际1月", "M02": "", "total": ""},
    )
    assert result.ok, result.as_dict()["errors"]
    assert list(TargetCell.objects.filter(scenario=primary(plan)).values_list("period_start", "target")) == [
        (MONTHS[0], 900)
    ]


def test_dry_run_writes_nothing(company, tmp_path):
    plan = new_plan(company)
    path = write(tmp_path, "dry.csv", b"code,M01\nHQ,12.34\n")
    result = do_import_plan_workbook(company.admin, plan, path, dry_run=True)
    assert result.status == "dry_run" and result.cells_written == 1
    assert not TargetCell.objects.filter(scenario=primary(plan)).exists()


def test_a_plan_that_is_not_a_draft_is_refused(company, tmp_path):
    plan = new_plan(company)
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    plan.refresh_from_db()
    with pytest.raises(DomainError):
        do_import_plan_workbook(company.admin, plan, write(tmp_path, "x.csv", b"code,M01\nHQ,1\n"))


def test_a_rep_may_not_import(company, tmp_path):
    plan = new_plan(company)
    with pytest.raises(PermissionDenied):
        do_import_plan_workbook(company.rep_sh1.user, plan, write(tmp_path, "x.csv", b"code,M01\nHQ,1\n"))
    assert not TargetCell.objects.filter(scenario=primary(plan)).exists()


# --- the command line --------------------------------------------------------------------


def test_the_plan_command_exports_and_imports(company, tmp_path, capsys):
    plan = new_plan(company)
    TargetCell.objects.create(
        scenario=primary(plan), unit=company.hq, period_kind="month", period_start=MONTHS[2], target=999
    )
    out = tmp_path / "plan.xlsx"
    call_command("plan", "export", str(plan.pk), str(out), "--lang", "en")
    fresh = new_plan(company, name="fresh")
    call_command("plan", "import", str(fresh.pk), str(out))
    assert snapshot(fresh) == snapshot(plan)
    bad = write(tmp_path, "bad.csv", "工号,1月\nNOPE,1\n".encode("utf-16"))
    with pytest.raises(CommandError) as caught:
        call_command("plan", "import", str(fresh.pk), str(bad), "--map", "code=工号", "--unit", "thousand")
    assert caught.value.returncode == 1
    assert "NOPE" in capsys.readouterr().err
    csv_out = tmp_path / "plan.csv"
    call_command("plan", "export", str(plan.pk), str(csv_out), "--csv")
    assert csv_out.read_bytes().startswith("\ufeff类型".encode())


def test_the_demo_plan_round_trips(db, tmp_path):
    """The demo company's published plan (units by month and year, reps by year, floor and
    stretch) exported and imported into a fresh draft: the same cells."""
    from salestarget.demo.generator import generate
    from tests.factories import UserFactory

    summary = generate(today=dt.date(2026, 11, 25))
    plan = Plan.objects.get(pk=summary.ids["plan"])
    admin = UserFactory(username="planner", is_superuser=True, is_staff=True)
    before = snapshot(plan)
    assert len(before) == summary.counts["target_cells"]
    for fmt in ("xlsx", "csv"):
        path = write(tmp_path, f"demo.{fmt}", export_plan(plan, fmt=fmt))
        fresh = do_create_plan(
            admin, metric=plan.metric, period=fiscal_calendar().year(plan.fiscal_year), name=f"copy {fmt}"
        )
        result = do_import_plan_workbook(admin, fresh, path)
        assert result.ok, result.as_dict()["errors"][:5]
        assert snapshot(fresh) == before
