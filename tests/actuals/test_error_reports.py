"""What QA found of import errors on the demo (2026-12-04): a rejected batch's page answered 500,
and a failed check in the wizard listed its first 200 errors with no word that the list was cut
and no error report to download (a check records no batch)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salestarget.actuals.importers import MAX_STORED_ERRORS, error_report_csv
from salestarget.jobs.worker import drain
from tests.actuals.test_views import actuals  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_a_rejected_batchs_page_lists_its_errors(client, actuals):  # noqa: F811
    client.force_login(actuals.lead_sh.user)
    page = client.get(reverse("actuals:batch", kwargs={"pk": actuals.rejected.pk}))
    html = page.content.decode()
    assert page.status_code == 200 and "=1+1" in html
    assert 'data-testid="errors-cut"' not in html


def test_a_failed_check_offers_its_error_report(client, company, tmp_path):
    from tests.actuals.conftest import csv_bytes

    client.force_login(company.lead_sh.user)
    rows = [["单号", "日期", "金额"]] + [[f"U{n}", "2024-03-01", "12,3"] for n in range(250)]
    upload = tmp_path / "bad.csv"
    upload.write_bytes(csv_bytes(rows))
    with upload.open("rb") as f:
        url = client.post(reverse("actuals:import"), {"kind": "order", "file": f, "source": "mine"})[
            "Location"
        ]
    form = {"map_external_id": "单号", "map_date": "日期", "map_amount": "金额", "unit": "yuan"}
    client.post(url, {**form, "action": "preview"})
    assert drain() == 1
    page = client.get(url)
    html = page.content.decode()
    assert len(page.context["errors"]) == 200 and page.context["result"]["error_count"] == 250
    assert "此处列出前 200 条；错误报告包含前 1000 条。" in html
    pk = int(url.rstrip("/").split("/")[-1])
    report = reverse("actuals:upload_error_report", kwargs={"pk": pk})
    assert f'href="{report}"' in html
    body = client.get(report).content.decode("utf-8")
    assert body.startswith("\ufeff") and len(body.strip().splitlines()) == 1 + 250
    # Only who may open the upload gets its report.
    client.force_login(company.rep_sh1.user)
    assert client.get(report).status_code in (403, 404)


def test_the_report_says_how_many_errors_it_leaves_out():
    entry = {
        "row": 2,
        "column": "amount",
        "value": "x",
        "message": "“%(value)s” is not a number.",
        "params": {"value": "x"},
    }
    from django.utils import translation

    with translation.override("zh-hans"):
        body = error_report_csv([entry] * MAX_STORED_ERRORS, MAX_STORED_ERRORS + 500).decode("utf-8")
    assert body.strip().splitlines()[-1].endswith("另有 500 条错误未列出。")
    assert len(error_report_csv([entry], 1).decode("utf-8").strip().splitlines()) == 2
