"""Customer segments are the company's own list (catalog.Segment): the migration keeps the four
fixed segments as rows, and the customers import takes any segment by code or name, creating an
unknown one only when missing records may be created."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from salestarget.actuals.importers import localised
from salestarget.actuals.models import ImportBatch
from salestarget.actuals.services import do_import_master, do_rollback_batch
from salestarget.catalog.models import Customer, Segment
from tests.actuals.conftest import write_csv
from tests.conftest import PASSWORD

SEEDED = {"key": "大客户", "smb": "中小企业", "consumer": "个人消费者", "public": "政府/公共事业"}


def reasons(result) -> list[str]:
    return [localised(e)["reason"] for e in result.errors]


@pytest.mark.django_db
def test_the_migration_seeds_the_four_segments_in_order():
    assert dict(Segment.objects.values_list("code", "name")) == SEEDED
    assert list(Segment.objects.values_list("code", flat=True)) == ["key", "smb", "consumer", "public"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_each_customers_segment():
    executor = MigrationExecutor(connection)
    executor.migrate([("catalog", "0002_initial")])
    old = executor.loader.project_state([("catalog", "0002_initial")]).apps.get_model("catalog", "Customer")
    old.objects.create(code="A", name="甲", segment="public")
    old.objects.create(code="B", name="乙", segment="key")
    old.objects.create(code="C", name="丙")  # the old default, smb
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert dict(Customer.objects.values_list("code", "segment__code")) == {
        "A": "public",
        "B": "key",
        "C": "smb",
    }
    assert Segment.objects.count() == 4


@pytest.mark.django_db
def test_an_unknown_segment_is_refused_naming_the_value_and_the_segments(company, tmp_path):
    path = write_csv(
        tmp_path / "cu.csv",
        [["客户编码", "客户名称", "客户类型"], ["V1", "增值经销商甲", "Value Added Reseller"]],
    )
    result = do_import_master(company.admin, path, "customers")
    assert result.status == "rejected" and not Customer.objects.filter(code="V1").exists()
    (reason,) = reasons(result)
    assert "“Value Added Reseller” is not a known customer segment" in reason
    assert "key (大客户), smb (中小企业), consumer (个人消费者), public (政府/公共事业)" in reason
    assert result.errors[0]["column"] == "客户类型"
    assert not Segment.objects.filter(code="Value Added Reseller").exists()


@pytest.mark.django_db
def test_create_missing_adds_the_segment_and_a_rollback_removes_it(company, tmp_path):
    path = write_csv(
        tmp_path / "cu.csv",
        [
            ["code", "name", "segment"],
            ["V1", "增值经销商甲", "Value Added Reseller"],
            ["V2", "增值经销商乙", "value added reseller"],
        ],
    )
    result = do_import_master(company.admin, path, "customers", create_missing=True)
    assert result.status == "applied", reasons(result)
    assert result.created == {"customers": 2, "segments": 1}
    var = Segment.objects.get(code="Value Added Reseller")
    assert var.name == "Value Added Reseller" and var.active and var.sort_order > 40
    assert set(Customer.objects.filter(segment=var).values_list("code", flat=True)) == {"V1", "V2"}
    # Known from now on, without create missing.
    again = write_csv(tmp_path / "again.csv", [["code", "segment"], ["V3", "Value Added Reseller"]])
    assert do_import_master(company.admin, again, "customers").ok
    Customer.objects.filter(code="V3").delete()
    do_rollback_batch(company.admin, ImportBatch.objects.get(pk=result.batch_id))
    assert not Segment.objects.filter(code="Value Added Reseller").exists()
    assert not Customer.objects.filter(code__in=["V1", "V2"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value, code",
    [("smb", "smb"), ("大客户", "key"), ("政府/公共事业", "public"), ("政府", "public"), ("Key account", "key"),
     ("CONSUMER", "consumer"), ("", None)],
)  # fmt: skip
def test_segments_by_code_name_or_a_usual_spelling(company, tmp_path, value, code):
    path = write_csv(tmp_path / "cu.csv", [["code", "segment"], ["K1", value]])
    result = do_import_master(company.admin, path, "customers")
    assert result.ok, reasons(result)
    customer = Customer.objects.get(code="K1")
    assert (customer.segment.code if customer.segment else None) == code


@pytest.mark.django_db
def test_a_segment_added_in_the_admin_is_accepted_by_name(company, tmp_path):
    Segment.objects.create(code="var", name="增值经销商", sort_order=50)
    path = write_csv(tmp_path / "cu.csv", [["客户编码", "客户类型"], ["K1", "增值经销商"]])
    assert do_import_master(company.admin, path, "customers").ok
    assert Customer.objects.get(code="K1").segment.code == "var"


@pytest.mark.django_db
def test_the_api_and_the_admin_show_segments(client, company):
    key = Segment.objects.get(code="key")
    Customer.objects.create(code="K1", name="一号", segment=key, owner=company.rep_sh1)
    Customer.objects.create(code="K2", name="二号", owner=company.rep_sh1)
    assert client.login(username="admin", password=PASSWORD)
    items = client.get("/api/v1/catalog/customers").json()["items"]
    assert {(c["code"], c["segment"], c["segment_id"]) for c in items} == {
        ("K1", "key", key.pk),
        ("K2", None, None),
    }
    codes = [s["code"] for s in client.get("/api/v1/catalog/segments").json()["items"]]
    assert codes == ["key", "smb", "consumer", "public"]
    assert client.get("/admin/catalog/segment/").status_code == 200
    assert client.get(f"/admin/catalog/segment/{key.pk}/change/").status_code == 200
    assert client.get("/admin/catalog/customer/").status_code == 200
