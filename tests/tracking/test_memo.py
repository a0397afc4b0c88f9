"""Figures remembered across requests (core.memo): a read after a committed write sees it,
whichever way the write went (a service, a bulk update, raw SQL); reads and the app's own
bookkeeping (sessions, the job queue) keep what is remembered; inside a transaction that has
written, figures are computed afresh. Transactional tests: commits are real here."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salestarget.actuals.services import do_import_fact_rows
from salestarget.actuals.summary import shown
from salestarget.core import memo
from salestarget.core.models import ReadVersion
from salestarget.targets.models import TargetCell
from salestarget.tracking import progress as tracking
from tests.conftest import seed_standard_metrics
from tests.tracking.test_progress import YEAR, frame, month_target, published, sales_rows  # noqa: F401

URL = "/api/v1/tracking/progress"
AS_OF = dt.date(YEAR, 7, 15)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('INSERT INTO "actuals_fact" ("amount") VALUES (%s)', True),
        ('INSERT OR REPLACE INTO "targets_targetcell" VALUES (1)', True),
        ('UPDATE "org_membership" SET "valid_to" = %s', True),
        ('DELETE FROM "targets_targetcell" WHERE "id" IN (1)', True),
        ("WITH moved AS (SELECT 1) INSERT INTO actuals_dailyrollup SELECT * FROM moved", True),
        ('TRUNCATE "actuals_fact", "org_person" RESTART IDENTITY', True),
        ('UPDATE "django_session" SET "session_data" = %s', False),
        ('DELETE FROM "django_session" WHERE "expire_date" < %s', False),
        ('UPDATE "jobs_worker" SET "seen_at" = %s', False),
        ('INSERT INTO "django_tasks_database_dbtaskresult" VALUES (1)', False),
        ('INSERT INTO "axes_accessattempt" VALUES (1)', False),
        ('INSERT INTO "alerts_delivery" VALUES (1)', False),
        ('UPDATE "core_readversion" SET token = %s WHERE id = 1', False),
        ('UPDATE "auth_user" SET "last_login" = %s WHERE "auth_user"."id" = %s', False),
        ('UPDATE "auth_user" SET "last_login" = %s, "is_superuser" = %s WHERE "auth_user"."id" = %s', True),
        ('SELECT "id" FROM "targets_plan" WHERE "id" = 1 FOR UPDATE', False),
        ("  select updated_at from actuals_importbatch", False),
        ('SAVEPOINT "s1_x1"', False),
        ("PRAGMA foreign_keys=ON", False),
    ],
)
def test_which_statements_count_as_writes(sql, expected):
    assert memo.writes(sql) is expected


committed = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plan(request):
    seed_standard_metrics()  # a transactional test's flush removed them
    return request.getfixturevalue("published")


def month_of(client, c, unit) -> dict:
    answer = client.get(URL, {"plan": c.plan.pk, "unit": unit.pk, "period": "month", "as_of": AS_OF})
    assert answer.status_code == 200, answer.content
    return answer.json()["figures"]


def kpi_actual(client, c) -> str:
    page = client.get("/tracking/", {"plan": c.plan.pk, "unit": c.sh.pk, "period": "month", "as_of": AS_OF})
    assert page.status_code == 200
    return re.search(r'data-testid="kpi-actual">([^<]*)<', page.content.decode())[1]


@committed
def test_reads_keep_the_token_and_a_second_read_answers_from_memory(plan, login):
    c = plan
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("admin")
    token = memo.current()
    first = month_of(client, c, c.sh)
    with CaptureQueriesContext(connection) as again:
        second = month_of(client, c, c.sh)
    assert second == first
    page = client.get("/tracking/", {"plan": c.plan.pk, "unit": c.sh.pk, "as_of": AS_OF})
    assert page.status_code == 200
    assert client.get("/tracking/", {"plan": c.plan.pk, "unit": c.sh.pk, "as_of": AS_OF}).status_code == 200
    assert memo.current() == token  # reading wrote nothing a figure reads
    with CaptureQueriesContext(connection) as fresh:
        assert tracking.progress.uncached(c.admin, c.plan, tracking.unit_node(c.sh), "month", AS_OF)
    assert len(again) < len(fresh) / 2, (len(again), len(fresh))


@committed
def test_every_way_of_writing_is_seen_by_the_next_read(plan, login):
    c = plan
    rows = sales_rows(c)
    client = login("admin")
    before = month_of(client, c, c.sh)
    assert before["actual"] == 0 and before["target"] == month_target(20_000_00, 7)
    assert kpi_actual(client, c) == shown(0, c.plan.metric, "zh")

    # A service: an import commits its facts and their rollups.
    assert do_import_fact_rows(c.admin, "order", rows, source="erp").ok
    df = frame(rows)
    july = (df["day"] >= dt.date(YEAR, 7, 1)) & (df["day"] <= AS_OF)
    team = df["person"].isin([c.rep_sh1.code, c.rep_sh2.code])
    assert (
        month_of(client, c, c.sh)["actual"] == int(df[july & team]["fen"].sum()) == 1234567 - 34567 + 4000001
    )

    assert kpi_actual(client, c) == shown(5200001, c.plan.metric, "zh")  # the page, remembered as rendered

    # A bulk update, which sends no save signal.
    cells = TargetCell.objects.filter(unit=c.sh, period_kind="month", period_start=dt.date(YEAR, 7, 1))
    assert cells.update(target=F("target") + 100) == 1
    assert month_of(client, c, c.sh)["target"] == month_target(20_000_00, 7) + 100

    # Raw SQL.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TargetCell._meta.db_table} SET target = target + 1 WHERE id = %s", [cells.get().pk]
        )
    assert month_of(client, c, c.sh)["target"] == month_target(20_000_00, 7) + 101

    # A transaction rolled back changed nothing, and nothing is forgotten.
    token = memo.current()
    with pytest.raises(RuntimeError), transaction.atomic():
        cells.update(target=0)
        raise RuntimeError
    assert memo.current() == token
    assert month_of(client, c, c.sh)["target"] == month_target(20_000_00, 7) + 101


@committed
def test_inside_a_transaction_that_wrote_figures_are_computed_afresh(plan):
    c = plan
    node = tracking.unit_node(c.sh)
    assert tracking.progress(c.admin, c.plan, node, "month", AS_OF)["figures"]["actual"] == 0
    with transaction.atomic():
        assert memo.current() is not None  # nothing written yet
        assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
        assert memo.current() is None
        assert tracking.progress(c.admin, c.plan, node, "month", AS_OF)["figures"]["actual"] == 5200001
    assert memo.current() is not None
    assert tracking.progress(c.admin, c.plan, node, "month", AS_OF)["figures"]["actual"] == 5200001


@committed
def test_bookkeeping_writes_keep_the_token_and_a_missing_row_is_replaced(plan, login):
    from django.contrib.sessions.backends.db import SessionStore

    from salestarget.jobs.models import Worker

    token = memo.current()
    session = SessionStore()
    session["seen"] = 1
    session.save()
    now = timezone.now()
    Worker.objects.create(name="w1", host="h", pid=1, started_at=now, seen_at=now)
    login("lead_sh")  # a sign-in: its session, its last_login, login throttling's log
    assert memo.current() == token
    ReadVersion.objects.all().delete()  # as a test's flush or a partial restore would leave it
    replaced = memo.current()
    assert replaced and replaced != token and memo.current() == replaced


@committed
def test_a_role_taken_away_counts_on_the_next_request(plan, login):
    """A user's scope is remembered too (org.permissions.build_scope): a manager moved out of
    their team by a bulk update, which sends no signal, no longer sees it on the next page."""
    from salestarget.org.models import Membership

    c = plan
    client = login("lead_sh")
    asked = {"plan": c.plan.pk, "unit": c.sh.pk, "period": "month", "as_of": AS_OF}
    assert client.get("/tracking/", asked).status_code == 200
    assert client.get(URL, asked).status_code == 200
    assert client.get("/tracking/", asked).status_code == 200  # remembered
    moved = Membership.objects.filter(person=c.lead_sh, unit=c.sh).update(unit=c.sz)
    assert moved == 1
    assert client.get("/tracking/", asked).status_code == 404
    assert client.get(URL, asked).status_code == 404
