"""Issue 15: the leaderboard (排行榜) with its visibility per plan, a rep's rank, the wallboard
and the plan's tracking lines."""

from __future__ import annotations

import pytest

from salestarget.actuals.services import do_import_fact_rows
from salestarget.core.errors import DomainError
from salestarget.targets.models import Plan
from salestarget.targets.services import do_set_tracking
from tests.tracking.test_progress import published, sales_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/tracking/leaderboard"
AS_OF = "2024-07-15"


def board(client, plan):
    return client.get(URL, {"plan": plan.pk, "period": "month", "as_of": AS_OF})


def lines(**changes):
    return {
        "warning_line_pct": 60,
        "lagging_below_pct": 80,
        "ahead_above_pct": 120,
        "incentive_line_pct": None,
        "ranking": "managers",
        **changes,
    }


def test_managers_only_by_default_and_everyone_when_the_plan_says_so(published, login):  # noqa: F811
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    assert board(login("rep_sh1"), c.plan).status_code == 403
    # Nor does the rep's dashboard link to a leaderboard it would refuse.
    query = {"plan": c.plan.pk, "period": "month", "as_of": AS_OF}
    assert 'data-testid="leaderboard-link"' not in login("rep_sh1").get("/tracking/", query).content.decode()
    lead = board(login("lead_sh"), c.plan).json()
    assert [r["node"]["id"] for r in lead["rows"]] == [c.rep_sh2.pk, c.rep_sh1.pk]  # 50.0% before 15.0%
    assert [r["rank"] for r in lead["rows"]] == [1, 2] and all(r["amounts"] for r in lead["rows"])
    do_set_tracking(c.admin, c.plan, **lines(ranking="everyone"))
    everyone = board(login("rep_sh1"), c.plan).json()
    ranked = {r["node"]["id"]: r for r in everyone["rows"]}
    assert set(ranked) == {c.rep_sh1.pk, c.rep_sh2.pk, c.rep_hz.pk, c.rep_sz.pk}
    assert ranked[c.rep_sh1.pk]["amounts"] and ranked[c.rep_sh1.pk]["figures"]["actual"] == 1200000
    other = ranked[c.rep_sz.pk]
    assert not other["amounts"] and other["figures"]["actual"] is None and other["figures"]["achievement"] > 0
    achievements = [r["figures"]["achievement"] for r in everyone["rows"]]
    assert achievements == sorted(achievements, reverse=True)
    # The rep's own page shows their rank.
    page = login("rep_sh1").get("/tracking/", query).content.decode()
    rank = ranked[c.rep_sh1.pk]["rank"]
    assert f"第 {rank} 名，共 4 人" in page and 'data-testid="leaderboard-link"' in page
    html = (
        login("rep_sh1").get("/tracking/leaderboard/", {"plan": c.plan.pk, "as_of": AS_OF}).content.decode()
    )
    assert c.rep_sz.name in html and "7,777.77" not in html  # another rep's amount is not shown


def test_the_wallboard_shows_the_unit_and_refreshes(published, login):  # noqa: F811
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    page = login("director_east").get("/tracking/wallboard/", {"plan": c.plan.pk, "as_of": AS_OF})
    html = page.content.decode()
    assert page.status_code == 200 and 'http-equiv="refresh"' in html and c.east.name in html
    assert c.sh.name in html and c.hz.name in html  # the teams' bars
    # The top of the leaderboard wears each rep's status colour as the dashboard and the
    # leaderboard do: on track is blue there, so it is not green (ahead) here.
    status = {
        r["node"]["id"]: r["figures"]["status"]
        for r in board(login("director_east"), c.plan).json()["rows"]
        if r["rank"] is not None
    }
    assert status[c.rep_sh2.pk] == "on_track"
    classes = {"on_track": "status-on-track", "lagging": "status-behind", "at_risk": "status-at-risk"}
    for person, s in status.items():
        assert f'text-status {classes.get(s, "status-ahead")}" data-testid="wb-top-{person}"' in html
    assert (
        login("rep_sh1")
        .get("/tracking/wallboard/", {"plan": c.plan.pk, "unit": c.sh.pk, "as_of": AS_OF})
        .status_code
        == 403
    )


def test_tracking_lines_are_checked_and_change_the_status(published, login):  # noqa: F811
    c = published
    with pytest.raises(DomainError):
        do_set_tracking(c.admin, c.plan, **lines(warning_line_pct=90))  # above the lagging line
    with pytest.raises(DomainError):
        do_set_tracking(c.admin, c.plan, **lines(ahead_above_pct=100))
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        do_set_tracking(c.lead_sh.user, c.plan, **lines())
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("admin")
    status = lambda: client.get(  # noqa: E731
        "/api/v1/tracking/progress", {"plan": c.plan.pk, "person": c.rep_sh2.pk, "as_of": AS_OF}
    ).json()["figures"]["status"]
    assert status() == "on_track"  # 40,000.01 against 38,260.87 expected by the 15th: pace 104.5%
    answer = client.post(
        f"/api/v1/targets/plans/{c.plan.pk}/tracking",
        lines(ahead_above_pct=104, lagging_below_pct=95, warning_line_pct=50),
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json()["tracking"]["ahead_above_pct"] == 104
    assert Plan.objects.get(pk=c.plan.pk).history.first().ahead_above_pct == 104
    assert status() == "ahead"
    page = client.post(
        f"/targets/plans/{c.plan.pk}/tracking/", {**lines(), "incentive_line_pct": "", "ranking": "everyone"}
    )
    assert page.status_code == 302 and Plan.objects.get(pk=c.plan.pk).ranking == "everyone"


def test_a_units_wallboard_ranks_the_units_own_people(published, login):  # noqa: F811
    """QA on the demo: the 华东 wallboard's leaderboard listed reps of 广州组 and 天津组, and a
    team's ranked another team's reps first."""
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("admin")

    def top(unit):
        html = client.get("/tracking/wallboard/", {"plan": c.plan.pk, "unit": unit.pk, "as_of": AS_OF})
        return {
            p.pk
            for p in (c.rep_sh1, c.rep_sh2, c.rep_hz, c.rep_sz)
            if f'data-testid="wb-top-{p.pk}"' in html.content.decode()
        }

    assert top(c.hq) == {c.rep_sh1.pk, c.rep_sh2.pk, c.rep_hz.pk, c.rep_sz.pk}
    assert top(c.east) == {c.rep_sh1.pk, c.rep_sh2.pk, c.rep_hz.pk}
    assert top(c.sh) == {c.rep_sh1.pk, c.rep_sh2.pk}
    html = client.get(
        "/tracking/wallboard/", {"plan": c.plan.pk, "unit": c.sh.pk, "as_of": AS_OF}
    ).content.decode()
    assert "1. " + c.rep_sh2.name in html and "2. " + c.rep_sh1.name in html  # ranked within the team


def test_the_dashboard_ranks_its_children_as_the_leaderboard_does(published, login):  # noqa: F811
    """QA on the demo: two reps at 0.0% were 7 and 8 on the dashboard, 7 and 7 on the board."""
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("lead_sh")
    query = {"plan": c.plan.pk, "period": "month", "as_of": "2024-06-03"}  # nobody has sold yet
    board = client.get(URL, query).json()
    assert [r["rank"] for r in board["rows"]] == [1, 1]
    html = client.get("/tracking/", {**query, "unit": c.sh.pk}).content.decode()
    for person in (c.rep_sh1, c.rep_sh2):
        assert f'<tr data-testid="child-person-{person.pk}">\n        <td>1</td>' in html


def test_places_share_ties_and_leave_no_target_unranked():
    from salestarget.tracking.leaderboard import places

    assert places([0.5, 0.3, 0.3, 0.1, None, None]) == [1, 2, 2, 4, None, None]
    assert places([]) == []


@pytest.mark.parametrize("kind", ["month", "quarter", "year", "ytd", "week"])
def test_a_rank_reads_the_periods_cells_and_agrees_with_the_full_figures(published, kind):  # noqa: F811
    """A rank reads only the cells inside its period (62,400 rows for 4,800 reps with twelve
    months each cost a wallboard 300 ms). A rep whose month cells all lie outside it, or who has
    a year cell alone, still gets the target the full figures give."""
    import datetime as dt

    from salestarget.targets.models import TargetCell
    from salestarget.tracking import progress as tracking

    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    primary = {"scenario__plan": c.plan, "period_kind": "month"}
    TargetCell.objects.filter(person=c.rep_sh1, period_start__lt=dt.date(2024, 10, 1), **primary).delete()
    TargetCell.objects.filter(person=c.rep_hz, **primary).delete()  # a year cell alone
    nodes = [tracking.person_node(p) for p in (c.rep_sh1, c.rep_sh2, c.rep_hz, c.rep_sz)]
    as_of = dt.date(2024, 7, 15)
    period, to_date = tracking.resolve_period(kind, as_of)
    ranked = tracking.achievements(c.admin, c.plan, nodes, period, as_of, to_date=to_date)
    full = tracking.figures_for(c.admin, c.plan, nodes, period, as_of, to_date=to_date, chance=False)
    assert ranked == {key: f["achievement"] for key, f in full.items()}
    assert ranked[f"p{c.rep_hz.pk}"] is not None and ranked[f"p{c.rep_sh1.pk}"] is not None
