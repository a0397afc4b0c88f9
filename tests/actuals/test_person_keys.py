"""Issue 12, item 15 (part): files name people by employee number, e-mail or national id as well
as by code, wherever an import names a person; a value naming two people is the row's error."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from salestarget.actuals.importers import PersonLookup, localised
from salestarget.actuals.models import Fact, FactCredit, ImportBatch
from salestarget.actuals.services import do_import_fact_rows, do_import_facts, do_import_master
from salestarget.catalog.models import Customer
from salestarget.org.models import Person, TerritoryAssignment
from tests.actuals.conftest import write_csv

pytestmark = pytest.mark.django_db


def reasons(result) -> list[str]:
    return [localised(e)["reason"] for e in result.errors]


@pytest.fixture
def keyed(company, tmp_path):
    """rep_sh1 and rep_sz with an employee number, an e-mail and a national id, imported."""
    path = write_csv(
        tmp_path / "people.csv",
        [
            ["编码", "姓名", "工号", "身份证号", "邮箱"],
            [company.rep_sh1.code, "陈一", "10086", "110101199001011234", "Chen.Yi@example.com"],
            [company.rep_sz.code, "黄深", "10087", "440301199202022345", "huang@example.com"],
        ],
    )
    result = do_import_master(None, path, "people")
    assert result.ok, reasons(result)
    assert result.options["mapping"]["employee_no"] == "工号"
    return company


def test_the_people_import_takes_the_alternate_keys(keyed):
    rep = Person.objects.get(pk=keyed.rep_sh1.pk)
    assert (rep.employee_no, rep.national_id, rep.email) == (
        "10086",
        "110101199001011234",
        "Chen.Yi@example.com",
    )


def test_an_order_file_keyed_by_email_or_employee_number(keyed, tmp_path):
    path = write_csv(
        tmp_path / "orders.csv",
        [
            ["单号", "日期", "销售员", "金额"],
            ["K1", "2024-03-01", "chen.yi@example.com", "10"],
            ["K2", "2024-03-01", "10087", "20"],
            ["K3", "2024-03-01", "440301199202022345", "30"],
            ["K4", "2024-03-01", keyed.rep_sh1.code, "40"],
        ],
    )
    result = do_import_facts(None, path, "order")
    assert result.ok, reasons(result)
    people = dict(Fact.objects.values_list("external_id", "person_id"))
    assert people == {
        "K1": keyed.rep_sh1.pk,
        "K2": keyed.rep_sz.pk,
        "K3": keyed.rep_sz.pk,
        "K4": keyed.rep_sh1.pk,
    }
    # Booked to the team of the person found, like a row keyed by code.
    assert Fact.objects.get(external_id="K2").unit == keyed.sz


def test_split_credit_names_people_by_any_key(keyed):
    rows = [
        {
            "external_id": "S1",
            "date": "2024-03-01",
            "amount": "100",
            "person": "10086:60%; huang@example.com:40%",
        }
    ]
    result = do_import_fact_rows(None, "order", rows, source="api")
    assert result.ok, reasons(result)
    assert set(FactCredit.objects.values_list("person_id", "share_bp")) == {
        (keyed.rep_sh1.pk, 6000),
        (keyed.rep_sz.pk, 4000),
    }


def test_a_value_naming_two_people_is_a_row_error(keyed, tmp_path):
    other = Person.objects.get(pk=keyed.rep_hz.pk)
    other.employee_no = keyed.rep_sz.code  # rep_hz's employee number is rep_sz's code
    other.save()
    path = write_csv(
        tmp_path / "orders.csv",
        [["单号", "日期", "销售员", "金额"], ["A1", "2024-03-01", keyed.rep_sz.code, "10"]],
    )
    result = do_import_facts(None, path, "order")
    assert result.status == "rejected" and not Fact.objects.exists()
    (error,) = result.errors
    entry = localised(error)
    assert (entry["row"], entry["column"], entry["value"]) == (2, "销售员", keyed.rep_sz.code)
    assert str(keyed.rep_sz) in entry["reason"] and str(other) in entry["reason"]
    assert entry["reason"].startswith(f"“{keyed.rep_sz.code}” names two different people")


def test_one_person_by_two_keys_is_no_ambiguity(company):
    lookup = PersonLookup([(1, "P1", "甲", "E1", "a@x.cn", ""), (2, "P2", "乙", "P1-no", "", "")])
    assert (lookup.find("P1"), lookup.find("E1"), lookup.find("A@X.CN"), lookup.find("甲")) == (1, 1, 1, 1)
    clash = PersonLookup([(1, "P1", "甲", "", "", ""), (2, "P2", "乙", "", "", "P1")])
    assert clash.find("P1") == -1 and "甲 (P1) and 乙 (P2)" in str(clash.ambiguity("P1"))
    # Codes differing only in case stay apart, as before.
    cased = PersonLookup([(1, "ab", "甲", "", "", ""), (2, "AB", "乙", "", "", "")])
    assert (cased.find("ab"), cased.find("AB")) == (1, 2)


def test_territories_and_customer_owners_by_alternate_keys(keyed, tmp_path):
    territories = write_csv(
        tmp_path / "t.csv",
        [
            ["负责人", "区域", "生效日期"],
            ["10086", "SHA", "2023-01-01"],
            ["huang@example.com", "GD", "2023-01-01"],
        ],
    )
    result = do_import_master(None, territories, "territories")
    assert result.ok, reasons(result)
    assert set(TerritoryAssignment.objects.values_list("person_id", "region__code")) == {
        (keyed.rep_sh1.pk, "SHA"),
        (keyed.rep_sz.pk, "GD"),
    }
    customers = write_csv(
        tmp_path / "c.csv", [["客户编码", "客户名称", "客户经理"], ["C1", "客户一", "10087"]]
    )
    result = do_import_master(None, customers, "customers")
    assert result.ok, reasons(result)
    assert Customer.objects.get(code="C1").owner_id == keyed.rep_sz.pk


def test_an_ambiguous_owner_in_a_master_file_is_a_row_error(keyed, tmp_path):
    Person.objects.filter(pk=keyed.rep_hz.pk).update(email=keyed.rep_sh1.code)
    customers = write_csv(
        tmp_path / "c.csv", [["code", "name", "owner"], ["C1", "客户一", keyed.rep_sh1.code]]
    )
    result = do_import_master(None, customers, "customers")
    assert result.status == "rejected"
    assert "names two different people" in reasons(result)[0] and not Customer.objects.exists()


def test_an_employee_number_or_national_id_names_one_person(keyed, tmp_path):
    taken = write_csv(
        tmp_path / "p.csv",
        [
            ["编码", "工号", "身份证号"],
            [keyed.rep_hz.code, "10086", ""],
            ["NEW1", "", "440301199202022345"],
        ],
    )
    result = do_import_master(None, taken, "people")
    assert result.status == "rejected" and not Person.objects.filter(code="NEW1").exists()
    by_field = {e["column"]: localised(e) for e in result.errors}
    assert str(keyed.rep_sh1) in by_field["工号"]["reason"] and by_field["工号"]["value"] == "10086"
    secret = by_field["身份证号"]
    assert "440301199202022345" not in str(secret) and secret["value"].endswith("2345")
    assert "440301199202022345" not in str(ImportBatch.objects.get(pk=result.batch_id).errors)
    # Handing a number over to someone else in the same file is fine.
    swap = write_csv(
        tmp_path / "s.csv",
        [["编码", "工号"], [keyed.rep_sh1.code, "20000"], [keyed.rep_hz.code, "10086"]],
    )
    assert do_import_master(None, swap, "people").ok
    assert Person.objects.get(employee_no="10086").pk == keyed.rep_hz.pk


def test_the_database_refuses_a_second_holder_but_not_blanks(keyed):
    Person.objects.filter(pk=keyed.rep_hz.pk).update(employee_no="")
    Person.objects.filter(pk=keyed.rep_sh2.pk).update(employee_no="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=keyed.rep_hz.pk).update(national_id="110101199001011234")


def test_the_national_id_is_never_shown(keyed, client, tmp_path):
    client.force_login(keyed.admin)
    batch = ImportBatch.objects.get(kind="people")
    page = client.get(reverse("actuals:batch", kwargs={"pk": batch.pk})).content.decode()
    assert "10086" in page and "110101199001011234" not in page and "1234" in page
    admin_page = client.get(reverse("admin:org_person_change", args=[keyed.rep_sh1.pk])).content.decode()
    assert "110101199001011234" not in admin_page
    assert "national_id" not in {f.name for f in Person.history.model._meta.fields}
