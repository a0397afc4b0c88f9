"""The actuals pages, tried as anonymous, a rep, another rep, the manager of another unit, the
manager and an admin; plus the daily report and the team's reporting page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salestarget.actuals.models import DailyReport, Fact, ImportBatch
from salestarget.actuals.services import DailyLine, do_import_fact_rows, do_submit_daily_report
from salestarget.actuals.uploads import do_store_upload
from salestarget.catalog.models import Customer
from salestarget.jobs.worker import drain

pytestmark = pytest.mark.django_db
ROLES = ["rep_sh1", "rep_sz", "lead_sz", "lead_sh", "admin"]


@pytest.fixture
def actuals(company):
    """rep_sh1 reports a deal in the daily report (fact "V1"); lead_sh imports one for rep_sh2
    ("V2") and a rejected file; the admin imports one for rep_sz ("V3")."""
    c = company

    def fact(user, person, n, source, amount="10"):
        rows = [{"external_id": f"V{n}", "date": "2024-03-01", "amount": amount, "person": person.code}]
        result = do_import_fact_rows(user, "order", rows, source=source)
        assert result.ok
        return ImportBatch.objects.get(pk=result.batch_id)

    _report, (daily,) = do_submit_daily_report(
        c.rep_sh1.user, day=dt.date(2024, 3, 1), lines=[DailyLine(kind="order", amount=10)], token="t" * 32
    )
    c.batch_sh1 = ImportBatch.objects.get(pk=daily.batch_id)
    Fact.objects.filter(batch=c.batch_sh1).update(external_id="V1")
    c.batch_sh2 = fact(c.lead_sh.user, c.rep_sh2, 2, "lead-sheet")
    c.batch_sz = fact(c.admin, c.rep_sz, 3, "erp")
    rejected = do_import_fact_rows(
        c.lead_sh.user,
        "order",
        [{"external_id": "X", "date": "2024-03-01", "amount": "=1+1"}],
        source="lead-sheet",
    )
    c.rejected = ImportBatch.objects.get(pk=rejected.batch_id)
    c.upload_sh = do_store_upload(
        c.lead_sh.user, SimpleUploadedFile("s.csv", b"date,amount\r\n2024-03-01,1\r\n"), kind="order"
    )
    # As a failed check leaves it: its errors, for the check's error report.
    c.upload_sh.result = {"error_count": 1, "errors": [dict(rejected.errors[0])]}
    c.upload_sh.save(update_fields=["result"])
    return c


def user_of(company, role):
    return company.admin if role == "admin" else getattr(company, role).user


PAGES = {
    # name -> (kwargs, {role: status})
    "actuals:index": (lambda c: {}, dict.fromkeys(ROLES, 200)),
    "actuals:batches": (lambda c: {}, dict.fromkeys(ROLES, 200)),
    "actuals:batch": (
        lambda c: {"pk": c.batch_sh1.pk},
        {"rep_sh1": 200, "rep_sz": 404, "lead_sz": 404, "lead_sh": 404, "admin": 200},
    ),
    "actuals:error_report": (
        lambda c: {"pk": c.rejected.pk},
        {"rep_sh1": 404, "rep_sz": 404, "lead_sz": 404, "lead_sh": 200, "admin": 200},
    ),
    "actuals:rollback": (lambda c: {"pk": c.batch_sh1.pk}, dict.fromkeys(ROLES, 405)),
    # Reps record their results in the daily report; importing files is for managers and up.
    "actuals:import": (
        lambda c: {},
        {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 200, "lead_sh": 200, "admin": 200},
    ),
    "actuals:import_map": (
        lambda c: {"pk": c.upload_sh.pk},
        {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 404, "lead_sh": 200, "admin": 200},
    ),
    "actuals:upload_error_report": (
        lambda c: {"pk": c.upload_sh.pk},
        {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 404, "lead_sh": 200, "admin": 200},
    ),
    "actuals:import_progress": (
        lambda c: {"pk": c.upload_sh.pk},
        {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 404, "lead_sh": 204, "admin": 204},
    ),
    # Master-data templates are for those who import master data (fact templates: managers too).
    "actuals:template": (
        lambda c: {"kind": "people"},
        {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 403, "lead_sh": 403, "admin": 200},
    ),
    "actuals:daily": (
        lambda c: {},
        {"rep_sh1": 200, "rep_sz": 200, "lead_sz": 200, "lead_sh": 200, "admin": 403},
    ),
    "actuals:unreported": (
        lambda c: {},
        {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 200, "lead_sh": 200, "admin": 200},
    ),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_for_every_role(client, actuals, name):
    kwargs, expected = PAGES[name]
    url = reverse(name, kwargs=kwargs(actuals))
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for role in ROLES:
        client.force_login(user_of(actuals, role))
        assert client.get(url).status_code == expected[role], f"{role} GET {url}"


@pytest.mark.parametrize(
    "role, visible",
    [
        ("rep_sh1", {"V1"}),
        ("rep_sz", {"V3"}),
        ("lead_sz", {"V3"}),
        ("lead_sh", {"V1", "V2"}),
        ("admin", {"V1", "V2", "V3"}),
    ],
)
def test_the_facts_list_is_scoped(client, actuals, role, visible):
    client.force_login(user_of(actuals, role))
    page = client.get(reverse("actuals:index"))
    assert {f.external_id for f in page.context["page"]} == visible


@pytest.mark.parametrize(
    "role, visible",
    [
        ("rep_sh1", {"sh1"}),
        ("rep_sz", set()),
        ("lead_sh", {"sh2", "rejected"}),
        ("admin", {"sh1", "sh2", "sz", "rejected"}),
    ],
)
def test_the_batch_list_shows_ones_own_imports(client, actuals, role, visible):
    names = {
        actuals.batch_sh1.pk: "sh1",
        actuals.batch_sh2.pk: "sh2",
        actuals.batch_sz.pk: "sz",
        actuals.rejected.pk: "rejected",
    }
    client.force_login(user_of(actuals, role))
    page = client.get(reverse("actuals:batches"))
    assert {names[b.pk] for b in page.context["page"]} == visible


def test_rollback_needs_post_csrf_and_the_right_person(actuals):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(actuals.rep_sh1.user)
    url = reverse("actuals:rollback", kwargs={"pk": actuals.batch_sh1.pk})
    assert strict.post(url).status_code == 403
    client = Client()
    client.force_login(actuals.lead_sh.user)
    assert client.post(url).status_code == 404
    client.force_login(actuals.rep_sh1.user)
    assert client.post(url).status_code == 302
    actuals.batch_sh1.refresh_from_db()
    assert actuals.batch_sh1.status == "rolled_back" and not Fact.objects.filter(external_id="V1").exists()
    admin = Client()
    admin.force_login(actuals.admin)
    sz = reverse("actuals:rollback", kwargs={"pk": actuals.batch_sz.pk})
    assert admin.post(sz).status_code == 302 and not Fact.objects.filter(external_id="V3").exists()


def test_the_error_report_is_excel_ready_and_defused(client, actuals):
    client.force_login(actuals.lead_sh.user)
    response = client.get(reverse("actuals:error_report", kwargs={"pk": actuals.rejected.pk}))
    body = response.content.decode("utf-8")
    assert response["Content-Type"].startswith("text/csv") and body.startswith("\ufeff")
    assert ",'=1+1," in body
    assert not any(cell.startswith("=") for line in body.splitlines() for cell in line.split(","))


def test_upload_flow_with_mapping_and_rejection(client, company, tmp_path):
    from tests.actuals.conftest import csv_bytes

    client.force_login(company.lead_sh.user)
    content = csv_bytes(
        [["单号", "日期", "金额"], ["U1", "2024-03-01", "12.30"], ["U2", "2024-03-01", "12,3"]]
    )
    upload = tmp_path / "mine.csv"
    upload.write_bytes(content)
    with upload.open("rb") as f:
        response = client.post(reverse("actuals:import"), {"kind": "order", "file": f, "source": "mine"})
    url = response["Location"]
    form = {"map_external_id": "单号", "map_date": "日期", "map_amount": "金额", "unit": "yuan"}
    assert client.post(url, {**form, "action": "preview"})["Location"] == url
    waiting = client.get(url)
    assert waiting.templates[0].name == "actuals/import_progress.html"
    assert waiting.context["no_worker"]  # nothing runs it yet, and the page says so
    assert drain() == 1
    preview = client.get(url)
    assert preview.context["result"]["status"] == "rejected" and preview.context["errors"][0]["row"] == 3
    assert "create_missing" not in preview.context["form"].fields
    assert preview.context["form"]["map_amount"].value() == "金额"  # the choice survives the check
    assert client.post(url, {**form, "action": "confirm"})["Location"] == url
    drain()
    done = client.get(url)
    batch = ImportBatch.objects.get(pk=int(done["Location"].rstrip("/").split("/")[-1]))
    assert (batch.status, batch.created_by) == ("rejected", company.lead_sh.user)
    assert not Fact.objects.exists()


def test_master_data_uploads_are_for_admins(client, company):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(company.lead_sh.user)
    file = SimpleUploadedFile("r.csv", b"code,name\r\nR1,R\r\n")
    response = client.post(reverse("actuals:import"), {"kind": "regions", "file": file, "source": "file"})
    assert response.status_code == 200 and "kind" in response.context["form"].errors


# On a working day (a Wednesday): the team page opens on today, and yesterday is a working day too.
@time_machine.travel(dt.datetime(2024, 3, 13, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
def test_the_daily_report(client, company):
    c = company
    client.force_login(c.rep_sh1.user)
    page = client.get(reverse("actuals:daily"))
    token = page.context["form"].initial["token"]
    data = {"day": timezone.localdate().isoformat(), "token": token, "note": "拜访顺利"}
    for kind in ("order", "opportunity", "collection", "visit"):
        data.update(
            {
                f"{kind}-TOTAL_FORMS": "3",
                f"{kind}-INITIAL_FORMS": "0",
                f"{kind}-MIN_NUM_FORMS": "0",
                f"{kind}-MAX_NUM_FORMS": "30",
            }
        )
    data.update(
        {
            "order-0-customer": "新客户甲",
            "order-0-product": "P1",
            "order-0-amount": "1200.50",
            "order-0-quantity": "2",
            "opportunity-0-customer": "新客户甲",
            "opportunity-0-amount": "50000",
            "opportunity-0-stage": "proposal",
            "visit-0-customer": "新客户甲",
            "visit-1-customer": "老客户乙",
        }
    )
    response = client.post(reverse("actuals:daily"), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    facts = Fact.objects.filter(source="daily", person=c.rep_sh1)
    assert sorted(facts.values_list("kind", flat=True)) == ["opportunity", "order", "visit", "visit"]
    assert facts.get(kind="order").amount == 120050 and facts.get(kind="order").product == c.product
    customer = Customer.objects.get(name="新客户甲")
    assert customer.owner == c.rep_sh1 and customer.first_deal_date == timezone.localdate()
    assert DailyReport.objects.get(person=c.rep_sh1).note == "拜访顺利"
    client.post(reverse("actuals:daily"), data)
    assert Fact.objects.filter(source="daily").count() == 4

    lead = Client()
    lead.force_login(c.lead_sh.user)
    team = lead.get(reverse("actuals:unreported"))
    missing = {m["membership"].person for m in team.context["missing"]}
    done = {d["membership"].person for d in team.context["done"]}
    assert done == {c.rep_sh1} and missing == {c.rep_sh2}
    assert team.context["done"][0]["totals"]["deals"] == 120050
    yesterday = lead.get(
        reverse("actuals:unreported"), {"day": (timezone.localdate() - dt.timedelta(days=1)).isoformat()}
    )
    assert {m["membership"].person for m in yesterday.context["missing"]} == {c.rep_sh1, c.rep_sh2}


def test_a_refused_daily_line_saves_nothing(client, company):
    client.force_login(company.rep_sh1.user)
    data = {"day": (timezone.localdate() + dt.timedelta(days=1)).isoformat(), "token": "t" * 32}
    for kind in ("order", "opportunity", "collection", "visit"):
        data.update({f"{kind}-TOTAL_FORMS": "1", f"{kind}-INITIAL_FORMS": "0"})
    data["order-0-customer"] = "甲"
    response = client.post(reverse("actuals:daily"), data)
    assert response.status_code == 200
    assert "day" in response.context["form"].errors
    assert not Fact.objects.exists() and not DailyReport.objects.exists()


def test_abandoned_uploads_are_swept(client, company, tmp_path, settings):
    import os

    from django.core.files.uploadedfile import SimpleUploadedFile

    from salestarget.actuals import uploads
    from salestarget.actuals.models import Upload

    settings.MEDIA_ROOT = str(tmp_path)
    old = tmp_path / "imports" / "abandoned"
    old.mkdir(parents=True)
    (old / "x.csv").write_text("x")
    os.utime(old, (0, 0))
    client.force_login(company.lead_sh.user)
    file = SimpleUploadedFile("n.csv", b"date,amount\r\n2024-03-01,1\r\n")
    response = client.post(reverse("actuals:import"), {"kind": "order", "file": file, "source": "file"})
    assert response.status_code == 302
    fresh = Upload.objects.get()
    uploads.sweep()
    assert not old.exists() and os.path.exists(fresh.path)
    uploads.sweep(now=timezone.now() + dt.timedelta(days=2))
    fresh.refresh_from_db()
    assert fresh.path == "" and not list((tmp_path / "imports").iterdir())


def test_a_master_batch_page_lists_its_changes_and_rolls_them_back(client, company, tmp_path):
    from salestarget.actuals.services import do_import_master
    from salestarget.catalog.models import Region
    from tests.actuals.conftest import write_csv

    path = write_csv(tmp_path / "r.csv", [["code", "name"], ["NEW", "新区域"], [company.shanghai.code, "沪"]])
    batch = do_import_master(company.admin, path, "regions").batch_id
    client.force_login(company.admin)
    page = client.get(reverse("actuals:batch", kwargs={"pk": batch}))
    html = page.content.decode()
    assert 'data-testid="master-changes"' in html and "新区域" in html and "沪" in html
    assert "主数据导入 (master)" in html
    assert "Put back every record this batch created or changed?" in html or "恢复" in html
    Region.objects.filter(code="NEW").update(name="改过")
    refused = client.post(reverse("actuals:rollback", kwargs={"pk": batch}), follow=True)
    assert "改过" in refused.content.decode() and Region.objects.filter(code="NEW").exists()
    Region.objects.filter(code="NEW").update(name="新区域")
    done = client.post(reverse("actuals:rollback", kwargs={"pk": batch}), follow=True)
    assert ImportBatch.objects.get(pk=batch).status == "rolled_back"
    assert not Region.objects.filter(code="NEW").exists()
    assert Region.objects.get(pk=company.shanghai.pk).name == company.shanghai.name
    assert done.status_code == 200


def test_the_mapping_page_proposes_order_and_line_for_a_line_level_export(client, company):
    """Issue 12, item 14: the web's guess checks its external id on the first rows too."""
    lines = ["Order No,Item No,Date,Sales"] + [
        f"SO{n // 3},{n % 3 + 1},2024-03-01,{n + 1}" for n in range(12)
    ]
    client.force_login(company.admin)
    file = SimpleUploadedFile("lines.csv", ("\r\n".join(lines) + "\r\n").encode())
    url = client.post(reverse("actuals:import"), {"kind": "order", "file": file, "source": "erp"})["Location"]
    page = client.get(url)
    initial = page.context["form"].initial
    assert (initial["map_external_id"], initial["map_external_id_2"]) == ("Order No", "Item No")
    assert "Order No+Item No" in page.content.decode()  # and the page says why
