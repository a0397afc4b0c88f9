"""The demo company: deterministic, realistic in the ways dashboards show, and internally consistent."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.test import override_settings

from salestarget.actuals import rollups
from salestarget.actuals.models import Fact, ImportBatch
from salestarget.catalog.models import Customer, Product, Region
from salestarget.demo.generator import DemoDataExists, generate, spring_breaks
from salestarget.engine.calendar import Period, day_weights
from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment
from salestarget.org.permissions import scope_of
from salestarget.targets.models import Plan, TargetCell

TODAY = dt.date(2026, 11, 25)
FULL_YEARS = (2023, 2024, 2025)


def fingerprint() -> dict[str, str]:
    """A digest per table over natural keys (codes, not ids: ids differ between databases and runs)."""
    tables = {
        "facts": Fact.objects.order_by("kind", "external_id").values_list(
            "kind",
            "date",
            "amount",
            "quantity",
            "profit",
            "person__code",
            "unit__code",
            "product__code",
            "customer__code",
            "region__code",
            "stage",
            "external_id",
        ),
        "people": Person.objects.order_by("code").values_list(
            "code", "name", "tier", "hire_date", "leave_date", "status"
        ),
        "memberships": Membership.objects.order_by("person__code", "valid_from", "unit__code").values_list(
            "person__code", "unit__code", "role", "valid_from", "valid_to"
        ),
        "customers": Customer.objects.order_by("code").values_list(
            "code", "name", "segment__code", "region__code", "owner__code", "first_deal_date"
        ),
        "targets": TargetCell.objects.order_by(
            "unit__code", "person__code", "period_kind", "period_start"
        ).values_list(
            "unit__code", "person__code", "period_kind", "period_start", "floor", "target", "stretch"
        ),
    }
    return {name: hashlib.sha256(repr(list(qs)).encode()).hexdigest() for name, qs in tables.items()}


def generate_and_fingerprint(seed: int) -> dict[str, str]:
    """Generate inside a savepoint that is rolled back, so the next call starts from an empty database."""
    with transaction.atomic():
        generate(seed=seed, today=TODAY)
        digest = fingerprint()
        transaction.set_rollback(True)
    return digest


@pytest.mark.django_db
def test_same_seed_and_day_give_identical_data_and_another_seed_differs():
    first = generate_and_fingerprint(42)
    assert generate_and_fingerprint(42) == first
    other = generate_and_fingerprint(43)
    assert all(other[name] != first[name] for name in first)


@pytest.mark.django_db
def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="size"):
        generate(size="huge", today=TODAY)


def test_spring_break_is_found_in_the_working_day_mask():
    year = Period("year", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    (first, last), *others = spring_breaks(day_weights(year).astype(bool), dt.date(2024, 1, 1))
    assert not others
    # 2024: Spring Festival 10 February, days off 10-17 February.
    assert dt.date(2024, 1, 1) + dt.timedelta(days=first) == dt.date(2024, 2, 10)
    assert dt.date(2024, 1, 1) + dt.timedelta(days=last) == dt.date(2024, 2, 17)


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """One small company shared by the class's tests (generating it takes seconds), rolled back after.

    Class-scoped, so the suite's function-scoped fast-hasher setting is not in force yet: set it here
    too, or the tests could not check the generated passwords."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        yield generate(today=TODAY)
        transaction.set_rollback(True)


def monthly_orders(year: int) -> dict[int, tuple[int, int]]:
    rows = (
        Fact.objects.filter(kind="order", date__year=year)
        .annotate(month=TruncMonth("date"))
        .values("month")
        .annotate(amount=Sum("amount"), lines=Count("pk"))
    )
    return {row["month"].month: (row["amount"], row["lines"]) for row in rows}


@pytest.mark.django_db
class TestSmallCompany:
    def test_refuses_a_database_that_already_has_an_organisation(self, demo):
        with pytest.raises(DemoDataExists):
            generate(today=TODAY)

    def test_summary_matches_the_database(self, demo):
        assert demo.company == OrgUnit.objects.get(kind=OrgUnit.Kind.COMPANY).name
        assert demo.counts["units"] == OrgUnit.objects.count()
        assert demo.counts["people"] == Person.objects.count()
        assert demo.counts["customers"] == Customer.objects.count() == 600
        assert demo.counts["products"] == Product.objects.filter(parent__isnull=False).count() == 12
        assert demo.counts["regions"] == Region.objects.count()
        assert demo.counts["facts"] == Fact.objects.count() == sum(demo.facts_by_kind.values())
        assert demo.facts_by_kind == dict(Fact.objects.values_list("kind").annotate(n=Count("pk")))
        assert 60_000 <= demo.counts["facts"] <= 120_000
        assert demo.elapsed_seconds < 30
        batch = ImportBatch.objects.get()
        assert (batch.kind, batch.status, batch.rows_written) == ("demo", "applied", demo.counts["facts"])
        assert not Fact.objects.exclude(batch=batch).exists()

    def test_organisation_shape(self, demo):
        company = OrgUnit.objects.get(kind=OrgUnit.Kind.COMPANY)
        regions = OrgUnit.objects.filter(kind=OrgUnit.Kind.REGION)
        teams = OrgUnit.objects.filter(kind=OrgUnit.Kind.TEAM)
        assert {r.name for r in regions} == {"华东", "华南", "华北", "西区"}
        assert all(r.parent_id == company.pk for r in regions)
        assert teams.count() == 8
        assert {t.name for t in teams} >= {"上海一组", "杭州组", "深圳组", "北京组", "成都组"}
        assert all(t.parent.kind == OrgUnit.Kind.REGION for t in teams)
        managers = Membership.objects.filter(role=Membership.Role.MANAGER, valid_to__isnull=True)
        assert set(managers.values_list("unit_id", flat=True)) == set(
            OrgUnit.objects.values_list("pk", flat=True)
        )
        reps = Person.objects.filter(code__startswith="S")
        assert reps.count() == 40
        assert set(reps.values_list("tier", flat=True)) == {"A", "B", "C", "D"}
        assert Region.objects.get(code="CN").children.count() == 4

    def test_recent_hires_and_leavers(self, demo):
        recent = Person.objects.filter(code__startswith="S", hire_date__gte=TODAY - dt.timedelta(days=183))
        assert 3 <= recent.count() <= 5
        leavers = Person.objects.filter(status=Person.Status.LEFT)
        assert 1 <= leavers.count() <= 2
        for person in leavers:
            assert person.leave_date < TODAY
            assert person.memberships.get(valid_to=person.leave_date).role == Membership.Role.MEMBER
            assert not person.memberships.filter(
                Q(valid_to__isnull=True) | Q(valid_to__gt=person.leave_date)
            ).exists()
            assert person.facts.exists()
            assert not person.facts.filter(date__gt=person.leave_date).exists()
            assert not person.customers.exists(), "a leaver's customers pass to a colleague"
        # Whoever took over also took over the leaver's provinces, from the day after.
        leaver = Person.objects.get(pk=demo.ids["person_leaver"])
        taken_over = Customer.objects.filter(
            pk__in=Fact.objects.filter(person=leaver).values("customer_id")
        ).values_list("owner_id", flat=True)
        heirs = set(taken_over)
        assert len(heirs) == 1
        provinces = set(leaver.territories.values_list("region_id", flat=True))
        heir_provinces = set(
            TerritoryAssignment.objects.filter(person_id=heirs.pop()).values_list("region_id", flat=True)
        )
        assert provinces <= heir_provinces

    def test_a_rep_moved_team_and_history_stays_with_the_old_team(self, demo):
        mover = Person.objects.get(pk=demo.ids["person_mover"])
        before, after = mover.memberships.filter(role=Membership.Role.MEMBER).order_by("valid_from")
        assert before.valid_to == after.valid_from - dt.timedelta(days=1)
        assert before.unit_id != after.unit_id and before.unit.parent_id == after.unit.parent_id
        old = mover.facts.filter(date__lt=after.valid_from)
        new = mover.facts.filter(date__gte=after.valid_from)
        assert old.exists() and new.exists()
        assert set(old.values_list("unit_id", flat=True)) == {before.unit_id}
        assert set(new.values_list("unit_id", flat=True)) == {after.unit_id}

    def test_every_fact_is_credited_to_the_member_unit_of_its_date(self, demo):
        member_then = Membership.objects.filter(
            person=OuterRef("person"),
            unit=OuterRef("unit"),
            role=Membership.Role.MEMBER,
            valid_from__lte=OuterRef("date"),
        ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=OuterRef("date")))
        assert not Fact.objects.filter(person__isnull=True).exists()
        assert not Fact.objects.exclude(Exists(member_then)).exists()
        assert not Fact.objects.filter(date__gte=TODAY).exists()
        assert Fact.objects.aggregate(first=Min("date"))["first"] >= dt.date(2023, 1, 1)

    def test_orders_are_consistent_line_items(self, demo):
        orders = Fact.objects.filter(kind="order")
        assert not orders.filter(Q(amount__lte=0) | Q(quantity__lte=0) | Q(product__isnull=True)).exists()
        assert not orders.exclude(region_id=F("customer__region_id")).exists()
        assert all(amount % 100 == 0 for amount in orders.values_list("amount", flat=True)), "whole yuan"
        totals = orders.aggregate(amount=Sum("amount"), profit=Sum("profit"))
        assert 0.3 < totals["profit"] / totals["amount"] < 0.7

    def test_growth_and_q4_peak(self, demo):
        yearly = []
        for year in FULL_YEARS:
            months = monthly_orders(year)
            quarter = [sum(months[m][0] for m in range(q * 3 + 1, q * 3 + 4)) for q in range(4)]
            assert quarter[3] > quarter[0], year
            yearly.append(sum(quarter))
        growth = np.diff(yearly) / yearly[:-1]
        assert ((growth > 0.05) & (growth < 0.35)).all(), growth

    def test_spring_festival_dip_moves_with_the_holiday(self, demo):
        for year in FULL_YEARS:
            months = monthly_orders(year)
            mean = np.mean([lines for _amount, lines in months.values()])
            mask = day_weights(Period("year", dt.date(year, 1, 1), dt.date(year, 12, 31))).astype(bool)
            ((first, last),) = spring_breaks(mask, dt.date(year, 1, 1))
            touched = {(dt.date(year, 1, 1) + dt.timedelta(days=d)).month for d in range(first, last + 1)}
            assert all(months[m][1] < mean for m in touched), (year, touched)
        # 2024's festival fell in February, so February (not January) is the low month.
        months = monthly_orders(2024)
        assert months[2][1] < 0.85 * months[1][1]

    def test_new_customers_first_order_on_first_deal_date(self, demo):
        firsts = dict(
            Fact.objects.filter(kind="order")
            .values_list("customer_id")
            .annotate(first=Min("date"))
            .order_by()
        )
        new = Customer.objects.filter(first_deal_date__gte=dt.date(2023, 1, 1))
        assert new.count() > 100
        assert all(firsts[c.pk] == c.first_deal_date for c in new)
        prospects = Customer.objects.filter(first_deal_date__isnull=True)
        assert prospects.exists()
        assert not Fact.objects.filter(kind="order", customer__in=prospects).exists()
        repeat_buyers = (
            Fact.objects.filter(kind="order").values("customer_id").annotate(d=Count("date", distinct=True))
        )
        assert repeat_buyers.filter(d__gt=1).count() > repeat_buyers.count() / 2

    def test_collections_lag_orders_and_cover_about_95_percent(self, demo):
        orders: dict[str, list] = {}  # order number -> [date, total of its lines]
        for ext, date, amount in Fact.objects.filter(kind="order").values_list(
            "external_id", "date", "amount"
        ):
            orders.setdefault(ext.split("-")[1], [date, 0])[1] += amount
        collected: dict[str, int] = defaultdict(int)
        for ext, date, amount in Fact.objects.filter(kind="collection").values_list(
            "external_id", "date", "amount"
        ):
            number = ext.split("-")[1]
            order_date, total = orders[number]
            assert 30 <= (date - order_date).days <= 130
            assert 0 < amount <= total
            collected[number] += amount
        settled = [n for n, (d, _total) in orders.items() if d < TODAY - dt.timedelta(days=200)]
        share = sum(collected[n] for n in settled) / sum(orders[n][1] for n in settled)
        assert 0.92 < share < 0.98

    def test_opportunity_funnel(self, demo):
        opps = Fact.objects.filter(kind="opportunity")
        assert set(opps.values_list("stage", flat=True)) == {"lead", "qualified", "proposal", "won", "lost"}
        old = opps.filter(date__lt=TODAY - dt.timedelta(days=365))
        decided = old.filter(stage__in=["won", "lost"]).count()
        assert decided > 0.8 * old.count()
        assert 0.25 < old.filter(stage="won").count() / decided < 0.45
        young = opps.filter(date__gte=TODAY - dt.timedelta(days=30))
        assert young.filter(stage__in=["lead", "qualified", "proposal"]).count() > 0.8 * young.count()
        assert not opps.filter(amount__lte=0).exists()
        assert not Fact.objects.filter(kind="visit").exclude(amount=0).exists()

    def test_rollups_equal_the_facts(self, demo):
        assert rollups.verify() == []

    def test_plan_cells_add_up_exactly(self, demo):
        plan = Plan.objects.get(pk=demo.ids["plan"])
        assert (plan.fiscal_year, plan.status, plan.metric.code) == (2026, Plan.Status.PUBLISHED, "sales")
        scenario = plan.scenarios.get(is_primary=True)
        assert scenario.pk == demo.ids["scenario"]
        cells = list(scenario.cells.all())
        assert all(c.floor <= c.target <= c.stretch for c in cells)
        assert all(c.product_id is None and c.region_id is None for c in cells)
        year = {(c.unit_id, c.person_id): c for c in cells if c.period_kind == "year"}
        month = defaultdict(dict)
        for c in cells:
            if c.period_kind == "month":
                month[c.unit_id][c.period_start] = c
        units = {u.pk: u for u in OrgUnit.objects.all()}
        company = next(u for u in units.values() if u.kind == OrgUnit.Kind.COMPANY)
        rep_month = defaultdict(dict)
        for c in cells:
            if c.period_kind == "month" and c.person_id:
                rep_month[c.person_id][c.period_start] = c

        last_year = Fact.objects.filter(kind="order", date__year=2025).aggregate(s=Sum("amount"))["s"]
        assert year[(company.pk, None)].target % 1_000_000 == 0
        assert year[(company.pk, None)].target == pytest.approx(last_year * 1.15, rel=0.001)
        for level in ("floor", "target", "stretch"):
            for unit in units.values():
                own = getattr(year[(unit.pk, None)], level)
                assert sum(getattr(c, level) for c in month[unit.pk].values()) == own
                children = [u for u in units.values() if u.parent_id == unit.pk]
                if children:
                    assert sum(getattr(year[(u.pk, None)], level) for u in children) == own
                    for start, cell in month[unit.pk].items():
                        assert sum(getattr(month[u.pk][start], level) for u in children) == getattr(
                            cell, level
                        )
                else:
                    members = Membership.objects.filter(unit=unit, role="member", valid_to__isnull=True)
                    people = set(members.values_list("person_id", flat=True))
                    assert {p for (_u, p) in year if p in people} == people
                    assert sum(getattr(year[(None, p)], level) for p in people) == own
                    # Each month of the team is its reps' months (a rep's year split by working
                    # days did not add up to the team's seasonal months).
                    for start, cell in month[unit.pk].items():
                        assert sum(getattr(rep_month[p][start], level) for p in people) == getattr(
                            cell, level
                        )
        for (_u, p), cell in year.items():
            if p:
                assert len(rep_month[p]) == 12
                for level in ("floor", "target", "stretch"):
                    assert sum(getattr(c, level) for c in rep_month[p].values()) == getattr(cell, level)
        # A rep hired this year has no target for the months before their hire.
        hired = Person.objects.filter(pk__in=rep_month, hire_date__year=2026)
        assert hired.exists()
        for person in hired:
            for start, c in rep_month[person.pk].items():
                if start < person.hire_date.replace(day=1):
                    assert (c.floor, c.target, c.stretch) == (0, 0, 0)
                elif start > person.hire_date:
                    assert c.target > 0
        assert len(month[company.pk]) == 12
        # Months follow working days: the festival month gets less than the year's average month.
        feb = month[company.pk][dt.date(2026, 2, 1)].target
        assert feb < year[(company.pk, None)].target / 12

    def test_demo_logins_have_the_right_scope(self, demo):
        expected = {
            "vp": "manager",
            "director_east": "manager",
            "lead_sh1": "manager",
            "rep_sh1": "rep",
            "rep_sz": "rep",
        }
        assert {username: role for username, _pw, role, _name in demo.accounts} == expected
        users = get_user_model().objects.in_bulk(expected, field_name="username")
        for username, password, role, display in demo.accounts:
            user = users[username]
            assert user.check_password(password) and len(password) >= 12
            assert user.person.name in display
            assert scope_of(user).role == role
        ids = demo.ids
        assert users["vp"].person.pk == ids["person_vp"]
        assert scope_of(users["vp"]).reach("approve").paths == (
            OrgUnit.objects.get(pk=ids["unit_company"]).path,
        )
        assert scope_of(users["director_east"]).reach("approve").paths == (
            OrgUnit.objects.get(pk=ids["unit_east"]).path,
        )
        assert scope_of(users["lead_sh1"]).reach("approve").paths == (
            OrgUnit.objects.get(pk=ids["unit_sh1"]).path,
        )
        assert users["rep_sh1"].person.unit_on(TODAY).pk == ids["unit_sh1"]
        assert users["rep_sz"].person.unit_on(TODAY).pk == ids["unit_sz"]
        assert OrgUnit.objects.get(pk=ids["unit_sz"]).name == "深圳组"
        assert len({user.person.pk for user in users.values()}) == 5
