"""Issue 15 on the generated demo company: every figure the progress endpoint returns equals an
independent computation over the raw rows (pandas over the order facts, the plan's cells read as
rows), to the fen, under owner and under territory credit.

The hand-made fixture of test_progress.py has a handful of rows and Superstore has no team tree;
the demo has both at once — years of history, four regions of teams, reps who moved team or left,
territories held at province and region level, and a plan whose reps have year cells only — so
the engine's rules for targets, expected-to-date, comparisons and the chance's spread are checked
here on data shaped like a real company's. Nothing below asks the code under test for an expected
figure: only the company's working-day calendar is taken from the engine.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.test import Client, override_settings
from scipy.stats import norm

from salestarget.actuals.models import Fact
from salestarget.catalog.models import Region
from salestarget.demo.generator import generate
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import Membership, OrgUnit, TerritoryAssignment
from salestarget.targets.models import TargetCell
from salestarget.tracking.progress import in_force

URL = "/api/v1/tracking/progress"
TODAY = dt.date(2026, 11, 25)
AS_OF = dt.date(2026, 11, 24)
LEVELS = ("floor", "target", "stretch")
# The periods holding AS_OF (the demo's fiscal year is the calendar year), their previous
# periods, and their length in months (a longer period averages a month's variation out).
PERIODS = {
    "month": (
        (dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        (dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        1,
    ),
    "quarter": (
        (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
        3,
    ),
    "year": ((dt.date(2026, 1, 1), dt.date(2026, 12, 31)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31)), 12),
}
PERIODS["ytd"] = PERIODS["year"]
# The chance's spread (engine/pace.py: SPREAD, MIN_HISTORY, HISTORY_FACTOR).
POOLED_SPREAD, MIN_HISTORY, HISTORY_FACTOR = 0.45, 6, 0.75
RATIOS = ("achievement", "time_progress", "expected_share", "pace", "change_last_year", "change_previous")


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The small demo company and an administrator, shared by the class's tests, rolled back after."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        summary = generate(today=TODAY)
        admin = get_user_model().objects.create_superuser("tracking_admin", "admin@example.invalid", None)
        yield SimpleNamespace(summary=summary, admin=admin)
        transaction.set_rollback(True)


# --- the raw rows ------------------------------------------------------------------------------


def half_up(x: Fraction) -> int:
    """Commercial rounding of an exact amount (0.5 fen up)."""
    return math.floor(x + Fraction(1, 2))


def day(d: dt.date) -> np.datetime64:
    return np.datetime64(d, "D")


def order_facts() -> pd.DataFrame:
    rows = Fact.objects.filter(kind="order").values(
        "id", "date", "amount", "person_id", "unit_id", "region_id"
    )
    df = pd.DataFrame.from_records(rows)
    df["day"] = pd.to_datetime(df["date"]).values.astype("datetime64[D]")
    return df


def window(df: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    return (df["day"] >= day(start)) & (df["day"] <= day(end))


def add_months(d: dt.date, n: int) -> dt.date:
    months = d.year * 12 + d.month - 1 + n
    return dt.date(months // 12, months % 12 + 1, 1)


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    out, month = [], start.replace(day=1)
    while month <= end:
        out.append(month)
        month = add_months(month, 1)
    return out


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def year_before(d: dt.date) -> dt.date:
    return d.replace(year=d.year - 1) if (d.month, d.day) != (2, 29) else d.replace(year=d.year - 1, day=28)


def subtree(unit: OrgUnit) -> list[int]:
    return list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", flat=True))


# --- the plan's cells --------------------------------------------------------------------------


def plan_cells(plan) -> pd.DataFrame:
    """The primary scenario's cells over all products, regions and segments."""
    rows = TargetCell.objects.filter(
        scenario__plan=plan, scenario__is_primary=True, product=None, region=None, segment=None
    ).values("unit_id", "person_id", "period_kind", "period_start", *LEVELS)
    return pd.DataFrame.from_records(rows)


def cells_of(cells: pd.DataFrame, node) -> pd.DataFrame:
    if node.kind == "person":
        return cells[cells["person_id"] == node.pk]
    return cells[(cells["unit_id"] == node.pk) & cells["person_id"].isna()]


def month_levels(mine: pd.DataFrame, month: dt.date, plan, cal) -> dict:
    """A month's floor/target/stretch: its own cell, else its part of the plan period's cell
    split over the plan's months by working days with the largest remainder (the demo's reps
    have year cells only, and their months must add up to that cell), else nothing."""
    own = mine[(mine["period_kind"] == "month") & (mine["period_start"] == month)]
    if len(own):
        return {level: int(own.iloc[0][level]) for level in LEVELS}
    whole = mine[(mine["period_kind"] == plan.period_kind) & (mine["period_start"] == plan.period_start)]
    if not len(whole):
        return dict.fromkeys(LEVELS)
    months = month_starts(plan.period_start, plan.period_end)
    days = [cal.working_days_between(m, month_end(m)) for m in months]
    return {level: hamilton(int(whole.iloc[0][level]), days)[months.index(month)] for level in LEVELS}


def hamilton(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder apportionment, written out: floors, then one more to the largest
    remainders (ties to the earlier month)."""
    quotas = [Fraction(total * w, sum(weights)) for w in weights]
    out = [math.floor(q) for q in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def period_levels(mine: pd.DataFrame, kind: str, start: dt.date, by_month: list[dict]) -> dict:
    """A period's floor/target/stretch: the period's own cell when the plan has one (a rep's
    year), else the sum of its months'."""
    own = mine[(mine["period_kind"] == kind) & (mine["period_start"] == start)]
    if len(own):
        return {level: int(own.iloc[0][level]) for level in LEVELS}
    return {
        level: None if all(b[level] is None for b in by_month) else sum(b[level] or 0 for b in by_month)
        for level in LEVELS
    }


# --- the figures -------------------------------------------------------------------------------


def expected_figures(df, mask, mine, kind, plan, cal) -> dict:
    """Every figure of one node (its credited rows ``mask``, its cells ``mine``) for a period."""
    (start, end), (prev_start, prev_end), n_months = PERIODS[kind]
    until = min(AS_OF, end)
    to_date = kind == "ytd"

    def credited(a: dt.date, b: dt.date) -> int:
        return int(df.loc[mask & window(df, a, b), "amount"].sum())

    actual = credited(start, until)
    # Targets by month: what the plan expects is even per working day within a month and follows
    # the months' targets between them.
    months = month_starts(start, end)
    by_month = [month_levels(mine, m, plan, cal) for m in months]
    levels = period_levels(mine, "year" if to_date else kind, start, by_month)
    days = [cal.working_days_between(m, month_end(m)) for m in months]
    elapsed = [cal.working_days_between(m, min(month_end(m), until)) if m <= until else 0 for m in months]
    weights = [max(0, b["target"] or 0) for b in by_month]
    if not sum(weights):
        weights = days
    share = sum(Fraction(w * e, d) for w, e, d in zip(weights, elapsed, days, strict=True)) / sum(weights)
    if to_date:
        # Read to date: the target is what the plan expected by now, and the period ends today.
        levels = {k: None if v is None else half_up(v * share) for k, v in levels.items()}
        days, share = elapsed, Fraction(1)
    target = levels["target"]
    total_days, elapsed_days = sum(days), sum(elapsed)
    remaining = total_days - elapsed_days

    finished = until >= end  # then against the whole of last year's period and of the previous one
    last_year = credited(
        year_before(start),
        year_before(end + dt.timedelta(days=1)) - dt.timedelta(days=1) if finished else year_before(until),
    )
    previous = credited(prev_start, prev_end if finished else min(prev_end, prev_start + (until - start)))
    out = {
        "actual": actual,
        **levels,
        "until": until.isoformat(),
        "time_progress": Fraction(elapsed_days, total_days),
        "expected_share": share,
        "remaining_days": remaining,
        # Read to date, the period ends today: nothing to project to its end.
        "run_rate": None if to_date else half_up(Fraction(actual * total_days, elapsed_days)),
        "seasonal": None if to_date else half_up(actual / share),
        "last_year": last_year,
        "change_last_year": Fraction(actual - last_year, last_year) if last_year else None,
        "previous": previous,
        "change_previous": Fraction(actual - previous, previous) if previous else None,
        "incentive": plan.incentive_line_pct is not None
        and target is not None
        and actual * 100 >= target * plan.incentive_line_pct,
    }
    # What the node's 24 months before the period expect of it: where the projection starts.
    history = [credited(m, month_end(m)) for m in month_starts(add_months(start, -24), add_months(start, -1))]
    prior = None if to_date else history_prior(history, n_months)
    out["prior"] = prior
    if target is None:
        none = ("achievement", "gap", "expected_to_date", "pace", "projection", "chance", "required_per_day")
        return out | dict.fromkeys(none) | {"status": "no_target"}
    expected = half_up(target * share)
    pace = Fraction(actual, expected) if expected else None
    out |= {
        "achievement": Fraction(actual, target),
        "gap": target - actual,
        "expected_to_date": expected,
        "pace": pace,
        "required_per_day": -(-max(0, target - actual) // remaining) if remaining else None,
        "status": status(actual, target, expected, pace, plan),
    }
    if to_date:
        return out | {"projection": None, "chance": None}
    # The chance: a blended projection that starts from what the node's 24 months before the
    # period expect of it (the target where they cannot say), the pace so far against that trusted
    # with weight s², s the share of the period's volume seen, and a normal around it whose sd
    # shrinks with √(1 - s).
    spread = spread_of(history[12:], n_months)
    base = prior or target
    trust = share * share
    projection = actual + base * (1 - share) * (trust * Fraction(actual) / (base * share) + 1 - trust)
    sd = spread * base * math.sqrt(1 - share)
    if sd == 0:
        chance = 1.0 if projection >= target else 0.0
    else:
        chance = float(norm.sf(target, loc=float(projection), scale=sd))
    return out | {"projection": half_up(projection), "chance": chance}


def history_prior(history: list[int], months: int) -> int | None:
    """What 24 months of history expect of a period of whole months starting after them: per
    month, half the same month a year before x (1 + growth of the last 12 months over the 12
    before, within ±50%; 0 unless both years are known) and half a twelfth of the last 12 months.
    None unless the last 12 months are known (months before the first sale are not) and add up."""
    known = next((i for i, v in enumerate(history) if v), len(history))
    recent, before = sum(history[12:]), sum(history[:12])
    if known > 12 or recent <= 0:
        return None
    growth = (
        min(Fraction(1, 2), max(Fraction(-1, 2), Fraction(recent, before) - 1))
        if known == 0 and before > 0
        else 0
    )
    total = sum((history[12 + k] * (1 + growth) + Fraction(recent, 12)) / 2 for k in range(months))
    return half_up(total) if half_up(total) > 0 else None


def spread_of(history: list[int], months: int) -> float:
    """The relative sd of the period's outcome: 0.75 x the coefficient of variation of the node's
    12 months before the period (leading months without sales left out) / √months."""
    values = list(history)
    while values and values[0] == 0:
        values.pop(0)
    if len(values) < MIN_HISTORY or np.mean(values) <= 0:
        return POOLED_SPREAD
    return HISTORY_FACTOR * float(np.std(values) / np.mean(values)) / math.sqrt(months)


def status(actual, target, expected, pace, plan) -> str:
    if actual >= target:
        return "reached"
    if expected == 0:
        return "not_started"
    if pace < Fraction(plan.warning_line_pct, 100):
        return "at_risk"
    if pace < Fraction(plan.lagging_below_pct, 100):
        return "lagging"
    return "ahead" if pace > Fraction(plan.ahead_above_pct, 100) else "on_track"


def differences(where: str, expected: dict, got: dict) -> list[str]:
    """Each figure that differs, as "where figure: expected … got …" (money to the fen)."""
    assert set(expected) == set(got), set(expected) ^ set(got)  # every figure the API returns
    out = []
    for name, want in expected.items():
        have = got[name]
        if name in RATIOS:
            same = (want is None and have is None) or (
                want is not None and have is not None and have == pytest.approx(float(want), abs=1e-6)
            )
        elif name == "chance":
            same = have == pytest.approx(want, abs=1e-3) if want is not None else have is None
        else:
            same = have == want
        if not same:
            out.append(f"{where} {name}: expected {want} got {have}")
    return out


# --- territory credit ----------------------------------------------------------------------------


def territory_credits(df: pd.DataFrame) -> pd.DataFrame:
    """(fact id, amount, person, that person's unit on the fact's date) for every person holding
    a territory that covers the fact's region (or a region above it) on the fact's date, once per
    fact and person however many of their territories cover it."""
    paths = dict(Region.objects.values_list("pk", "path"))
    above = pd.DataFrame(
        [(rid, hid) for rid, path in paths.items() for hid, hpath in paths.items() if path.startswith(hpath)],
        columns=["region_id", "held_id"],
    )
    held = pd.DataFrame.from_records(
        TerritoryAssignment.objects.values("person_id", "region_id", "valid_from", "valid_to")
    ).rename(columns={"region_id": "held_id", "person_id": "holder"})
    rows = df[["id", "date", "amount", "region_id"]].merge(above, on="region_id").merge(held, on="held_id")
    active = (rows["valid_from"] <= rows["date"]) & (
        rows["valid_to"].isna() | (rows["valid_to"].fillna(dt.date.max) >= rows["date"])
    )
    credits = rows[active].drop_duplicates(["id", "holder"])[["id", "date", "amount", "holder"]]
    return credits.merge(unit_at_date(credits), on=["id", "holder"], how="left")


def unit_at_date(credits: pd.DataFrame) -> pd.DataFrame:
    """The unit each credited person's results count for on the fact's date: a member's unit
    before a managed one, then the earliest start, the earliest end, the lowest unit id."""
    spans = pd.DataFrame.from_records(
        Membership.objects.values("person_id", "unit_id", "role", "valid_from", "valid_to")
    ).rename(columns={"person_id": "holder"})
    spans["rank"] = (spans["role"] != Membership.Role.MEMBER).astype(int)
    spans["ends"] = spans["valid_to"].fillna(dt.date.max)
    rows = credits[["id", "date", "holder"]].merge(spans, on="holder")
    rows = rows[(rows["valid_from"] <= rows["date"]) & (rows["ends"] >= rows["date"])]
    rows = rows.sort_values(["id", "holder", "rank", "valid_from", "ends", "unit_id"])
    return rows.drop_duplicates(["id", "holder"])[["id", "holder", "unit_id"]]


def territory_actual(credits: pd.DataFrame, node, start: dt.date, end: dt.date) -> int:
    rows = credits[(credits["date"] >= start) & (credits["date"] <= end)]
    if node.kind == "person":
        return int(rows.loc[rows["holder"] == node.pk, "amount"].sum())
    # A sale counts once for a unit when any of its credited people was in the unit's subtree.
    mine = rows[rows["unit_id"].isin(node.subtree)].drop_duplicates("id")
    return int(mine["amount"].sum())


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.django_db
class TestDemoCompany:
    @pytest.fixture
    def setting(self, demo):
        """The plan in force, the nodes followed and a client logged in as the administrator."""
        metric = Metric.objects.get(code="sales")
        assert (metric.fact_kind, metric.stage, metric.aggregation, metric.decimals) == (
            "order", "", Metric.Aggregation.SUM_AMOUNT, 2,
        )  # fmt: skip
        plan = in_force(metric, AS_OF)
        assert plan is not None and plan.pk == demo.summary.ids["plan"]
        company = OrgUnit.objects.get(parent=None)
        region = OrgUnit.objects.filter(kind=OrgUnit.Kind.REGION).order_by("code").first()
        team = OrgUnit.objects.filter(parent=region).order_by("code").first()
        rep = (
            Membership.objects.active_on(AS_OF)
            .filter(unit=team, role=Membership.Role.MEMBER)
            .order_by("person__code")
            .first()
            .person
        )
        client = Client()
        client.force_login(demo.admin)
        cal = fiscal_calendar()
        assert cal.working_days  # time progress counts the company's working days
        return SimpleNamespace(
            plan=plan,
            cal=cal,
            client=client,
            company=unit_of(company),
            region=unit_of(region),
            team=unit_of(team),
            rep=SimpleNamespace(kind="person", pk=rep.pk, name=rep.code),
        )

    def progress(self, s, node, kind: str) -> dict:
        params = {"plan": s.plan.pk, "period": kind, "as_of": AS_OF.isoformat()}
        params["unit" if node.kind == "unit" else "person"] = node.pk
        answer = s.client.get(URL, params)
        assert answer.status_code == 200, answer.content
        got = answer.json()
        assert (got["node"]["kind"], got["node"]["id"]) == (node.kind, node.pk)
        (start, end), _previous, _months = PERIODS[kind]
        assert (got["period"]["start"], got["period"]["end"]) == (start.isoformat(), end.isoformat())
        return got

    def test_every_figure_under_owner_credit_equals_pandas_over_the_facts(self, setting):
        s = setting
        df = order_facts()
        cells = plan_cells(s.plan)

        def mask(node):
            if node is s.company:
                return pd.Series(True, index=df.index)  # every sale, whoever is on it
            if node.kind == "person":
                return df["person_id"] == node.pk
            return df["unit_id"].isin(node.subtree)

        def check(node, got: dict, kind: str) -> list[str]:
            want = expected_figures(df, mask(node), cells_of(cells, node), kind, s.plan, s.cal)
            chances.append(want["chance"])
            return differences(f"{node.name} {kind}", want, got)

        wrong: list[str] = []
        chances: list[float | None] = []
        for node in (s.company, s.region, s.team, s.rep):
            for kind in PERIODS:
                got = self.progress(s, node, kind)
                wrong += check(node, got["figures"], kind)
                if node is s.region and kind == "month":
                    for child, figures in self.region_children(s, got):
                        wrong += check(child, figures, kind)
                if node is s.rep and kind == "year":
                    # A real test: the rep has sales, a target and last year's sales.
                    assert got["figures"]["actual"] > 0 and got["figures"]["last_year"] > 0
                    assert got["figures"]["target"] > 0
        # Chances away from 0 and 1, so that the spread from each node's history is checked too.
        assert sum(0.05 < c < 0.95 for c in chances if c is not None) >= 5
        assert not wrong, "\n".join(wrong)

    def test_a_stretch_target_raises_the_bar_not_the_projection(self, setting):
        """Every target raised by 30% (as a director sets "last year + 30%"): each node's projection
        stays where its history and pace put it, and its chance of the higher target falls. Before,
        the projection started from the target, so the stretch lifted it and the chance with it."""
        s = setting
        nodes = (s.company, s.region, s.team, s.rep)
        before = {(n.name, k): self.progress(s, n, k)["figures"] for n in nodes for k in ("month", "quarter")}
        TargetCell.objects.filter(scenario__plan=s.plan).update(
            floor=F("floor") * 13 / 10, target=F("target") * 13 / 10, stretch=F("stretch") * 13 / 10
        )
        compared = 0
        for n in nodes:
            for k in ("month", "quarter"):
                was, now = before[(n.name, k)], self.progress(s, n, k)["figures"]
                assert now["target"] > was["target"]
                assert now["projection"] == was["projection"], (n.name, k)
                assert now["chance"] <= was["chance"], (n.name, k)
                compared += was["chance"] > now["chance"]
        assert compared >= 4  # the chances moved, so the nodes had something to lose

    @pytest.mark.parametrize("kind", ["month", "quarter", "ytd", "year"])
    def test_a_reps_rank_is_their_place_on_the_leaderboard(self, setting, kind):
        """The rank on a rep's page comes from the achievements alone (a board of 5,000 reps was
        most of the page's time): for every rep it is the rank the full leaderboard gives."""
        from salestarget.tracking.leaderboard import leaderboard, rank_of

        s = setting
        admin = get_user_model().objects.get(username="tracking_admin")
        board = leaderboard(admin, s.plan, kind, AS_OF)["rows"]
        ranked = [r for r in board if r["rank"] is not None]
        assert len(ranked) >= 10 and len({r["rank"] for r in ranked}) >= 10
        for row in board:
            expected = None if row["rank"] is None else (row["rank"], len(ranked))
            assert rank_of(admin, s.plan, kind, AS_OF, row["node"]["id"]) == expected, row["node"]["code"]

    @pytest.mark.parametrize("kind", ["month", "ytd"])
    def test_the_leaderboard_ranks_by_every_reps_figures_and_pages_them(self, setting, kind):
        """The board ranks from the achievements alone and reads the figures of the rows shown
        (the whole board of 5,000 reps took 3-6 s and a 3 MB page): its order, ranks and figures
        are those of every rep's full figures, ranked here; its pages, of the API and the page
        too, are slices of that one order."""
        from salestarget.tracking import progress as tracking
        from salestarget.tracking.leaderboard import leaderboard

        s = setting
        admin = get_user_model().objects.get(username="tracking_admin")
        period, to_date = tracking.resolve_period(kind, AS_OF)
        members = Membership.objects.active_on(AS_OF).filter(role=Membership.Role.MEMBER)
        people = {m.person_id: m.person for m in members.select_related("person")}
        nodes = [tracking.person_node(p) for p in people.values()]
        figures = tracking.figures_for(admin, s.plan, nodes, period, AS_OF, to_date=to_date, chance=False)
        nodes.sort(
            key=lambda n: (
                figures[n.key]["achievement"] is None,
                -(figures[n.key]["achievement"] or 0),
                n.code,
            )
        )
        ranks, previous = [], object()
        for n, node in enumerate(nodes, 1):
            value = figures[node.key]["achievement"]
            ranks.append(None if value is None else n if value != previous else ranks[-1])
            previous = value
        whole = leaderboard(admin, s.plan, kind, AS_OF, chance=False)
        assert [r["node"]["id"] for r in whole["rows"]] == [n.id for n in nodes]
        assert [r["rank"] for r in whole["rows"]] == ranks
        assert [r["figures"] for r in whole["rows"]] == [figures[n.key] for n in nodes]
        assert whole["count"] == len(nodes) >= 10 and whole["ranked"] == sum(r is not None for r in ranks)
        pages = [
            leaderboard(admin, s.plan, kind, AS_OF, chance=False, offset=o, limit=4)["rows"]
            for o in (0, 4, 8)
        ]
        assert [r for page in pages for r in page] == whole["rows"][:12]
        answer = s.client.get(
            "/api/v1/tracking/leaderboard",
            {"plan": s.plan.pk, "period": kind, "as_of": AS_OF.isoformat(), "limit": 3, "offset": 5},
        ).json()
        assert [r["node"]["id"] for r in answer["rows"]] == [n.id for n in nodes[5:8]]
        assert [r["rank"] for r in answer["rows"]] == ranks[5:8] and answer["count"] == len(nodes)

    def test_a_rep_finds_their_place_on_a_board_of_many_pages(self, setting, monkeypatch):
        """A page holds BOARD_PAGE rows (5 here, 100 in the app); the page says which places it
        shows of how many, and a rep on another page gets a link to theirs."""
        from salestarget.targets.models import Plan
        from salestarget.tracking import views
        from salestarget.tracking.leaderboard import leaderboard

        s = setting
        monkeypatch.setattr(views, "BOARD_PAGE", 5)
        Plan.objects.filter(pk=s.plan.pk).update(ranking=Plan.Ranking.EVERYONE)
        admin = get_user_model().objects.get(username="tracking_admin")
        rows = leaderboard(admin, Plan.objects.get(pk=s.plan.pk), "month", AS_OF, chance=False)["rows"]
        at = next(i for i, r in enumerate(rows) if i >= 10 and r["rank"] is not None)
        rep = Membership.objects.get(
            person_id=rows[at]["node"]["id"], role=Membership.Role.MEMBER, valid_to=None
        )
        if rep.person.user is None:  # the demo signs in a few of its reps
            rep.person.user = get_user_model().objects.create_user(f"board_{rep.person.code}")
            rep.person.save()
        client = Client()
        client.force_login(rep.person.user)
        query = {"plan": s.plan.pk, "period": "month", "as_of": AS_OF.isoformat()}
        first = client.get("/tracking/leaderboard/", query).content.decode()
        assert f"第 1–5 名，共 {len(rows)} 人" in first
        assert first.count('data-testid="rank-achievement"') == 5
        link = f"page={at // 5 + 1}#me"
        assert f"我的排名：第 {rows[at]['rank']} 名" in first and link in first
        theirs = client.get("/tracking/leaderboard/", {**query, "page": at // 5 + 1}).content.decode()
        assert f'data-testid="rank-{rep.person_id}" id="me"' in theirs
        assert 'data-testid="leaderboard-mine"' not in theirs  # they are on this page
        last = client.get("/tracking/leaderboard/", {**query, "page": 10**9}).content.decode()
        assert f"第 {(len(rows) - 1) // 5 * 5 + 1}–{len(rows)} 名，共 {len(rows)} 人" in last  # the last page

        s = setting
        metric = Metric.objects.get(code="sales")
        metric.credit_rule = Metric.Credit.TERRITORY
        metric.save()
        df = order_facts()
        df = df[window(df, PERIODS["year"][0][0], AS_OF)]
        credits = territory_credits(df)
        wrong = []
        for node in (s.region, s.team, s.rep):
            for kind in ("month", "year"):
                (start, _end), _previous, _months = PERIODS[kind]
                got = self.progress(s, node, kind)
                want = territory_actual(credits, node, start, AS_OF)
                if got["figures"]["actual"] != want:
                    wrong.append(f"{node.name} {kind} actual: expected {want} got {got['figures']['actual']}")
                if node is s.region and kind == "month":
                    for child, figures in self.region_children(s, got):
                        want = territory_actual(credits, child, start, AS_OF)
                        if figures["actual"] != want:
                            wrong.append(
                                f"{child.name} month actual: expected {want} got {figures['actual']}"
                            )
        assert not wrong, "\n".join(wrong)
        # Territory credit is not owner credit in disguise: a rep's territories hold colleagues' sales.
        november = window(df, PERIODS["month"][0][0], AS_OF)
        owner = int(df.loc[november & (df["person_id"] == s.rep.pk), "amount"].sum())
        assert territory_actual(credits, s.rep, PERIODS["month"][0][0], AS_OF) > owner

    def region_children(self, s, got: dict) -> list[tuple[SimpleNamespace, dict]]:
        """The region's children in the answer, checked to be exactly its sub-units and its members
        on the as-of date (the administrator may follow everyone)."""
        region = OrgUnit.objects.get(pk=s.region.pk)
        units = {("unit", u.pk): unit_of(u) for u in OrgUnit.objects.filter(parent=region)}
        members = Membership.objects.active_on(AS_OF).filter(unit=region, role=Membership.Role.MEMBER)
        people = {
            ("person", m.person_id): SimpleNamespace(kind="person", pk=m.person_id, name=m.person.code)
            for m in members.select_related("person")
        }
        expected = units | people
        found = {(k["node"]["kind"], k["node"]["id"]): k["figures"] for k in got["children"]}
        assert set(found) == set(expected) and len(units) >= 2
        return [(expected[key], figures) for key, figures in found.items()]


def unit_of(unit: OrgUnit) -> SimpleNamespace:
    return SimpleNamespace(kind="unit", pk=unit.pk, name=unit.code, subtree=subtree(unit))
