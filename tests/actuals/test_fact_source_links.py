"""实际数据 › 明细: a fact's 来源 links to its import batch only for those who may open that batch
(the batch page's own rule); others read the source as plain text instead of a link to a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.actuals import test_views
from tests.actuals.test_views import user_of

actuals = test_views.actuals  # the fixture: batches of a rep, a lead and the admin

pytestmark = pytest.mark.django_db


def batch_url(batch) -> str:
    return reverse("actuals:batch", kwargs={"pk": batch.pk})


@pytest.mark.parametrize(
    "role, linked, unlinked",
    [
        # A rep sees the admin's ERP batch as text (QA: the demo batch 404'd for a rep).
        ("rep_sz", set(), {"sz"}),
        # A rep's own daily report is their batch: it opens for them.
        ("rep_sh1", {"sh1"}, set()),
        # A manager opens the file they imported, not the batch of their rep's daily report.
        ("lead_sh", {"sh2"}, {"sh1"}),
        ("lead_sz", set(), {"sz"}),
        ("admin", {"sh1", "sh2", "sz"}, set()),
    ],
)
def test_the_source_links_only_to_batches_the_user_may_open(client, actuals, role, linked, unlinked):
    batches = {"sh1": actuals.batch_sh1, "sh2": actuals.batch_sh2, "sz": actuals.batch_sz}
    client.force_login(user_of(actuals, role))
    html = client.get(reverse("actuals:index")).content.decode()
    for name in linked:
        assert f'href="{batch_url(batches[name])}"' in html, name
        assert client.get(batch_url(batches[name])).status_code == 200, name
    for name in unlinked:
        assert f'href="{batch_url(batches[name])}"' not in html, name
        assert client.get(batch_url(batches[name])).status_code == 404, name
    # Every fact on the page still names its source (as a link or as text).
    assert html.count('data-testid="fact-source"') == len(linked) + len(unlinked)


def test_which_batches_open_is_read_once_per_page(client, actuals, django_assert_max_num_queries):
    from salestarget.actuals.services import do_import_fact_rows

    rows = [
        {"external_id": f"M{n}", "date": "2024-03-02", "amount": "1", "person": actuals.rep_sz.code}
        for n in range(30)
    ]
    for n in range(3):  # thirty facts from three more batches
        assert do_import_fact_rows(actuals.admin, "order", rows[n * 10 : (n + 1) * 10], source="erp").ok
    client.force_login(actuals.lead_sz.user)
    client.get(reverse("actuals:index"))  # warm the per-process caches (scope, currency)
    with django_assert_max_num_queries(12) as captured:
        client.get(reverse("actuals:index"))
    batch_reads = [q["sql"] for q in captured.captured_queries if "actuals_importbatch" in q["sql"]]
    assert len(batch_reads) == 1, batch_reads
