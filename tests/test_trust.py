"""Issue 10's findings about writes, sources, disclosure and roles, one regression test each
(the file, number and operations findings live in tests/actuals/test_bad_input.py and
tests/test_operations.py; the role x URL table in tests/test_roles.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse

from salestarget.accounts.models import ApiToken
from salestarget.actuals import rollups
from salestarget.actuals.models import DailyRollup, Fact, FactSource, ImportBatch
from salestarget.actuals.services import do_import_fact_rows, do_import_facts, do_rollback_batch
from salestarget.org.models import RoleAssignment
from salestarget.org.permissions import Action, scope_of
from tests.actuals.conftest import write_csv
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BULK = "/api/v1/actuals/facts/bulk"


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English, the msgids (the zh catalogue translates them)."""
    settings.LANGUAGE_CODE = "en"


def post(client, user, body, raw=None):
    if raw is None:
        _token, raw = ApiToken.issue(user, "t")
    return client.post(
        BULK, body, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
    )


def erp_file(tmp_path, amount="500000.00"):
    return write_csv(tmp_path / "erp.csv", [["单号", "日期", "金额"], ["SO-2026-0001", "2026-01-05", amount]])


# --- overflow ------------------------------------------------------------------------------


def test_huge_amounts_are_row_errors_and_the_home_page_stays_up(client, company):
    rows = [{"external_id": f"H{n}", "date": "2026-01-05", "amount": "90000000000000000"} for n in range(2)]
    response = post(client, company.lead_sh.user, {"kind": "order", "source": "sheet", "rows": rows})
    assert response.status_code == 422
    assert {e["row"] for e in response.json()["errors"]} == {1, 2}
    assert not Fact.objects.exists()
    for username in ("admin", "vp", "lead_sh"):
        client.force_login(company.admin if username == "admin" else getattr(company, username).user)
        assert client.get("/").status_code == 200


def test_a_batch_that_adds_up_past_the_limit_writes_nothing(company):
    # 10^13 yuan is 10^15 fen, the most one row may hold; 101 of them pass 10^17.
    rows = [{"external_id": f"B{n}", "date": "2026-01-05", "amount": "10000000000000"} for n in range(101)]
    result = do_import_fact_rows(company.admin, "order", rows, source="erp")
    assert result.status == "rejected" and "add up to more" in result.errors[0]["message"]
    assert not Fact.objects.exists() and not DailyRollup.objects.exists()


def test_the_company_total_stays_within_64_bits(client, company):
    one = [{"external_id": "", "date": "2026-01-05", "amount": "10000000000000"}] * 100
    for batch in range(10):
        rows = [{**r, "external_id": f"T{batch}-{n}"} for n, r in enumerate(one)]
        assert do_import_fact_rows(company.admin, "order", rows, source="erp").ok
    rows = [{**r, "external_id": f"T10-{n}"} for n, r in enumerate(one)]
    assert do_import_fact_rows(company.admin, "order", rows, source="erp").status == "rejected"
    assert rollups.verify() == []
    # Each batch keeps its magnitude; a rolled-back batch no longer counts.
    applied = ImportBatch.objects.filter(status="applied")
    assert sorted(set(applied.values_list("magnitude", flat=True))) == [10**17]
    do_rollback_batch(company.admin, applied.first())
    assert do_import_fact_rows(company.admin, "order", rows, source="erp").ok
    client.force_login(company.admin)
    assert client.get("/").status_code == 200


# --- sources -------------------------------------------------------------------------------


def test_a_rep_cannot_pre_claim_an_erp_key(client, company, tmp_path):
    """The finding: a rep's {"source":"erp","external_id":"SO-2026-0001","amount":"1"} made the
    ERP's real row of 500,000.00 be skipped as "already imported"."""
    claim = {
        "kind": "order",
        "source": "erp",
        "rows": [{"external_id": "SO-2026-0001", "date": "2026-01-05", "amount": "1"}],
    }
    assert post(client, company.rep_sh1.user, claim).status_code == 403
    result = do_import_facts(None, erp_file(tmp_path), "order", source="erp")
    assert (result.rows_written, result.rows_skipped) == (1, 0)
    assert Fact.objects.get(external_id="SO-2026-0001").amount == 50_000_000


def test_a_manager_cannot_write_or_probe_the_companys_source(client, company, tmp_path):
    do_import_facts(None, erp_file(tmp_path), "order", source="erp")
    answers = []
    for key in ("SO-2026-0001", "SO-NOT-THERE"):
        body = {
            "kind": "order",
            "source": "erp",
            "dry_run": True,
            "rows": [{"external_id": key, "date": "2026-01-05", "amount": "1"}],
        }
        response = post(client, company.lead_sh.user, body)
        assert response.status_code == 422
        data = response.json()
        answers.append((data["rows_skipped"], data["errors"][0]["reason"]))
    # The same answer whether or not the company has the key: nothing is told.
    assert answers[0] == answers[1] and answers[0][0] == 0
    assert "belongs to another importer" in answers[0][1]
    assert Fact.objects.get(external_id="SO-2026-0001").amount == 50_000_000


def test_a_managers_source_is_theirs_and_a_dry_run_claims_nothing(client, company, tmp_path):
    body = {
        "kind": "order",
        "source": "mine",
        "rows": [{"external_id": "K1", "date": "2026-01-05", "amount": "1"}],
    }
    assert post(client, company.lead_sh.user, {**body, "dry_run": True}).status_code == 200
    assert not FactSource.objects.filter(name="mine").exists()
    assert post(client, company.lead_sh.user, body).status_code == 200
    assert FactSource.objects.get(name="mine").owner == company.lead_sh.user
    # Someone else — another lead, or the company — is refused, and told why.
    other = post(client, company.lead_sz.user, {**body, "rows": [{**body["rows"][0], "person": ""}]})
    assert other.status_code == 422 and "belongs to another importer" in other.json()["errors"][0]["reason"]
    refused = do_import_facts(company.admin, erp_file(tmp_path), "order", source="mine")
    assert (
        refused.status == "rejected" and ImportBatch.objects.filter(status="rejected", source="mine").exists()
    )


def test_the_apps_own_sources_are_written_by_the_app_only(client, company):
    body = {
        "kind": "order",
        "source": "daily",
        "rows": [{"external_id": "D1", "date": "2026-01-05", "amount": "1"}],
    }
    response = post(client, company.lead_sh.user, body)
    assert response.status_code == 422 and "the app's own" in response.json()["errors"][0]["reason"]
    assert do_import_fact_rows(company.admin, "order", body["rows"], source="daily").status == "rejected"


def test_an_integrations_source_is_bound_to_its_token(client, company, capsys):
    call_command("token", "admin", "ERP nightly", "--source", "erp")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(name="ERP nightly")
    assert FactSource.objects.get(name="erp").token == token
    row = {"external_id": "E1", "date": "2026-01-05", "amount": "1", "person": company.rep_sh1.code}
    ok = post(client, None, {"kind": "order", "rows": [row]}, raw=raw)  # the token's source by default
    assert ok.status_code == 200, ok.content
    assert Fact.objects.get(external_id="E1").source == "erp"
    # The token writes its own source only; the same admin with another token may not write it.
    elsewhere = post(client, None, {"kind": "order", "source": "crm", "rows": [row]}, raw=raw)
    assert elsewhere.status_code == 422 and "erp" in elsewhere.json()["errors"][0]["reason"]
    other_token = post(
        client, company.admin, {"kind": "order", "source": "erp", "rows": [{**row, "external_id": "E2"}]}
    )
    assert other_token.status_code == 422
    assert list(Fact.objects.values_list("external_id", flat=True)) == ["E1"]


# --- roles ---------------------------------------------------------------------------------


def test_sales_operations_and_viewers_reach_what_their_role_gives(company, tmp_path):
    ops, finance = UserFactory(username="ops"), UserFactory(username="finance")
    RoleAssignment.objects.create(user=ops, role="ops")
    RoleAssignment.objects.create(user=finance, role="viewer")
    path = erp_file(tmp_path)
    assert do_import_facts(ops, path, "order", source="erp").ok
    with pytest.raises(PermissionDenied):
        do_import_facts(finance, path, "order", source="finance")
    assert Fact.objects.restrict(finance).count() == 1
    assert not Fact.objects.restrict(finance, Action.CHANGE).exists()
    assert scope_of(ops).can_everywhere(Action.IMPORT) and not scope_of(ops).can(Action.CONFIGURE)


def test_the_admin_gives_roles_in_the_app(client, company):
    client.force_login(company.lead_sh.user)
    assert client.get(reverse("accounts:users")).status_code == 403
    client.force_login(company.admin)
    page = client.get(reverse("accounts:users"))
    assert page.status_code == 200 and "lead_sh" in page.content.decode()
    created = client.post(
        reverse("accounts:users"), {"username": "cfo", "password": "a-long-Passphrase-9", "person": ""}
    )
    assert created.status_code == 302
    from django.contrib.auth import get_user_model

    cfo = get_user_model().objects.get(username="cfo")
    saved = client.post(
        reverse("accounts:user", kwargs={"pk": cfo.pk}),
        {"roles": "1", "active": "on", "viewer": "on", "viewer_unit": company.east.pk},
    )
    assert saved.status_code == 302
    assert RoleAssignment.objects.get(user=cfo).unit == company.east
    reach = scope_of(get_user_model().objects.get(pk=cfo.pk)).reach(Action.VIEW)
    assert reach.paths == (company.east.path,) and not scope_of(cfo).can(Action.IMPORT)
    # An administrator cannot lock themselves out.
    self_edit = client.post(
        reverse("accounts:user", kwargs={"pk": company.admin.pk}), {"roles": "1", "active": "on"}
    )
    assert self_edit.status_code == 200 and get_user_model().objects.get(pk=company.admin.pk).is_superuser


def test_the_admin_unlocks_a_locked_out_account_on_its_page(client, company):
    from axes.models import AccessAttempt
    from django.test import Client

    visitor = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(6):
        visitor.post(reverse("login"), {"username": "rep_sh1", "password": "wrong"})
    assert (
        visitor.post(reverse("login"), {"username": "rep_sh1", "password": company.password}).status_code
        == 429
    )
    client.force_login(company.admin)
    url = reverse("accounts:user", kwargs={"pk": company.rep_sh1.user.pk})
    assert "Unlock sign-in" in client.get(url).content.decode()
    assert client.post(url, {"unlock": "1"}).status_code == 302
    assert not AccessAttempt.objects.filter(username="rep_sh1").exists()
    assert (
        visitor.post(reverse("login"), {"username": "rep_sh1", "password": company.password}).status_code
        == 302
    )
