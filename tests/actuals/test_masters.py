"""Master-data imports: upsert by code, trees with parents, effective-dated memberships and
territories, deactivation instead of deletion."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from salestarget.actuals.importers import localised
from salestarget.actuals.services import do_import_master
from salestarget.catalog.models import Customer, Product, Region
from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment
from tests.actuals.conftest import write_csv

pytestmark = pytest.mark.django_db


def reasons(result) -> list[str]:
    return [localised(e)["reason"] for e in result.errors]


def test_units_with_parents_in_any_order(company, tmp_path):
    path = write_csv(
        tmp_path / "units.csv",
        [
            ["部门编码", "部门名称", "上级编码", "类型"],
            ["NJ", "南京组", "JS", "团队"],
            ["JS", "江苏区", "EAST", "大区"],
        ],
    )
    result = do_import_master(company.admin, path, "units")
    assert result.status == "applied", reasons(result)
    nj = OrgUnit.objects.get(code="NJ")
    assert nj.parent.code == "JS" and nj.parent.parent == company.east and nj.kind == OrgUnit.Kind.TEAM
    assert nj.is_descendant_of(company.hq)
    again = do_import_master(company.admin, path, "units")
    assert (again.rows_written, again.rows_skipped) == (0, 2)


def test_tree_cycles_and_unknown_parents_are_refused(company, tmp_path):
    cycle = write_csv(tmp_path / "c.csv", [["code", "name", "parent"], ["A", "A", "B"], ["B", "B", "A"]])
    result = do_import_master(company.admin, cycle, "regions")
    assert result.status == "rejected" and "cycle" in reasons(result)[0]
    orphan = write_csv(tmp_path / "o.csv", [["code", "name", "parent"], ["X", "X", "NOPE"]])
    assert do_import_master(company.admin, orphan, "regions").status == "rejected"
    created = do_import_master(company.admin, orphan, "regions", create_missing=True)
    assert created.ok and Region.objects.get(code="X").parent.code == "NOPE"
    assert not Region.objects.filter(code__in=["A", "B"]).exists()


def test_people_keep_their_history_when_they_move(company, tmp_path):
    hire = write_csv(
        tmp_path / "p.csv",
        [
            ["工号", "姓名", "部门", "职务", "级别", "入职日期"],
            ["E1", "赵一", "HZ", "销售", "A", "2023-02-01"],
        ],
    )
    assert do_import_master(company.admin, hire, "people").ok
    person = Person.objects.get(code="E1")
    assert (person.tier, person.hire_date, person.unit_on(dt.date(2023, 3, 1))) == (
        "A",
        dt.date(2023, 2, 1),
        company.hz,
    )
    move = write_csv(tmp_path / "m.csv", [["code", "unit", "valid_from"], ["E1", "SZ", "2024-07-01"]])
    assert do_import_master(company.admin, move, "people").ok
    assert (
        person.unit_on(dt.date(2024, 6, 30)) == company.hz
        and person.unit_on(dt.date(2024, 7, 1)) == company.sz
    )
    leave = write_csv(tmp_path / "l.csv", [["code", "status", "leave_date"], ["E1", "离职", "2024-12-31"]])
    assert do_import_master(company.admin, leave, "people").ok
    assert not Membership.objects.filter(person=person, valid_to__isnull=True).exists()
    assert person.unit_on(dt.date(2025, 1, 1)) is None


def test_territories_start_at_the_hire_date_by_default(company, tmp_path):
    path = write_csv(
        tmp_path / "t.csv", [["销售员", "区域"], [company.rep_sh1.code, "SHA"], [company.rep_sh1.code, "CN"]]
    )
    assert do_import_master(company.admin, path, "territories").ok
    starts = set(
        TerritoryAssignment.objects.filter(person=company.rep_sh1).values_list("valid_from", flat=True)
    )
    assert starts == {company.rep_sh1.hire_date}
    again = do_import_master(company.admin, path, "territories")
    assert (again.rows_written, again.rows_skipped) == (0, 2)


def test_products_with_category_paths_and_prices(company, tmp_path):
    path = write_csv(
        tmp_path / "pr.csv",
        [
            ["产品编码", "产品名称", "产品线", "单价"],
            ["G2", "网关二代", "硬件 > 网关", "1,299.00"],
            ["P1", "智能网关Pro", "硬件 > 网关", ""],
        ],
    )
    result = do_import_master(company.admin, path, "products")
    assert result.ok, reasons(result)
    g2 = Product.objects.get(code="G2")
    assert (g2.unit_price, g2.parent.name, g2.parent.parent.name) == (129900, "网关", "硬件")
    assert Product.objects.get(code="P1").name == "智能网关Pro" and result.rows_updated == 1


def test_customers_and_deactivation(company, tmp_path):
    path = write_csv(
        tmp_path / "cu.csv",
        [
            ["客户编码", "客户名称", "客户类型", "区域", "客户经理", "启用"],
            ["K1", "一号客户", "大客户", "SHA", company.rep_sh1.code, "是"],
        ],
    )
    assert do_import_master(company.admin, path, "customers").ok
    k1 = Customer.objects.get(code="K1")
    assert (k1.segment.code, k1.region, k1.owner, k1.active) == (
        "key",
        company.shanghai,
        company.rep_sh1,
        True,
    )
    off = write_csv(tmp_path / "off.csv", [["code", "active"], ["K1", "停用"]])
    assert do_import_master(company.admin, off, "customers").ok
    k1.refresh_from_db()
    assert k1.active is False and k1.name == "一号客户"


def test_master_data_is_for_admins(company, tmp_path):
    path = write_csv(tmp_path / "r.csv", [["code", "name"], ["R9", "九区"]])
    with pytest.raises(PermissionDenied):
        do_import_master(company.lead_sh.user, path, "regions")


def test_bad_master_rows_reject_the_file(company, tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        [
            ["code", "name", "tier", "hire_date"],
            ["E7", "钱七", "Z", "2024-01-01"],
            ["E8", '=HYPERLINK("x")', "A", "2024-01-01"],
            ["E7", "重复", "A", "2024-01-01"],
        ],
    )
    result = do_import_master(company.admin, path, "people")
    assert result.status == "rejected" and result.error_count == 3
    assert (
        "not one of" in reasons(result)[0]
        and "formula" in reasons(result)[1]
        and "twice" in reasons(result)[2]
    )
    assert not Person.objects.filter(code__in=["E7", "E8"]).exists()


def snapshot() -> dict:
    """Every master record's fields, to compare before an import and after its rollback."""
    from django.forms.models import model_to_dict

    out = {}
    for model in (OrgUnit, Region, Product, Person, Membership, TerritoryAssignment, Customer):
        out[model.__name__] = sorted(
            (tuple(sorted((k, str(v)) for k, v in model_to_dict(o).items())) for o in model.objects.all()),
        )
    return out


def test_a_people_import_is_rolled_back_to_exactly_what_was_there(company, tmp_path):
    """A wrong people file (moves, a new team, a new hire, a leaver) is undone completely."""
    from salestarget.actuals.models import ImportBatch
    from salestarget.actuals.services import can_roll_back, do_rollback_batch

    before = snapshot()
    path = write_csv(
        tmp_path / "wrong.csv",
        [
            ["code", "name", "unit", "valid_from", "tier", "status", "leave_date"],
            [company.rep_sh1.code, "改了名字", "SZ", "2024-07-01", "D", "", ""],
            [company.rep_sh2.code, "", "", "", "", "离职", "2024-12-31"],
            ["E9", "新人", "NEWTEAM", "2024-05-01", "C", "", ""],
        ],
    )
    result = do_import_master(company.admin, path, "people", create_missing=True)
    assert result.status == "applied", reasons(result)
    assert company.rep_sh1.__class__.objects.get(pk=company.rep_sh1.pk).name == "改了名字"
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert not can_roll_back(company.lead_sh.user, batch) and can_roll_back(company.admin, batch)
    do_rollback_batch(company.admin, batch)
    assert snapshot() == before
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.ROLLED_BACK


def test_a_unit_tree_import_is_rolled_back_with_its_paths(company, tmp_path):
    from salestarget.actuals.models import ImportBatch
    from salestarget.actuals.services import do_rollback_batch

    before = snapshot()
    path = write_csv(
        tmp_path / "units.csv",
        [["code", "name", "parent"], ["JS", "江苏区", "EAST"], ["SH", "上海组（改到江苏）", "JS"]],
    )
    result = do_import_master(company.admin, path, "units")
    assert result.status == "applied", reasons(result)
    assert OrgUnit.objects.get(code="SH").is_descendant_of(OrgUnit.objects.get(code="JS"))
    do_rollback_batch(company.admin, ImportBatch.objects.get(pk=result.batch_id))
    assert snapshot() == before
    assert not OrgUnit.objects.filter(code="JS").exists()
    assert OrgUnit.objects.get(code="SH").path == company.sh.path


def test_a_master_rollback_never_overwrites_later_work(company, tmp_path):
    """Edited since, or put to use since: the rollback is refused and changes nothing."""
    from salestarget.actuals.models import ImportBatch
    from salestarget.actuals.parsing import Problem
    from salestarget.actuals.services import do_import_facts, do_rollback_batch

    regions = write_csv(
        tmp_path / "r.csv", [["code", "name"], ["NEW", "新区域"], [company.shanghai.code, "沪"]]
    )
    result = do_import_master(company.admin, regions, "regions")
    batch = ImportBatch.objects.get(pk=result.batch_id)
    Region.objects.filter(code=company.shanghai.code).update(name="上海（手工改）")
    with pytest.raises(Problem, match="was changed after this import"):
        do_rollback_batch(company.admin, batch)
    assert Region.objects.filter(code="NEW").exists()
    Region.objects.filter(code=company.shanghai.code).update(name="沪")
    facts = write_csv(
        tmp_path / "f.csv",
        [["单号", "日期", "销售员", "区域", "金额"], ["X1", "2024-03-01", company.rep_sh1.code, "NEW", "10"]],
    )
    assert do_import_facts(company.admin, facts, "order").status == "applied"
    with pytest.raises(Problem, match="used by data added since"):
        do_rollback_batch(company.admin, batch)
    batch.refresh_from_db()
    assert (
        batch.status == ImportBatch.Status.APPLIED
        and Region.objects.get(code=company.shanghai.code).name == "沪"
    )


def test_master_batches_from_before_the_journal_cannot_be_rolled_back(company, tmp_path):
    from salestarget.actuals.models import ImportBatch
    from salestarget.actuals.services import can_roll_back

    path = write_csv(tmp_path / "r.csv", [["code", "name"], ["OLD", "旧"]])
    batch = ImportBatch.objects.get(pk=do_import_master(company.admin, path, "regions").batch_id)
    batch.options.pop("journal")
    assert not can_roll_back(company.admin, batch)


def test_a_person_created_by_a_batch_who_has_since_reported_is_not_deleted(company, tmp_path):
    """Deleting the new person would take their later daily report and customers with them."""
    from salestarget.actuals.models import DailyReport, ImportBatch
    from salestarget.actuals.parsing import Problem
    from salestarget.actuals.services import do_rollback_batch

    path = write_csv(
        tmp_path / "p.csv", [["code", "name", "unit", "hire_date"], ["E7", "新人七", "SH", "2024-01-02"]]
    )
    batch = ImportBatch.objects.get(pk=do_import_master(company.admin, path, "people").batch_id)
    person = Person.objects.get(code="E7")
    report = DailyReport.objects.create(person=person, day=dt.date(2024, 3, 1), note="第一天")
    with pytest.raises(Problem, match="used by data added since"):
        do_rollback_batch(company.admin, batch)
    report.delete()
    customer = Customer.objects.create(code="C-E7", name="七的客户", owner=person)
    with pytest.raises(Problem, match="used by data added since"):
        do_rollback_batch(company.admin, batch)
    customer.delete()
    do_rollback_batch(company.admin, batch)
    assert not Person.objects.filter(code="E7").exists()
