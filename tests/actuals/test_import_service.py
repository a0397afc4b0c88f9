"""The import service: validation, idempotency, atomicity, scoping, credit, rollback."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum

from salestarget.actuals import rollups
from salestarget.actuals.importers import error_report_csv, localised
from salestarget.actuals.models import DailyRollup, Fact, FactCredit, ImportBatch
from salestarget.actuals.services import do_import_fact_rows, do_import_facts, do_rollback_batch
from salestarget.catalog.models import Customer, Product
from salestarget.org.models import Membership
from tests.actuals.conftest import footprint, write_csv

pytestmark = pytest.mark.django_db

HEADER = ["单号", "日期", "销售员", "产品", "区域", "金额"]


def reasons(result) -> list[str]:
    return [localised(e)["reason"] for e in result.errors]


def test_an_export_is_imported_with_guessed_columns(orders, company):
    result = do_import_facts(company.admin, orders, "order")
    assert result.status == "applied", reasons(result)
    assert result.options["mapping"]["external_id"] == "订单号+行号"
    assert (result.rows_read, result.rows_written, result.rows_skipped) == (4, 4, 0)
    assert result.amount_total == 120050 + 9950 + 30000 - 5000
    fact = Fact.objects.get(external_id="SO1-1")
    assert (fact.person, fact.unit, fact.amount, fact.quantity) == (company.rep_sh1, company.sh, 120050, 2)
    assert fact.region == company.shanghai and fact.product == company.product
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert (batch.status, batch.rows_written, batch.amount_total, batch.created_by) == (
        "applied",
        4,
        result.amount_total,
        company.admin,
    )
    assert rollups.verify() == []
    assert DailyRollup.objects.filter(person_id=company.rep_sh1.pk).get().amount == 130000


def test_reimporting_adds_nothing_and_overlapping_rows_are_skipped(orders, company, tmp_path):
    first = do_import_facts(company.admin, orders, "order")
    again = do_import_facts(company.admin, orders, "order")
    assert (again.status, again.rows_written, again.rows_skipped, again.amount_total) == ("applied", 0, 4, 0)
    more = write_csv(
        tmp_path / "more.csv",
        [
            HEADER,
            ["SO2-1", "2024-03-02", company.rep_sh2.code, "P1", "SHA", "300"],
            ["SO9", "2024-03-09", company.rep_sh2.code, "P1", "SHA", "0.555"],
        ],
    )
    overlap = do_import_facts(company.admin, more, "order", mapping={"external_id": "单号"})
    assert (overlap.rows_written, overlap.rows_skipped, overlap.amount_total) == (1, 1, 56)
    assert Fact.objects.count() == 5 and first.rows_written == 4
    assert rollups.verify() == []


def test_an_invalid_row_rejects_the_file_and_records_why(company, tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        [
            HEADER,
            ["A1", "2024-03-01", company.rep_sh1.code, "P1", "SHA", "100"],
            ["A2", "2024-13-01", company.rep_sh1.code, "P1", "SHA", "100"],
            ["A3", "2024-03-01", "nobody", "P1", "SHA", "1"],
            ["A4", "2024-03-01", company.rep_sh1.code, "P1", "SHA", "abc"],
        ],
    )
    before = footprint()
    result = do_import_facts(company.admin, path, "order")
    assert result.status == "rejected" and result.error_count == 3
    assert [(e["row"], e["column"]) for e in result.errors] == [(3, "日期"), (4, "销售员"), (5, "金额")]
    assert "not a valid date" in reasons(result)[0] and "not a known person" in reasons(result)[1]
    assert "“abc” is not a number" in reasons(result)[2]
    assert footprint() == before
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert (batch.status, batch.error_count, batch.rows_written) == ("rejected", 3, 0)
    report = error_report_csv(batch.errors).decode("utf-8")
    assert report.startswith("\ufeffRow,Column,Value,Reason") and "2024-13-01" in report


def test_dry_run_writes_nothing_at_all(orders, company):
    before, batches = footprint(), ImportBatch.objects.count()
    result = do_import_facts(company.admin, orders, "order", dry_run=True)
    assert (result.status, result.rows_written, result.batch_id) == ("dry_run", 4, None)
    assert footprint() == before and ImportBatch.objects.count() == batches
    assert result.preview[0]["external_id"] == "SO1-1" and result.preview[0]["amount"] == 120050


def test_unknown_codes_are_created_only_when_asked(company, tmp_path):
    path = write_csv(
        tmp_path / "new.csv",
        [
            [
                "单号",
                "日期",
                "销售员",
                "产品编码",
                "产品名称",
                "产品类别",
                "客户编码",
                "客户名称",
                "区域",
                "金额",
            ],
            ["N1", "2024-03-01", "E900", "SKU-9", "新网关", "硬件/网关", "C-9", "九号公司", "西区", "10"],
        ],
    )
    refused = do_import_facts(company.admin, path, "order")
    assert refused.status == "rejected"
    assert [e["column"] for e in refused.errors] == ["销售员", "区域", "产品编码", "客户编码"]
    with pytest.raises(PermissionDenied):
        do_import_facts(company.lead_sh.user, path, "order", create_missing=True)
    created = do_import_facts(company.admin, path, "order", create_missing=True)
    assert created.status == "applied", reasons(created)
    assert created.created == {"people": 1, "regions": 1, "products": 1, "customers": 1}
    fact = Fact.objects.select_related("product__parent__parent", "customer").get(external_id="N1")
    assert (
        fact.product.name == "新网关"
        and fact.product.parent.name == "网关"
        and fact.product.parent.parent.name == "硬件"
    )
    assert fact.product.path == f"{fact.product.parent.path}{fact.product.pk}/"
    assert (fact.customer.name, fact.customer.region, fact.customer.owner) == (
        "九号公司",
        fact.region,
        fact.person,
    )
    assert fact.customer.first_deal_date == dt.date(2024, 3, 1)


def test_units_follow_effective_dated_memberships(company, tmp_path):
    rep = company.rep_hz
    move = dt.date(2024, 6, 1)
    Membership.objects.filter(person=rep).update(valid_to=move - dt.timedelta(days=1))
    Membership.objects.create(person=rep, unit=company.sh, valid_from=move)
    path = write_csv(
        tmp_path / "m.csv",
        [HEADER, ["B1", "2024-05-31", rep.code, "", "", "1"], ["B2", "2024-06-01", rep.code, "", "", "1"]],
    )
    assert do_import_facts(company.admin, path, "order").ok
    units = dict(Fact.objects.values_list("external_id", "unit_id"))
    assert units == {"B1": company.hz.pk, "B2": company.sh.pk}


def test_who_may_import_what(company, tmp_path):
    own = write_csv(tmp_path / "own.csv", [HEADER, ["R1", "2024-03-01", "", "", "", "5"]])
    # Reps record their results in the daily report, never from files.
    with pytest.raises(PermissionDenied):
        do_import_facts(company.rep_sh1.user, own, "order")
    result = do_import_facts(company.lead_sh.user, own, "order")
    assert result.ok and Fact.objects.get(external_id="R1").person == company.lead_sh
    other = write_csv(
        tmp_path / "other.csv", [HEADER, ["R2", "2024-03-01", company.rep_sh2.code, "", "", "5"]]
    )
    assert do_import_facts(company.lead_sh.user, other, "order").ok
    outside = write_csv(tmp_path / "sz.csv", [HEADER, ["R3", "2024-03-01", company.rep_sz.code, "", "", "5"]])
    assert do_import_facts(company.lead_sh.user, outside, "order").status == "rejected"
    nobody = company.admin.__class__.objects.create_user("nobody", password="x")
    with pytest.raises(PermissionDenied):
        do_import_facts(nobody, own, "order")


def test_rollback_removes_facts_and_rollups(orders, company):
    result = do_import_facts(company.lead_sh.user, orders, "order", mapping={"person": ""})
    assert result.ok, reasons(result)
    batch = ImportBatch.objects.get(pk=result.batch_id)
    with pytest.raises(PermissionDenied):
        do_rollback_batch(company.rep_sh1.user, batch)
    do_rollback_batch(company.lead_sh.user, batch)
    batch.refresh_from_db()
    assert (batch.status, batch.rolled_back_by) == ("rolled_back", company.lead_sh.user)
    assert not Fact.objects.exists() and not DailyRollup.objects.exists()
    with pytest.raises(PermissionDenied):
        do_rollback_batch(company.admin, batch)
    # The lead's source is theirs: the company's import of the same rows goes to its own.
    assert do_import_facts(company.admin, orders, "order").status == "rejected"
    again = do_import_facts(company.admin, orders, "order", source="erp")
    assert again.rows_written == 4


def test_rollback_recomputes_first_deals(company, tmp_path):
    customer = Customer.objects.create(code="K1", name="客户一")
    early = write_csv(
        tmp_path / "e.csv", [["单号", "日期", "客户", "金额"], ["K-1", "2024-01-10", "K1", "1"]]
    )
    late = write_csv(tmp_path / "l.csv", [["单号", "日期", "客户", "金额"], ["K-2", "2024-05-10", "K1", "1"]])
    do_import_facts(company.admin, late, "order")
    batch = do_import_facts(company.admin, early, "order").batch_id
    customer.refresh_from_db()
    assert customer.first_deal_date == dt.date(2024, 1, 10)
    do_rollback_batch(company.admin, ImportBatch.objects.get(pk=batch))
    customer.refresh_from_db()
    assert customer.first_deal_date == dt.date(2024, 5, 10)


def test_split_credit_from_a_file(company, tmp_path):
    c = company
    path = write_csv(
        tmp_path / "split.csv",
        [
            HEADER,
            ["S1", "2024-03-01", f"{c.rep_sh1.code}:60%; {c.rep_sh2.code}:40%", "", "", "100"],
            ["S2", "2024-03-01", f"{c.rep_sh1.code}:70;{c.rep_sh2.code}:20", "", "", "1"],
        ],
    )
    result = do_import_facts(c.admin, path, "order")
    assert result.error_count == 1 and "add up to 90" in reasons(result)[0]
    path = write_csv(
        tmp_path / "split2.csv",
        [HEADER, ["S1", "2024-03-01", f"{c.rep_sh2.code}:40%; {c.rep_sh1.code}:60%", "", "", "100"]],
    )
    assert do_import_facts(c.admin, path, "order").ok
    fact = Fact.objects.get(external_id="S1")
    assert fact.person == c.rep_sh1
    assert dict(FactCredit.objects.values_list("person_id", "share_bp")) == {
        c.rep_sh1.pk: 6000,
        c.rep_sh2.pk: 4000,
    }


def test_amount_units_and_exact_totals(company, tmp_path):
    path = write_csv(
        tmp_path / "wan.csv",
        [
            HEADER,
            ["W1", "2024-03-01", company.rep_sh1.code, "", "", "1.23456"],
            ["W2", "2024-03-01", company.rep_sh1.code, "", "", "0.00001"],
        ],
    )
    result = do_import_facts(company.admin, path, "order", unit="wan")
    assert result.ok and result.amount_exact == Decimal("12345.7")
    assert result.amount_total == 1234570 and sorted(Fact.objects.values_list("amount", flat=True)) == [
        10,
        1234560,
    ]


def test_ambiguous_dates_ask_for_the_format(company, tmp_path):
    path = write_csv(tmp_path / "d.csv", [HEADER, ["D1", "03/01/24", company.rep_sh1.code, "", "", "1"]])
    result = do_import_facts(company.admin, path, "order")
    assert result.status == "rejected" and "--date-format" in reasons(result)[0]
    ok = do_import_facts(company.admin, path, "order", date_format="mm/dd/yy")
    assert ok.ok and Fact.objects.get().date == dt.date(2024, 3, 1)


def test_rows_from_the_api_follow_the_same_rules(company):
    rows = [
        {
            "external_id": "X1",
            "date": "2024-03-01",
            "amount": 12.5,
            "credits": [
                {"person": company.rep_sh1.code, "share": 50},
                {"person": company.rep_sh2.code, "share": 50},
            ],
        }
    ]
    result = do_import_fact_rows(company.admin, "order", rows, source="crm")
    assert result.ok and result.amount_total == 1250
    assert FactCredit.objects.count() == 2
    twice = do_import_fact_rows(company.admin, "order", rows, source="crm")
    assert (twice.rows_written, twice.rows_skipped) == (0, 1)


@pytest.mark.parametrize(
    "kind, header, row, fragment",
    [
        (
            "visit",
            ["单号", "日期", "金额"],
            ["V1", "2024-03-01", ""],
            "No column is mapped to the required field Person",
        ),
        (
            "opportunity",
            ["单号", "日期", "销售员", "阶段"],
            ["O1", "2024-03-01", "{rep}", ""],
            "A stage is required",
        ),
        (
            "collection",
            ["单号", "日期", "销售员", "金额"],
            ["C1", "2024-03-01", "{rep}", ""],
            "An amount is required",
        ),
    ],
)
def test_required_fields_per_kind(company, tmp_path, kind, header, row, fragment):
    row = [cell.format(rep=company.rep_sh1.code) for cell in row]
    result = do_import_facts(company.admin, write_csv(tmp_path / "k.csv", [header, row]), kind)
    assert result.status == "rejected" and fragment in reasons(result)[0]


def test_opportunity_stages_are_normalised(company, tmp_path):
    path = write_csv(
        tmp_path / "o.csv",
        [
            ["单号", "日期", "销售员", "阶段", "金额"],
            ["O1", "2024-03-01", company.rep_sh1.code, "赢单", "10"],
            ["O2", "2024-03-01", company.rep_sh1.code, "Negotiation", ""],
        ],
    )
    assert do_import_facts(company.admin, path, "opportunity").ok
    assert dict(Fact.objects.values_list("external_id", "stage")) == {"O1": "won", "O2": "negotiation"}


def test_skipped_rows_do_not_disturb_the_exact_total(company, tmp_path):
    rep = company.rep_sh1.code
    first = write_csv(tmp_path / "a.csv", [HEADER, ["K2", "2024-03-01", rep, "", "", "1.005"]])
    assert do_import_facts(company.admin, first, "order").ok
    mixed = write_csv(
        tmp_path / "b.csv",
        [
            HEADER,
            ["K1", "2024-03-01", rep, "", "", "0.555"],
            ["K2", "2024-03-01", rep, "", "", "1.005"],
            ["K3", "2024-03-01", rep, "", "", "0.555"],
        ],
    )
    result = do_import_facts(company.admin, mixed, "order")
    assert (result.rows_written, result.rows_skipped, result.amount_total) == (2, 1, 111)
    assert result.amount_exact == Decimal("1.110")
    assert sorted(Fact.objects.filter(external_id__in=["K1", "K3"]).values_list("amount", flat=True)) == [
        55,
        56,
    ]


def test_cells_beyond_the_header_are_ignored(company, tmp_path):
    path = write_csv(
        tmp_path / "wide.csv",
        [["单号", "日期", "金额"], ["W1", "2024-03-01", "5", "stray", "P0001"], ["W2", "2024-03-01", "6"]],
    )
    result = do_import_facts(company.admin, path, "order")
    assert result.ok and set(Fact.objects.values_list("person_id", flat=True)) == {None}


def test_a_file_of_many_chunks_is_written_whole_or_not_at_all(company, tmp_path):
    """A first import from a source streams its chunks through one open COPY on PostgreSQL;
    a bad row after several written chunks must still leave nothing behind."""
    from salestarget.actuals.importers import CHUNK

    rep = company.rep_sh1.code
    count = 2 * CHUNK + 123
    rows = [
        [f"S{i}", f"2024-03-{i % 28 + 1:02d}", rep, "", "", f"{i % 997}.{i % 100:02d}"] for i in range(count)
    ]
    bad = [*rows[:-10], [*rows[-10][:5], "十元"], *rows[-9:]]
    before = footprint()
    rejected = do_import_facts(company.admin, write_csv(tmp_path / "bad.csv", [HEADER, *bad]), "order")
    assert rejected.status == "rejected" and [e["row"] for e in rejected.errors] == [count - 8]
    assert footprint() == before
    path = write_csv(tmp_path / "good.csv", [HEADER, *rows])
    applied = do_import_facts(company.admin, path, "order")
    assert applied.status == "applied" and applied.rows_written == count, reasons(applied)
    expected = sum(i % 997 * 100 + i % 100 for i in range(count))
    assert applied.amount_total == expected == Fact.objects.aggregate(s=Sum("amount"))["s"]
    assert rollups.verify() == []
    again = do_import_facts(company.admin, path, "order")
    assert (again.rows_written, again.rows_skipped) == (0, count)


def test_rolling_back_a_fact_batch_removes_what_it_created_unless_in_use(company, tmp_path):
    """--create-missing by mistake: the rollback takes the new products, customers, regions and
    people with the facts; a record a later batch uses stays, and the batch says so."""
    header = ["单号", "日期", "销售员", "产品编码", "产品类别", "客户编码", "区域", "金额"]
    before = footprint()
    first = write_csv(
        tmp_path / "a.csv",
        [header, ["A1", "2024-03-01", "E800", "SKU-1", "硬件/网关", "C-1", "新区", "10"]],
    )
    a = do_import_facts(company.admin, first, "order", create_missing=True)
    assert a.status == "applied" and a.created == {"people": 1, "products": 1, "regions": 1, "customers": 1}
    do_rollback_batch(company.admin, ImportBatch.objects.get(pk=a.batch_id))
    assert footprint() == before
    assert not Product.objects.filter(code__in=["SKU-1", "硬件", "网关"]).exists()

    a = do_import_facts(company.admin, first, "order", create_missing=True)
    second = write_csv(tmp_path / "b.csv", [header, ["B1", "2024-03-02", "E800", "SKU-1", "", "", "", "5"]])
    assert do_import_facts(company.admin, second, "order", source="other").status == "applied"
    batch = do_rollback_batch(company.admin, ImportBatch.objects.get(pk=a.batch_id))
    kept = batch.options["kept_on_rollback"]
    assert any("SKU-1" in k for k in kept) and any("E800" in k for k in kept)
    assert not Customer.objects.filter(code="C-1").exists() and Product.objects.filter(code="SKU-1").exists()


def test_a_key_written_by_someone_else_meanwhile_is_a_clean_rejection(company, tmp_path, monkeypatch):
    """Two first imports from one source at once: the second finds the first's keys only when
    it writes (no lookup was needed when it started), and must say so, not crash."""
    from salestarget.actuals import importers

    path = write_csv(
        tmp_path / "o.csv", [HEADER, ["RACE-1", "2024-03-01", company.rep_sh1.code, "", "", "9"]]
    )
    original = importers.ChunkWriter.insert

    def insert_after_the_other_import(self, rows):
        Fact.objects.create(kind="order", date="2024-03-01", source="file", external_id="RACE-1")
        original(self, rows)

    monkeypatch.setattr(importers.ChunkWriter, "insert", insert_after_the_other_import)
    result = do_import_facts(company.admin, path, "order")
    assert result.status == "rejected" and "at the same time" in reasons(result)[0]
    assert not Fact.objects.filter(external_id="RACE-1").exists()


def test_a_file_cut_off_after_several_chunks_writes_nothing(company, tmp_path):
    """The reader finds the cut while the first import's COPY is still open (PostgreSQL)."""
    from salestarget.actuals.importers import CHUNK
    from tests.actuals.conftest import csv_bytes

    rep = company.rep_sh1.code
    rows = [[f"T{i}", "2024-03-01", rep, "", "", "1"] for i in range(2 * CHUNK + 7)]
    path = tmp_path / "cut.csv"
    path.write_bytes(csv_bytes([HEADER, *rows, ["T-last", "2024-03"]], newline_at_end=False))
    before = footprint()
    result = do_import_facts(company.admin, path, "order")
    assert result.status == "rejected" and any("truncated" in r for r in reasons(result)), reasons(result)
    assert footprint() == before
