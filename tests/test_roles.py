"""Every role against every page and endpoint, row by row.

A company with history (tests/conftest.py ``company`` plus moves, made at fixed dates) and
real rows of every scoped kind. The expected rows of each role come from ``Expect``: the
rules of docs/security.md written out over the seeded plain data, independently of
``restrict()`` and its SQL, and compared with what each page and endpoint returns.

Time is frozen at 2026-11-16. The moves:
- rep_sh2 moved from 上海组 (SH) to 深圳组 (SZ) on 2026-07-01;
- lead_sz managed SZ until 2026-06-30 and manages 杭州组 (HZ) since 2026-07-01.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
import time_machine

from salestarget.accounts.models import ApiToken
from salestarget.actuals import rollups
from salestarget.actuals.models import DailyReport, Fact, ImportBatch
from salestarget.catalog.models import Customer
from salestarget.core.money import format_amount
from salestarget.metrics.models import Metric
from salestarget.org.models import Membership, RoleAssignment, TerritoryAssignment
from salestarget.targets.models import Plan, Scenario, TargetCell
from tests.factories import CustomerFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)
MOVE = dt.date(2026, 7, 1)
BEFORE, AFTER = dt.date(2026, 3, 10), dt.date(2026, 9, 10)
REPS = ["rep_sh1", "rep_sh2", "rep_hz", "rep_sz"]
PEOPLE = ["vp", "director_east", "lead_sh", "lead_sz", *REPS]


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 16, 10, 0), tick=False):
        yield


@dataclass
class World:
    """The seeded company as plain data: whose unit on which day, and every scoped row."""

    c: object
    spans: dict[str, list[tuple[str, dt.date, dt.date | None, str]]] = field(default_factory=dict)
    facts: dict[str, tuple[str, str]] = field(default_factory=dict)  # ext id -> (person, unit booked)
    customers: dict[str, str] = field(default_factory=dict)  # code -> owner
    cells: dict[str, tuple[str | None, str | None, dt.date, dt.date]] = field(default_factory=dict)
    reports: dict[tuple[str, dt.date], str] = field(default_factory=dict)  # (person, day) -> person
    territories: dict[str, str] = field(default_factory=dict)  # person -> region code

    def unit_of(self, person: str, day: dt.date, role: str = "member") -> list[str]:
        return [
            unit
            for (r, start, end, unit) in self.spans[person]
            if r == role and start <= day and (end is None or day <= end)
        ]


UNITS = {"HQ": None, "EAST": "HQ", "SOUTH": "HQ", "SH": "EAST", "HZ": "EAST", "SZ": "SOUTH"}


def subtree(code: str) -> set[str]:
    out = {code}
    for unit, parent in UNITS.items():
        if parent == code:
            out |= subtree(unit)
    return out


@pytest.fixture
def world(company, frozen):
    c = company
    w = World(c)
    base = dt.date(2022, 1, 1)
    w.spans = {
        "vp": [("manager", base, None, "HQ")],
        "director_east": [("manager", base, None, "EAST")],
        "lead_sh": [("manager", base, None, "SH")],
        "lead_sz": [("manager", base, MOVE - dt.timedelta(days=1), "SZ"), ("manager", MOVE, None, "HZ")],
        "rep_sh1": [("member", base, None, "SH")],
        "rep_sh2": [("member", base, MOVE - dt.timedelta(days=1), "SH"), ("member", MOVE, None, "SZ")],
        "rep_hz": [("member", base, None, "HZ")],
        "rep_sz": [("member", base, None, "SZ")],
    }
    # The moves, in the database as the org tree shows them.
    for name in ("rep_sh2", "lead_sz"):
        person = getattr(c, name)
        m = person.memberships.get()
        m.valid_to = MOVE - dt.timedelta(days=1)
        m.save()
        role, unit = w.spans[name][1][0], w.spans[name][1][3]
        Membership.objects.create(person=person, unit=getattr(c, unit.lower()), role=role, valid_from=MOVE)
    unit_of_code = {u: getattr(c, u.lower()) for u in ("SH", "HZ", "SZ")} | {
        "HQ": c.hq,
        "EAST": c.east,
        "SOUTH": c.south,
    }
    # Facts before and after the move, booked to the unit at their date.
    for name in REPS:
        for day in (BEFORE, AFTER):
            ext = f"{name}-{day:%m}"
            unit = w.unit_of(name, day)[0]
            Fact.objects.create(
                kind="order",
                date=day,
                amount=100_00,
                person=getattr(c, name),
                unit=unit_of_code[unit],
                source="erp",
                external_id=ext,
            )
            w.facts[ext] = (name, unit)
    rollups.rebuild()
    # Customers, owned today.
    for name in REPS:
        CustomerFactory(code=f"C-{name}", owner=getattr(c, name))
        w.customers[f"C-{name}"] = name
    # Targets: a year cell per unit and per rep; a rep's H1 cell too.
    plan = Plan.objects.create(
        name="2026", fiscal_year=2026, metric=Metric.objects.get(code="sales"), status=Plan.Status.PUBLISHED
    )
    scenario = Scenario.objects.create(plan=plan, name="base", is_primary=True)
    year = dt.date(2026, 1, 1)
    for code, unit in unit_of_code.items():
        TargetCell.objects.create(
            scenario=scenario, unit=unit, period_kind="year", period_start=year, target=1
        )
        w.cells[f"unit-{code}"] = (code, None, year, dt.date(2026, 12, 31))
    for name in REPS:
        TargetCell.objects.create(
            scenario=scenario, person=getattr(c, name), period_kind="year", period_start=year, target=1
        )
        w.cells[f"year-{name}"] = (None, name, year, dt.date(2026, 12, 31))
        TargetCell.objects.create(
            scenario=scenario, person=getattr(c, name), period_kind="half", period_start=year, target=2
        )
        w.cells[f"h1-{name}"] = (None, name, year, dt.date(2026, 6, 30))
    # Daily reports before and after the move.
    for name in REPS:
        for day in (BEFORE, AFTER):
            DailyReport.objects.create(person=getattr(c, name), day=day)
            w.reports[(name, day)] = name
    for name in REPS:
        TerritoryAssignment.objects.create(person=getattr(c, name), region=c.shanghai, valid_from=base)
        w.territories[name] = "SHA"
    # Company-wide roles given in the app.
    ops = UserFactory(username="ops")
    RoleAssignment.objects.create(user=ops, role="ops")
    finance = UserFactory(username="finance")
    RoleAssignment.objects.create(user=finance, role="viewer")
    finance_east = UserFactory(username="finance_east")
    RoleAssignment.objects.create(user=finance_east, role="viewer", unit=c.east)
    UserFactory(username="nobody")
    # A person with no sign-in, in SH: only the SH line sees them.
    PersonFactory(code="NOLOGIN", name="无账号")
    return w


# Who sees which subtree (hand-written from the roles, not computed by the app).
EVERYTHING = set(UNITS)
SUBTREES = {
    "admin": EVERYTHING,
    "ops": EVERYTHING,
    "finance": EVERYTHING,
    "finance_east": subtree("EAST"),
    "vp": subtree("HQ"),
    "director_east": subtree("EAST"),
    "lead_sh": {"SH"},
    "lead_sz": {"HZ"},  # moved: SZ is no longer theirs
    **{rep: set() for rep in REPS},
    "nobody": set(),
}
ROLES = list(SUBTREES)
OWN = {name: name for name in PEOPLE}
COMPANY_WIDE = {"admin", "ops", "finance"}


class Expect:
    """The rows a role may see, from the rules in docs/security.md applied to plain data."""

    def __init__(self, w: World, role: str):
        self.w, self.role = w, role
        self.units = SUBTREES[role]
        self.own = OWN.get(role)
        self.all = role in COMPANY_WIDE

    def in_units_on(self, person: str, start: dt.date, end: dt.date | None = None) -> bool:
        end = end or start
        for _r, s, e, unit in self.w.spans.get(person, []):
            if unit in self.units and s <= end and (e is None or e >= start):
                return True
        return False

    def person(self, name: str) -> bool:
        return self.all or name == self.own or self.in_units_on(name, TODAY)

    def people(self) -> set[str]:
        return {p for p in PEOPLE if self.person(p)}

    def facts(self) -> set[str]:
        return {e for e, (p, unit) in self.w.facts.items() if self.all or unit in self.units or p == self.own}

    def customers(self) -> set[str]:
        return {code for code, owner in self.w.customers.items() if self.person(owner)}

    def cells(self) -> set[str]:
        out = set()
        for key, (unit, person, start, end) in self.w.cells.items():
            if self.all:
                out.add(key)
            elif unit is not None and unit in self.units:
                out.add(key)
            elif person is not None and (person == self.own or self.in_units_on(person, start, end)):
                out.add(key)
        return out

    def reports(self) -> set[tuple[str, dt.date]]:
        return {
            (p, day) for (p, day) in self.w.reports if self.all or p == self.own or self.in_units_on(p, day)
        }

    def memberships(self) -> set[tuple[str, str]]:
        return {
            (p, unit)
            for p, spans in self.w.spans.items()
            for (_r, _s, _e, unit) in spans
            if self.all or unit in self.units or p == self.own
        }

    def territories(self) -> set[str]:
        return {p for p in self.w.territories if self.person(p)}

    def visible_units(self) -> set[str]:
        if self.all:
            return EVERYTHING
        own = (
            set(self.w.unit_of(self.own, TODAY) + self.w.unit_of(self.own, TODAY, "manager"))
            if self.own
            else set()
        )
        return self.units | own


def _client_for(client, role):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=role))
    return client


def _items(client, url):
    response = client.get(url, {"limit": 1000})
    assert response.status_code == 200, (url, response.content[:300])
    body = response.json()
    return body["items"] if isinstance(body, dict) and "items" in body else body


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_returns_exactly_the_rows_of_the_role(client, world, role):
    c, expect = world.c, Expect(world, role)
    _client_for(client, role)
    code_of = {p.pk: name for name in PEOPLE if (p := getattr(c, name))}
    people = {code_of.get(row["id"]) for row in _items(client, "/api/v1/org/people")} - {None}
    assert people == expect.people(), "people"
    units = {row["code"] for row in _items(client, "/api/v1/org/units")}
    assert units == expect.visible_units(), "units"
    unit_code = {getattr(c, u.lower()).pk: u for u in UNITS}
    memberships = {
        (code_of[r["person_id"]], unit_code[r["unit_id"]]) for r in _items(client, "/api/v1/org/memberships")
    }
    assert memberships == expect.memberships(), "memberships"
    territories = {code_of[r["person_id"]] for r in _items(client, "/api/v1/org/territories")}
    assert territories == expect.territories(), "territories"
    customers = {r["code"] for r in _items(client, "/api/v1/catalog/customers")}
    assert customers == expect.customers(), "customers"
    facts = {r["external_id"] for r in _items(client, "/api/v1/actuals/facts")}
    assert facts == expect.facts(), "facts"
    # Detail endpoints agree with the lists, for every person and customer.
    for name in PEOPLE:
        status = client.get(f"/api/v1/org/people/{getattr(c, name).pk}").status_code
        assert status == (200 if name in expect.people() else 404), f"person {name}"
    for customer in Customer.objects.all():
        status = client.get(f"/api/v1/catalog/customers/{customer.pk}").status_code
        assert status == (200 if customer.code in expect.customers() else 404), f"customer {customer.code}"


@pytest.mark.parametrize("role", ROLES)
def test_every_model_restricts_to_the_rows_of_the_role(world, role):
    """The rows with no endpoint of their own yet (targets, daily reports) and the ones pages
    read, through the one mechanism."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=role)
    expect, c = Expect(world, role), world.c
    names = {getattr(c, n).pk: n for n in PEOPLE}
    unit_codes = {getattr(c, u.lower()).pk: u for u in UNITS}
    cells = set()
    for cell in TargetCell.objects.restrict(user):
        if cell.unit_id:
            cells.add(f"unit-{unit_codes[cell.unit_id]}")
        else:
            prefix = "year" if cell.period_kind == "year" else "h1"
            cells.add(f"{prefix}-{names[cell.person_id]}")
    assert cells == expect.cells()
    reports = {(names[r.person_id], r.day) for r in DailyReport.objects.restrict(user)}
    assert reports == expect.reports()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_shows_the_rows_of_the_role(client, world, role):
    c, expect = world.c, Expect(world, role)
    _client_for(client, role)
    if role == "nobody":
        assert client.get("/org/").status_code in (200, 403)
        return
    org = client.get("/org/").content.decode()
    for name in PEOPLE:
        person = getattr(c, name)
        shown = f"/org/people/{person.pk}/" in org
        # The org chart lists who is in each visible unit today.
        assert shown == (
            name in expect.people()
            and bool(world.unit_of(name, TODAY) + world.unit_of(name, TODAY, "manager"))
        ), name
        status = client.get(f"/org/people/{person.pk}/").status_code
        assert status == (200 if name in expect.people() else 404), f"person page {name}"
    facts_page = client.get("/actuals/", {"per_page": 200}).content.decode()
    for ext in world.facts:
        assert (ext in facts_page) == (ext in expect.facts()), f"facts page {ext}"
    # The home page's sales this year (read from rollups) is the sum of the facts the role sees.
    home = client.get("/").content.decode()
    ytd = format_amount(100_00 * len(expect.facts()), lang="zh")
    assert f'data-testid="sales-ytd">{ytd}<' in home, (role, ytd)
    # Team reports list who is in the role's units today.
    team = client.get("/actuals/daily/team/")
    if not expect.units:
        assert team.status_code == 403
    else:
        listed = {
            row["membership"].person.user.username for row in team.context["missing"] + team.context["done"]
        }
        in_units_today = {p for p in REPS if any(u in expect.units for u in world.unit_of(p, TODAY))}
        assert listed == in_units_today, "team reports"


@pytest.mark.parametrize("role", ["lead_sh", "lead_sz", "director_east"])
def test_the_person_page_shows_only_visible_memberships(client, world, role):
    c, expect = world.c, Expect(world, role)
    _client_for(client, role)
    if "rep_sh2" not in expect.people():
        assert client.get(f"/org/people/{c.rep_sh2.pk}/").status_code == 404
        return
    page = client.get(f"/org/people/{c.rep_sh2.pk}/").content.decode()
    assert ("深圳组" in page) == ("SZ" in expect.units)


def _post(client, user, body):
    _token, raw = ApiToken.issue(user, "t")
    return client.post(
        "/api/v1/actuals/facts/bulk",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def _row(ext, person, day, **extra):
    return {"external_id": ext, "date": day.isoformat(), "amount": "10", "person": person, **extra}


def test_a_lead_writes_for_a_moved_rep_only_while_the_rep_was_in_the_team(client, world):
    c = world.c
    ok = _post(
        client,
        c.lead_sh.user,
        {"kind": "order", "source": "sh-sheet", "rows": [_row("A1", c.rep_sh2.code, BEFORE)]},
    )
    assert ok.status_code == 200, ok.content
    assert Fact.objects.get(source="sh-sheet").unit == c.sh
    late = _post(
        client,
        c.lead_sh.user,
        {"kind": "order", "source": "sh-sheet", "rows": [_row("A2", c.rep_sh2.code, AFTER)]},
    )
    assert late.status_code == 422
    assert late.json()["errors"][0]["column"] == "person"
    assert not Fact.objects.filter(external_id="A2").exists()


def test_a_lead_who_moved_away_writes_nothing_for_the_old_team(client, world):
    c = world.c
    response = _post(
        client,
        c.lead_sz.user,
        {"kind": "order", "source": "sz-sheet", "rows": [_row("B1", c.rep_sz.code, AFTER)]},
    )
    assert response.status_code == 422
    assert not Fact.objects.filter(source="sz-sheet").exists()


def test_an_unknown_code_and_another_teams_code_get_the_same_answer(client, world):
    c = world.c
    answers = []
    for person in (c.rep_sz.code, "NO-SUCH-CODE"):
        body = _post(
            client,
            c.lead_sh.user,
            {"kind": "order", "source": "sh-sheet", "rows": [_row("C1", person, BEFORE)]},
        ).json()
        error = body["errors"][0]
        answers.append((error["column"], error["reason"].replace(person, "X")))
    assert answers[0] == answers[1]
    answers = []
    for customer in ("C-rep_sz", "C-NO-SUCH"):
        body = _post(
            client,
            c.lead_sh.user,
            {
                "kind": "order",
                "source": "sh-sheet",
                "rows": [_row("C2", c.rep_sh1.code, BEFORE, customer=customer)],
            },
        ).json()
        error = body["errors"][0]
        answers.append((error["column"], error["reason"].replace(customer, "X")))
    assert answers[0] == answers[1]


def test_reps_write_through_the_daily_report_only(client, world):
    c = world.c
    response = _post(
        client, c.rep_sh1.user, {"kind": "order", "source": "erp", "rows": [_row("SO-1", "", BEFORE)]}
    )
    assert response.status_code == 403
    assert not ImportBatch.objects.exists()


def test_a_daily_report_never_attaches_another_reps_customer(world):
    from salestarget.actuals.services import DailyLine, do_submit_daily_report

    c = world.c
    theirs = Customer.objects.get(code="C-rep_sz")
    do_submit_daily_report(
        c.rep_sh1.user, day=TODAY, lines=[DailyLine(kind="order", amount=5, customer=theirs.code)], token="t1"
    )
    fact = Fact.objects.get(source="daily")
    assert fact.customer != theirs
    assert fact.customer.owner == c.rep_sh1
    assert Customer.objects.get(pk=theirs.pk).owner == c.rep_sz
