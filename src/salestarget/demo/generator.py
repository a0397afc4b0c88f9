"""Generate a believable Chinese sales company with three years of history and a published plan.

Why it looks the way it does:

* A demo is only convincing if the patterns a sales director expects are there: growth from year
  to year, a Q4 peak, the Spring-Festival dip in whichever month the festival falls that year, a
  slow week after it, strong and weak reps, new hires ramping up, new versus repeat customers,
  receivables that lag orders, a sales funnel. Order rates therefore follow the Chinese working-day
  calendar of the engine (调休 included), so January and February dips move with the holiday.
* The same code path serves the 40-rep demo and the 10-million-fact benchmark, so what the
  benchmark measures is what the tests check: every fact is drawn vectorised with numpy, one month
  at a time (memory stays flat whatever the size), and written by the fact import's own writer
  (``executemany`` on SQLite, ``COPY`` on PostgreSQL) instead of building model instances.
* Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed order, so a seed and a
  ``today`` give identical data (only the login passwords come from ``secrets``). Nothing random
  depends on database ids, which differ between runs.
* The org is effective-dated on purpose: reps join during the history, two leave (their customers
  pass to a teammate), one moves team, and every fact carries the unit the person belonged to on
  the fact's date — the demo exercises the crediting rules instead of hiding them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from salestarget.actuals import rollups
from salestarget.actuals.importers import INSERT_COLUMNS, ChunkWriter
from salestarget.actuals.models import ImportBatch
from salestarget.catalog.models import Customer, Product, Region, Segment
from salestarget.demo import names
from salestarget.engine.allocate import apportion, level_totals, seasonal_profile
from salestarget.engine.calendar import Period, day_weights
from salestarget.metrics.models import FactKind, Metric
from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment
from salestarget.targets.models import Plan, Scenario, TargetCell

COMPANY = "华辰科技有限公司"
COMPANY_CODE = "HC"
EMAIL_DOMAIN = "huachen.example"
SOURCE = "demo"
HQ_CITY = "上海"  # head-office teams are numbered from the start (上海一组), others only when split


@dataclass(frozen=True)
class Size:
    reps: int
    teams_per_region: int
    customers: int


SIZES = {
    "small": Size(reps=40, teams_per_region=2, customers=600),
    "medium": Size(reps=400, teams_per_region=12, customers=6_000),
    "large": Size(reps=5_000, teams_per_region=125, customers=75_000),
}


@dataclass(frozen=True)
class SalesRegion:
    name: str
    code: str
    rep_share: float
    provinces: tuple[tuple[str, str], ...]  # (ISO 3166-2:CN suffix, name)
    cities: tuple[tuple[str, str, str], ...]  # team city: (name, code, province code)


REGIONS = (
    SalesRegion(
        "华东", "EAST", 0.30, (("SH", "上海"), ("JS", "江苏"), ("ZJ", "浙江")),
        (("上海", "SH", "SH"), ("杭州", "HZ", "ZJ"), ("南京", "NJ", "JS"), ("苏州", "SU", "JS")),
    ),
    SalesRegion(
        "华南", "SOUTH", 0.26, (("GD", "广东"), ("FJ", "福建")),
        (("深圳", "SZ", "GD"), ("广州", "GZ", "GD"), ("福州", "FZ", "FJ"), ("厦门", "XM", "FJ")),
    ),
    SalesRegion(
        "华北", "NORTH", 0.24, (("BJ", "北京"), ("TJ", "天津"), ("HE", "河北")),
        (("北京", "BJ", "BJ"), ("天津", "TJ", "TJ"), ("石家庄", "SJZ", "HE")),
    ),
    SalesRegion(
        "西区", "WEST", 0.20, (("SC", "四川"), ("SN", "陕西"), ("CQ", "重庆")),
        (("成都", "CD", "SC"), ("西安", "XA", "SN"), ("重庆", "CQ", "CQ")),
    ),
)  # fmt: skip

# Product lines: (code, name, share of order lines, yearly drift of that share, products), and per
# product (code, name, list price in yuan, median quantity per order line, gross margin at list price).
# Software subscriptions gain share every year and hardware loses some, as in most IoT vendors.
PRODUCT_LINES = (
    ("HW", "智能硬件", 0.40, -0.06, (
        ("HW-LOCK", "智能门锁 Pro", 2_980, 8, 0.32),
        ("HW-GW", "物联网网关 G2", 1_680, 12, 0.30),
        ("HW-SENSOR", "工业传感器套件", 6_800, 4, 0.35),
        ("HW-EDGE", "边缘计算盒 E1", 12_800, 2, 0.28),
    )),
    ("SW", "软件订阅", 0.35, 0.10, (
        ("SW-STD", "云平台标准版（用户·年）", 960, 25, 0.82),
        ("SW-ENT", "云平台企业版（用户·年）", 2_400, 10, 0.85),
        ("SW-BI", "数据分析模块（用户·年）", 1_800, 12, 0.80),
        ("SW-SEC", "安全合规套件（年）", 28_000, 1, 0.78),
    )),
    ("SV", "实施服务", 0.25, 0.0, (
        ("SV-DEP", "部署实施（人天）", 2_800, 8, 0.42),
        ("SV-DEV", "定制开发（人天）", 3_500, 6, 0.38),
        ("SV-TRN", "培训服务（场）", 6_000, 3, 0.55),
        ("SV-OPS", "运维年保（年）", 36_000, 1, 0.45),
    )),
)  # fmt: skip

# Customer segments: (code, share of customers, how often they order, quantity factor, discount
# range, extra days to pay, visit weight, affinity to the HW/SW/SV lines). Key accounts buy big at
# deep discounts and pay late; the public sector pays latest and buys services.
SEGMENTS = (
    ("key", 0.10, 2.5, 3.0, (0.75, 0.90), 20, 2.0, (1.0, 1.2, 1.3)),
    ("smb", 0.60, 1.0, 1.0, (0.88, 1.00), 0, 1.0, (1.0, 1.0, 0.8)),
    ("consumer", 0.12, 0.6, 0.4, (0.95, 1.00), 0, 0.4, (1.8, 0.6, 0.3)),
    ("public", 0.18, 1.2, 2.0, (0.85, 0.95), 30, 1.5, (0.8, 1.0, 1.5)),
)

TIERS = ("A", "B", "C", "D")
TIER_SHARES = (0.15, 0.35, 0.35, 0.15)
TIER_OUTPUT = (1.6, 1.15, 0.85, 0.6)

# Month-of-year demand (January first): quarter-end pushes, a mid-year 618 bump, a summer lull and
# the year-end budget rush. January and February are neutral on purpose: their dip comes from the
# working-day calendar, so it moves with the Spring Festival.
SEASON = (1.00, 1.00, 1.06, 0.96, 0.98, 1.10, 0.92, 0.92, 1.06, 1.02, 1.18, 1.40)
PRODUCTIVITY_GROWTH = (0.05, 0.09)  # per year, on top of the growing headcount
OFF_DAY_WEIGHT = 0.04  # a few orders are still booked at weekends and holidays
POST_FESTIVAL_WEEK = 0.55  # customers and staff return slowly after the Spring Festival
WORKING_DAYS_PER_MONTH = 21.0
RAMP_MONTHS = 3.0  # a new hire reaches ~86% of their level after six months

ORDERS_PER_MONTH = 5.5  # repeat orders of a fully ramped, average rep in a 21-working-day month
VISITS_PER_MONTH = 30.0
OPPORTUNITIES_PER_MONTH = 4.0

STAGES = ("lead", "qualified", "proposal", "won", "lost")
# Stage mix of an opportunity by its age in days (< 30, < 90, < 180, older): young ones are open,
# old ones mostly decided, with roughly one in three decided opportunities won.
STAGE_AGE_EDGES = (30, 90, 180)
STAGE_MIX = (
    (0.55, 0.28, 0.12, 0.03, 0.02),
    (0.20, 0.30, 0.25, 0.12, 0.13),
    (0.05, 0.12, 0.18, 0.25, 0.40),
    (0.02, 0.04, 0.06, 0.30, 0.58),
)

PLAN_GROWTH = 0.15
TEN_THOUSAND_YUAN = 1_000_000  # fen; Chinese plans set the company total in whole 万元

ProgressCallback = Callable[[str, float], None]


class DemoDataExists(Exception):
    """The database already holds an organisation; the demo only loads into an empty one."""


@dataclass(frozen=True)
class DemoSummary:
    """What was generated, for the ``demo`` command to print and for tests to look things up.

    ``accounts`` holds (username, password, role, display name); the passwords exist nowhere else.
    ``ids`` maps stable names (``unit_sh1``, ``person_rep_sz``, ``plan`` …) to primary keys.
    """

    company: str
    seed: int
    size: str
    today: dt.date
    counts: dict[str, int]
    facts_by_kind: dict[str, int]
    accounts: list[tuple[str, str, str, str]]
    ids: dict[str, int]
    elapsed_seconds: float


def generate(
    *,
    seed: int = 42,
    size: str = "small",
    today: dt.date | None = None,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Load the demo company into an empty database, atomically, and return what was created.

    History runs from 1 January three years before ``today`` through yesterday; the published plan
    is for ``today``'s (calendar = fiscal) year. Raises DemoDataExists if any org unit exists.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    started = time.perf_counter()
    with transaction.atomic():
        if OrgUnit.objects.exists():
            raise DemoDataExists(
                _("The database already holds org units; the demo loads only into an empty one.")
            )
        demo = _Demo(seed, SIZES[size], today or timezone.localdate(), progress or _no_progress)
        demo.build()
    return DemoSummary(
        company=COMPANY,
        seed=seed,
        size=size,
        today=demo.today,
        counts=demo.counts,
        facts_by_kind=demo.facts_by_kind,
        accounts=demo.accounts,
        ids=demo.ids,
        elapsed_seconds=time.perf_counter() - started,
    )


def _no_progress(label: str, fraction: float) -> None:
    """Progress sink when the caller does not show progress."""


def spring_breaks(work: np.ndarray, first: dt.date) -> list[tuple[int, int]]:
    """(first, last) day index of each year's Spring-Festival break in a working-day mask.

    It is the longest run of days off starting between 10 January and 25 February: nothing else
    in the Chinese calendar is that long then, and deriving it from the mask keeps the demo in step
    with whatever calendar source the engine used for that year.
    """
    edges = np.diff(np.concatenate(([0], (~work).astype(np.int8), [0])))
    best: dict[int, tuple[int, int]] = {}
    for s, e in zip(
        np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist(), strict=True
    ):
        day = first + dt.timedelta(days=s)
        if (day.month, day.day) < (1, 10) or (day.month, day.day) > (2, 25):
            continue
        old = best.get(day.year)
        if old is None or e - s > old[1] - old[0]:
            best[day.year] = (s, e)
    return sorted(best.values())


def pick_weighted(owner: np.ndarray, weight: np.ndarray, who: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each event (person ``who``, uniform ``u``) one item owned by that person, drawn with
    probability proportional to ``weight``; -1 where the person owns nothing with weight.

    Items are sorted by owner once and each person's slice of the cumulative weights is searched,
    so a month of events for thousands of reps costs a sort and a few binary searches.
    """
    if owner.size == 0:
        return np.full(who.size, -1)
    order = np.argsort(owner, kind="stable")
    cum = np.concatenate(([0.0], np.cumsum(weight[order])))
    lo = np.searchsorted(owner[order], who, "left")
    hi = np.searchsorted(owner[order], who, "right")
    total = cum[hi] - cum[lo]
    pos = np.searchsorted(cum, cum[lo] + u * total, "right") - 1
    # Keep inside the person's slice (float rounding can step one past it) and inside the array.
    pos = np.minimum(np.clip(pos, lo, np.maximum(hi - 1, lo)), order.size - 1)
    chosen = order[pos]
    return np.where((total > 0) & (weight[chosen] > 0), chosen, -1)


class _Demo:
    """One generation run: the random stream, the calendar and the people as parallel arrays."""

    def __init__(self, seed: int, size: Size, today: dt.date, progress: ProgressCallback):
        self.rng = np.random.default_rng(seed)
        self.size = size
        self.today = today
        self.progress = progress
        self.start = dt.date(today.year - 3, 1, 1)
        self.n_days = (today - self.start).days  # history covers day indices 0 .. n_days-1
        self.counts: dict[str, int] = {}
        self.facts_by_kind = {kind: 0 for kind in FactKind.values}
        self.accounts: list[tuple[str, str, str, str]] = []
        self.ids: dict[str, int] = {}

    def build(self) -> None:
        self.progress(_("Organisation and people"), 0.0)
        self._calendar()
        self._catalog()
        self._org()
        self._people()
        self.progress(_("Customers"), 0.0)
        self._customers()
        self._facts()
        self.progress(_("Rollups"), 0.0)
        rollups.rebuild()
        self.progress(_("Rollups"), 1.0)
        self._logins()
        self.progress(_("Targets"), 0.0)
        self._plan()
        self.progress(_("Targets"), 1.0)

    # --- calendar -------------------------------------------------------------------------

    def _calendar(self) -> None:
        years = range(self.start.year, self.today.year + 1)
        work = np.concatenate(
            [day_weights(Period("year", dt.date(y, 1, 1), dt.date(y, 12, 31))) for y in years]
        ).astype(bool)
        weight = np.where(work, 1.0, OFF_DAY_WEIGHT)
        for _first, last in spring_breaks(work, self.start):
            weight[last + 1 : last + 8] *= POST_FESTIVAL_WEEK
        self.work = work  # through 31 December of this year, for the plan's working days
        self.cw = np.concatenate(([0.0], np.cumsum(weight[: self.n_days])))
        n = self.n_days
        # The next working day on or after each day (n when none is left in the history).
        following = np.where(work[:n], np.arange(n), n)
        self.next_work = np.concatenate((np.minimum.accumulate(following[::-1])[::-1], [n]))
        self.day_str = np.array(
            [(self.start + dt.timedelta(days=i)).isoformat() for i in range(n)], dtype=object
        )

        self.months: list[tuple[int, int, int, int]] = []  # (year, month, first day, end day exclusive)
        y, m = self.start.year, 1
        while True:
            a = (dt.date(y, m, 1) - self.start).days
            if a >= n:
                break
            b = (dt.date(y + m // 12, m % 12 + 1, 1) - self.start).days
            self.months.append((y, m, a, min(b, n)))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        growth = self.rng.uniform(*PRODUCTIVITY_GROWTH, size=len(years))
        steps = np.array([np.log1p(growth[i // 12]) / 12 for i in range(len(self.months))])
        trend = np.exp(np.cumsum(steps) - steps[0])
        season = np.array([SEASON[mm - 1] for _y, mm, _a, _b in self.months])
        self.level = trend * season * self.rng.lognormal(0.0, 0.03, len(self.months))

    # --- catalog: regions and products -----------------------------------------------------

    def _catalog(self) -> None:
        china = _tree_node(Region, code="CN", name="中国")
        self.region_nodes: list[Region] = []
        province_pk: dict[str, int] = {}
        for region in REGIONS:
            node = _tree_node(Region, code=f"CN-{region.code}", name=region.name, parent=china)
            self.region_nodes.append(node)
            for code, name in region.provinces:
                province_pk[code] = _tree_node(Region, code=f"CN-{code}", name=name, parent=node).pk
        self.province_codes = list(province_pk)
        self.province_pks = np.array(list(province_pk.values()), dtype=np.int64)

        rows = []
        for index, (line_code, line_name, share, drift, products) in enumerate(PRODUCT_LINES):
            line = _tree_node(Product, code=line_code, name=line_name)
            for code, name, price, qty, margin in products:
                node = _tree_node(Product, code=code, name=name, parent=line, unit_price=price * 100)
                rows.append((node.pk, index, share / len(products), drift, price, qty, margin))
        pk, line_of, share, drift, price, qty, margin = (np.array(c) for c in zip(*rows, strict=True))
        self.product_pks = pk.astype(np.int64)
        self.price = price.astype(float)
        self.qty_median = qty.astype(float)
        self.margin = margin.astype(float)
        within = self.rng.uniform(0.7, 1.3, pk.size)  # some products simply sell better
        years = np.arange(len(self.months)) / 12
        self.product_logw = np.log(share * within)[None, :] + years[:, None] * drift[None, :]
        affinity = np.array([s[7] for s in SEGMENTS])
        self.segment_product_logw = np.log(affinity[:, line_of])
        self.counts["regions"] = 1 + len(REGIONS) + len(self.province_codes)
        self.counts["products"] = pk.size

    # --- organisation -----------------------------------------------------------------------

    def _org(self) -> None:
        company = _tree_node(OrgUnit, code=COMPANY_CODE, name=COMPANY, kind=OrgUnit.Kind.COMPANY)
        self.company = company
        self.region_units: list[OrgUnit] = []
        teams: list[tuple[OrgUnit, int, str]] = []  # (unit, region index, province code)
        for k, region in enumerate(REGIONS):
            unit = _tree_node(
                OrgUnit,
                code=f"{COMPANY_CODE}-{region.code}",
                name=region.name,
                kind=OrgUnit.Kind.REGION,
                parent=company,
            )
            self.region_units.append(unit)
            n = self.size.teams_per_region
            per_city = [len(range(i, n, len(region.cities))) for i in range(len(region.cities))]
            for i in range(n):
                city, city_code, province = region.cities[i % len(region.cities)]
                number = i // len(region.cities) + 1
                numbered = per_city[i % len(region.cities)] > 1 or city == HQ_CITY
                name = f"{city}{names.chinese_number(number)}组" if numbered else f"{city}组"
                team = _tree_node(
                    OrgUnit,
                    code=f"{COMPANY_CODE}-{city_code}{number}",
                    name=name,
                    kind=OrgUnit.Kind.TEAM,
                    parent=unit,
                )
                teams.append((team, k, province))
        self.teams = [t for t, _k, _p in teams]
        self.team_pks = np.array([t.pk for t in self.teams], dtype=np.int64)
        self.team_region = np.array([k for _t, k, _p in teams])
        self.team_province = np.array([self.province_codes.index(p) for _t, _k, p in teams])
        self.counts["units"] = 1 + len(REGIONS) + len(self.teams)

    def _people(self) -> None:
        """Reps with hire dates, tiers, leavers and a team move; managers, directors and a VP."""
        rng, n, R = self.rng, self.n_days, self.size.reps
        big = np.iinfo(np.int64).max // 4
        shares = np.array([REGIONS[k].rep_share for k in self.team_region]) / self.size.teams_per_region
        per_team = apportion(R, shares * rng.lognormal(0.0, 0.15, len(self.teams)))
        team = np.repeat(np.arange(len(self.teams)), per_team)

        # Hire dates: a few joined in the last six months, some during the history, most before it.
        n_recent, n_mid = max(3, round(0.10 * R)), round(0.15 * R)
        cohort = np.zeros(R, dtype=int)  # 0 veteran, 1 hired during the history, 2 recent hire
        shuffled = rng.permutation(R)
        cohort[shuffled[:n_recent]] = 2
        cohort[shuffled[n_recent : n_recent + n_mid]] = 1
        hire = np.where(
            cohort == 2,
            n - rng.integers(20, 176, R),
            np.where(
                cohort == 1, rng.integers(0, n - 200, R), -1 - (rng.gamma(2.0, 2.2, R) * 365.25).astype(int)
            ),
        ).astype(np.int64)

        # Tiers follow a latent skill that grows with tenure; output multiplies tier and personality.
        tenure = (n - hire) / 365.25
        latent = rng.normal(0.0, 1.0, R) + 0.6 * np.log(tenure)
        rank = np.argsort(np.argsort(-latent)) / R
        tier = np.searchsorted(np.cumsum(TIER_SHARES), rank, side="right")
        ability = np.array(TIER_OUTPUT)[tier] * rng.lognormal(0.0, 0.2, R)
        drift = rng.normal(0.0, 0.06, R)  # some reps improve over the years, some tire
        visit_rate = rng.lognormal(0.0, 0.2, R)

        # Leavers go at a month end between the second year and last December.
        leave = np.full(R, big, dtype=np.int64)
        month_ends = np.array([b - 1 for _y, _m, _a, b in self.months[12:36]])
        leavers = rng.choice(np.flatnonzero(cohort == 0), size=max(1, round(0.04 * R)), replace=False)
        leave[leavers] = rng.choice(month_ends, size=leavers.size, replace=leavers.size > month_ends.size)

        # Movers change team inside their region on the first of a month, with history both sides.
        move = np.full(R, big, dtype=np.int64)
        team_after = team.copy()
        month_starts = np.array([a for _y, _m, a, _b in self.months[9:-6]])
        move_day = rng.choice(month_starts, size=R)
        candidates = np.flatnonzero((leave == big) & (hire < move_day - 180))
        movers = rng.choice(candidates, size=max(1, round(0.02 * R)), replace=False)
        for r in movers.tolist():
            others = np.flatnonzero(
                (self.team_region == self.team_region[team[r]]) & (np.arange(len(self.teams)) != team[r])
            )
            team_after[r] = rng.choice(others)
            move[r] = move_day[r]

        self.hire, self.leave, self.move = hire, leave, move
        self.team_before, self.team_after = team, team_after
        self.ability, self.drift, self.visit_rate, self.tier = ability, drift, visit_rate, tier
        self.leavers, self.movers = leavers, movers

        # A leaver's customers pass to a teammate still there the day after (else someone in the region).
        self.successor = np.arange(R)
        for r in leavers.tolist():
            day = leave[r]
            here = (
                (self.unit_at(np.arange(R), day) == self.unit_at(np.array([r]), day)[0])
                & (hire <= day)
                & (leave == big)
            )
            pool = np.flatnonzero(here)
            if pool.size == 0:
                pool = np.flatnonzero(
                    (self.team_region[team_after] == self.team_region[team[r]]) & (leave == big)
                )
            self.successor[r] = rng.choice(pool)

        # Territories: the team's province, sometimes a second one of the region.
        self.primary = self.team_province[team]
        second = np.full(R, -1)
        for r in np.flatnonzero(rng.random(R) < 0.4).tolist():
            region = REGIONS[self.team_region[team[r]]]
            options = [
                self.province_codes.index(c)
                for c, _n in region.provinces
                if self.province_codes.index(c) != self.primary[r]
            ]
            second[r] = rng.choice(options)
        self.second = second
        self._write_people()

    def unit_at(self, rep: np.ndarray, day: np.ndarray | int) -> np.ndarray:
        """Team index each rep belonged to on ``day`` (the member unit facts are credited to)."""
        return np.where(day >= self.move[rep], self.team_after[rep], self.team_before[rep])

    def owner_at(self, customer: np.ndarray, day: np.ndarray | int) -> np.ndarray:
        """Rep index owning each customer on ``day``: the original owner, or their successor after they left."""
        first = self.owner[customer]
        return np.where(day > self.leave[first], self.successor[first], first)

    def _date(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=int(index))

    def _names(self, count: int, taken: set[str]) -> list[str]:
        surnames = [s for s, _w in names.SURNAMES]
        p = np.array([w for _s, w in names.SURNAMES])
        p = p / p.sum()
        out = []
        while len(out) < count:
            given = "".join(
                self.rng.choice(list(names.GIVEN_NAME_CHARS), size=1 + int(self.rng.random() < 0.7))
            )
            name = surnames[self.rng.choice(len(surnames), p=p)] + given
            if name not in taken:
                taken.add(name)
                out.append(name)
        return out

    def _write_people(self) -> None:
        rng, R, T = self.rng, self.size.reps, len(self.teams)
        taken: set[str] = set()
        rep_names = self._names(R, taken)
        boss_names = self._names(T + len(REGIONS) + 1, taken)
        # Managers were hired before the history starts: 3 to 15 years before it.
        boss_hire = [
            self.start - dt.timedelta(days=int(365.25 * (3 + rng.gamma(3.0, 1.5)))) for _ in boss_names
        ]

        people = []
        for r in range(R):
            left = self.leave[r] < self.n_days
            people.append(
                Person(
                    code=f"S{r + 1:04d}",
                    name=rep_names[r],
                    tier=TIERS[self.tier[r]],
                    hire_date=self._date(self.hire[r]),
                    leave_date=self._date(self.leave[r]) if left else None,
                    status=Person.Status.LEFT if left else Person.Status.ACTIVE,
                    email=f"s{r + 1:04d}@{EMAIL_DOMAIN}",
                )
            )
        boss_codes = (
            [f"M{i + 1:04d}" for i in range(T)] + [f"D{i + 1:04d}" for i in range(len(REGIONS))] + ["V0001"]
        )
        for code, name, hired in zip(boss_codes, boss_names, boss_hire, strict=True):
            people.append(
                Person(
                    code=code,
                    name=name,
                    tier=TIERS[0],
                    hire_date=hired,
                    email=f"{code.lower()}@{EMAIL_DOMAIN}",
                )
            )
        people = bulk_create_with_history(people, Person, batch_size=1000)
        self.rep_people = people[:R]
        self.rep_pks = np.array([p.pk for p in self.rep_people], dtype=np.int64)
        self.managers = people[R : R + T]
        self.directors = people[R + T : R + T + len(REGIONS)]
        self.vp = people[-1]

        memberships, territories = [], []
        for r, person in enumerate(self.rep_people):
            hired, end = person.hire_date, person.leave_date
            spans = [(self.team_before[r], hired, end)]
            if self.move[r] < self.n_days:
                moved = self._date(self.move[r])
                spans = [
                    (self.team_before[r], hired, moved - dt.timedelta(days=1)),
                    (self.team_after[r], moved, end),
                ]
            memberships += [
                Membership(person=person, unit=self.teams[t], valid_from=a, valid_to=b) for t, a, b in spans
            ]
            for province in (self.primary[r], self.second[r]):
                if province >= 0:
                    territories.append(
                        TerritoryAssignment(
                            person=person,
                            region_id=int(self.province_pks[province]),
                            valid_from=hired,
                            valid_to=end,
                        )
                    )
        for r in self.leavers.tolist():
            heir = self.successor[r]
            took_over = self._date(self.leave[r] + 1)
            for province in sorted(
                {self.primary[r], self.second[r]} - {self.primary[heir], self.second[heir], -1}
            ):
                territories.append(
                    TerritoryAssignment(
                        person=self.rep_people[heir],
                        region_id=int(self.province_pks[province]),
                        valid_from=took_over,
                    )
                )
        for unit, boss in zip(
            self.teams + self.region_units + [self.company],
            self.managers + self.directors + [self.vp],
            strict=True,
        ):
            memberships.append(
                Membership(person=boss, unit=unit, role=Membership.Role.MANAGER, valid_from=boss.hire_date)
            )
        for node, director in zip(self.region_nodes, self.directors, strict=True):
            territories.append(
                TerritoryAssignment(person=director, region=node, valid_from=director.hire_date)
            )
        bulk_create_with_history(memberships, Membership, batch_size=1000)
        bulk_create_with_history(territories, TerritoryAssignment, batch_size=1000)
        self.counts["people"] = len(people)
        self.counts["reps"] = R

    # --- customers ----------------------------------------------------------------------------

    def _customers(self) -> None:
        rng, n, C = self.rng, self.n_days, self.size.customers
        worked = np.clip((n - np.maximum(self.hire, 0)) / n, 0.15, 1.0)
        p = np.sqrt(self.ability) * worked
        owner = rng.choice(self.size.reps, size=C, p=p / p.sum())
        segment = rng.choice(len(SEGMENTS), size=C, p=[s[1] for s in SEGMENTS])
        province = np.where(
            (rng.random(C) < 0.75) | (self.second[owner] < 0), self.primary[owner], self.second[owner]
        )

        # First deals: 8% are still prospects; a veteran's customers may predate the history; a new
        # hire's first deal comes at least three weeks after they start. In-history first deals fall
        # on working days because they are the customer's first order.
        never = np.iinfo(np.int64).max // 4
        earliest = np.maximum(self.hire[owner] + 20, -6 * 365)
        before = (earliest < 0) & (rng.random(C) < 0.45)
        u = rng.random(C)
        workdays = np.flatnonzero(self.work[:n])
        lo = np.searchsorted(workdays, np.maximum(earliest, 0))
        in_history = workdays[np.minimum(lo + (u * (workdays.size - lo)).astype(int), workdays.size - 1)]
        first = np.where(before, earliest + (u * -earliest).astype(int), in_history)
        prospect = (rng.random(C) < 0.08) | (lo >= workdays.size)
        first = np.where(prospect, never, first).astype(np.int64)

        self.owner, self.segment, self.first_deal, self.prospect = owner, segment, first, prospect
        self.customer_province = province
        self.order_weight = np.array([s[2] for s in SEGMENTS])[segment] * rng.lognormal(0.0, 0.5, C)
        self.visit_weight = np.array([s[6] for s in SEGMENTS])[segment]

        current_owner = self.owner_at(np.arange(C), n)
        # The four segments migration catalog 0003 seeds (made again if someone removed them).
        segment_pks = [
            Segment.objects.get_or_create(code=code, defaults={"name": code})[0].pk
            for code, *_rest in SEGMENTS
        ]
        customers = [
            Customer(
                code=f"C{c + 1:06d}",
                name=name,
                segment_id=segment_pks[segment[c]],
                region_id=int(self.province_pks[province[c]]),
                owner_id=int(self.rep_pks[current_owner[c]]),
                first_deal_date=None if prospect[c] else self._date(first[c]),
            )
            for c, name in enumerate(self._customer_names(segment, province))
        ]
        created = Customer.objects.bulk_create(customers, batch_size=2000)
        self.customer_pks = np.array([c.pk for c in created], dtype=np.int64)
        self.counts["customers"] = C

    def _customer_names(self, segment: np.ndarray, province: np.ndarray) -> list[str]:
        """城市 + 字号 + 行业 + 有限公司 (or 城市 + 市 + 机构 for the public sector), all distinct."""
        rng, chars = self.rng, names.TRADE_NAME_CHARS
        taken: set[str] = set()
        out = []
        for seg, prov in zip(segment.tolist(), province.tolist(), strict=True):
            cities = names.CITIES[self.province_codes[prov]]
            kind = SEGMENTS[seg][0]
            for attempt in range(50):
                city = cities[0] if rng.random() < 0.5 else cities[rng.integers(len(cities))]
                if kind == "public" and attempt < 5:
                    name = f"{city}市{names.INSTITUTIONS[rng.integers(len(names.INSTITUTIONS))]}"
                else:
                    a, b = rng.choice(len(chars), size=2, replace=False)
                    industry = names.INDUSTRIES[rng.integers(len(names.INDUSTRIES))]
                    suffixes = names.SUFFIXES[kind]
                    name = f"{city}{chars[a]}{chars[b]}{industry}{suffixes[rng.integers(len(suffixes))]}"
                if name not in taken:
                    break
            taken.add(name)
            out.append(name)
        return out

    # --- facts --------------------------------------------------------------------------------

    def _facts(self) -> None:
        label = _("Sales history")
        self.progress(label, 0.0)
        batch = ImportBatch.objects.create(
            kind="demo", source=SOURCE, filename="", status=ImportBatch.Status.APPLIED
        )
        self.batch_id = batch.pk
        self.next_number = {"order": 1, "visit": 1, "opportunity": 1}
        self.sales_by_month = np.zeros(len(self.months), dtype=np.int64)
        last_year = self.today.year - 1
        self.last_year_team = np.zeros(len(self.teams))
        self.last_year_rep = np.zeros(self.size.reps)
        amount_total = 0
        writer = ChunkWriter(SOURCE)
        for m, (year, _month, a, b) in enumerate(self.months):
            for kind, columns in self._month(m, a, b, year == last_year):
                amount_total += self._write(writer, kind, columns)
            self.progress(label, (m + 1) / len(self.months))
        written = sum(self.facts_by_kind.values())
        ImportBatch.objects.filter(pk=batch.pk).update(
            rows_read=written, rows_written=written, amount_total=amount_total
        )
        self.counts["facts"] = written

    def _month(self, m: int, a: int, b: int, is_last_year: bool):
        """The facts of month ``m`` (days a..b-1) as (kind, columns) pairs."""
        rng, R = self.rng, self.size.reps
        lo = np.maximum(a, self.hire)
        hi = np.minimum(b - 1, self.leave)
        active = lo <= hi
        lo, hi = np.where(active, lo, a), np.where(active, hi, a)
        busy = np.where(active, self.cw[hi + 1] - self.cw[lo], 0.0) / WORKING_DAYS_PER_MONTH
        mid = (a + b) / 2
        ramp = np.clip(1 - np.exp(-((mid - self.hire) / 30.44 + 0.5) / RAMP_MONTHS), 0.05, 1.0)
        skill = self.ability * np.exp(self.drift * mid / 365.25) * ramp
        owner = self.owner_at(np.arange(self.owner.size), a)

        # Orders: repeat business from customers won before this month, plus first orders of new ones.
        n = rng.poisson(ORDERS_PER_MONTH * skill * busy * self.level[m] * rng.lognormal(0.0, 0.15, R))
        rep = np.repeat(np.arange(R), n)
        customer = pick_weighted(
            owner, np.where(self.first_deal < a, self.order_weight, 0.0), rep, rng.random(rep.size)
        )
        keep = customer >= 0
        rep, customer = rep[keep], customer[keep]
        day = self._days(lo[rep], hi[rep], rng.random(rep.size))
        new = np.flatnonzero((self.first_deal >= a) & (self.first_deal < b))
        day = np.concatenate((day, self.first_deal[new]))
        customer = np.concatenate((customer, new))
        rep = np.concatenate((rep, self.owner_at(new, self.first_deal[new])))
        order = np.lexsort((rep, day))
        day, customer, rep = day[order], customer[order], rep[order]
        orders, numbers, totals = self._order_lines(m, day, customer, rep, is_last_year)
        yield FactKind.ORDER, orders
        yield FactKind.COLLECTION, self._collections(day, customer, totals, numbers)

        # Visits: prospects and customers, one or two a working day; no ramp, new hires prospect hard.
        engaged = self.prospect | (self.first_deal < b + 90)
        n = rng.poisson(VISITS_PER_MONTH * busy * self.visit_rate)
        rep = np.repeat(np.arange(R), n)
        customer = pick_weighted(owner, np.where(engaged, self.visit_weight, 0.0), rep, rng.random(rep.size))
        keep = customer >= 0
        rep, customer = rep[keep], customer[keep]
        day = self._days(lo[rep], hi[rep], rng.random(rep.size))
        order = np.lexsort((rep, day))
        yield FactKind.VISIT, self._simple(FactKind.VISIT, "VIS", day[order], customer[order], rep[order])

        # Opportunities: expected deal values, stage by age (young ones open, old ones decided).
        n = rng.poisson(OPPORTUNITIES_PER_MONTH * np.sqrt(skill * self.level[m]) * busy)
        rep = np.repeat(np.arange(R), n)
        customer = pick_weighted(owner, np.where(engaged, self.order_weight, 0.0), rep, rng.random(rep.size))
        keep = customer >= 0
        rep, customer = rep[keep], customer[keep]
        day = self._days(lo[rep], hi[rep], rng.random(rep.size))
        order = np.lexsort((rep, day))
        rep, customer, day = rep[order], customer[order], day[order]
        weights = np.exp(self.product_logw[m])
        product = rng.choice(weights.size, size=rep.size, p=weights / weights.sum())
        seg = self.segment[customer]
        value = self.price[product] * self.qty_median[product] * np.array([s[3] for s in SEGMENTS])[seg]
        value = np.maximum(1_000, np.rint(value * rng.lognormal(0.4, 0.6, rep.size) / 1_000) * 1_000)
        age = self.n_days - 1 - day
        mix = np.cumsum(np.array(STAGE_MIX), axis=1)[np.searchsorted(STAGE_AGE_EDGES, age, side="right")]
        stage = (rng.random(rep.size)[:, None] > mix[:, :-1]).sum(axis=1)
        columns = self._simple(FactKind.OPPORTUNITY, "OPP", day, customer, rep)
        columns.update(
            amount=(value * 100).astype(np.int64),
            product_id=self.product_pks[product],
            stage=np.array(STAGES, dtype=object)[stage],
        )
        yield FactKind.OPPORTUNITY, columns

    def _days(self, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A day in [lo, hi] per event, drawn in proportion to the day weights (working days, festival)."""
        target = self.cw[lo] + u * (self.cw[hi + 1] - self.cw[lo])
        return np.clip(np.searchsorted(self.cw, target, side="right") - 1, lo, hi)

    def _order_lines(self, m: int, day, customer, rep, is_last_year: bool):
        """Lines of the month's orders: 1-3 distinct products each, quantity and discount by segment,
        whole yuan; profit is list-price margin minus the discount, so big discounts eat margin.
        Also keeps the monthly and last-year sums the plan is built from."""
        rng, P = self.rng, self.product_pks.size
        n = day.size
        numbers = self.next_number["order"] + np.arange(n)
        self.next_number["order"] += n
        lines = 1 + rng.binomial(2, 0.4, n)
        # Distinct products per order: weighted sampling without replacement via Gumbel top-k.
        seg = self.segment[customer]
        logits = self.product_logw[m][None, :] + self.segment_product_logw[seg] + rng.gumbel(size=(n, P))
        top = np.argsort(-logits, axis=1)[:, :3]
        mask = np.arange(3)[None, :] < lines[:, None]
        product = top[mask]
        line_no = np.broadcast_to(np.arange(1, 4), (n, 3))[mask]
        of = np.repeat(np.arange(n), lines)
        seg_l = seg[of]
        segments = np.array([s[3] for s in SEGMENTS]), np.array([s[4] for s in SEGMENTS])
        qty = np.maximum(
            1, np.rint(self.qty_median[product] * segments[0][seg_l] * rng.lognormal(0.0, 0.55, of.size))
        )
        discount = rng.uniform(segments[1][seg_l, 0], segments[1][seg_l, 1])
        amount = np.rint(self.price[product] * qty * discount)
        cost = np.rint(
            self.price[product] * (1 - self.margin[product]) * qty * rng.lognormal(0.0, 0.03, of.size)
        )
        amount_fen = amount.astype(np.int64) * 100
        person = rep[of]
        team = self.unit_at(person, day[of])
        starts = np.concatenate(([0], np.cumsum(lines)[:-1]))
        totals = np.add.reduceat(amount_fen, starts) if n else np.zeros(0, dtype=np.int64)
        self.sales_by_month[m] = amount_fen.sum()
        if is_last_year:
            self.last_year_team += np.bincount(team, weights=amount_fen, minlength=len(self.teams))
            self.last_year_rep += np.bincount(person, weights=amount_fen, minlength=self.size.reps)
        columns = {
            "date": self.day_str[day[of]],
            "amount": amount_fen,
            "quantity": qty.astype(np.int64),
            "profit": (amount - cost).astype(np.int64) * 100,
            "person_id": self.rep_pks[person],
            "unit_id": self.team_pks[team],
            "product_id": self.product_pks[product],
            "customer_id": self.customer_pks[customer[of]],
            "region_id": self.province_pks[self.customer_province[customer[of]]],
            "external_id": [
                f"ORD-{o:06d}-{k}" for o, k in zip(numbers[of].tolist(), line_no.tolist(), strict=True)
            ],
        }
        return columns, numbers, totals

    def _collections(self, day, customer, totals, numbers) -> dict:
        """Payments 30-90 days after the order (later for key accounts and the public sector), on a
        working day; 90% pay in full, 6% in part and 4% not (yet) — about 95% of the amount overall."""
        rng, n = self.rng, day.size
        lag = rng.integers(30, 91, n) + np.array([s[5] for s in SEGMENTS])[self.segment[customer]]
        roll = rng.random(n)
        share = np.where(roll < 0.90, 1.0, np.where(roll < 0.96, rng.uniform(0.5, 0.9, n), 0.0))
        paid = self.next_work[np.minimum(day + lag, self.n_days)]
        keep = (paid < self.n_days) & (share > 0)
        paid, customer, numbers = paid[keep], customer[keep], numbers[keep]
        amount = (np.rint(totals[keep] * share[keep] / 100) * 100).astype(np.int64)
        person = self.owner_at(customer, paid)
        order = np.argsort(paid, kind="stable")
        return {
            "date": self.day_str[paid[order]],
            "amount": amount[order],
            "person_id": self.rep_pks[person[order]],
            "unit_id": self.team_pks[self.unit_at(person, paid)[order]],
            "customer_id": self.customer_pks[customer[order]],
            "region_id": self.province_pks[self.customer_province[customer[order]]],
            "external_id": [f"COL-{o:06d}" for o in numbers[order].tolist()],
        }

    def _simple(self, kind: str, prefix: str, day, customer, rep) -> dict:
        """Columns of a counted fact (visit, opportunity): one row per event, quantity 1."""
        numbers = self.next_number[kind] + np.arange(day.size)
        self.next_number[kind] += day.size
        return {
            "date": self.day_str[day],
            "quantity": 1,
            "person_id": self.rep_pks[rep],
            "unit_id": self.team_pks[self.unit_at(rep, day)],
            "customer_id": self.customer_pks[customer],
            "region_id": self.province_pks[self.customer_province[customer]],
            "external_id": [f"{prefix}-{o:07d}" for o in numbers.tolist()],
        }

    def _write(self, writer: ChunkWriter, kind: str, columns: dict) -> int:
        """Insert one kind's rows of a month; returns their amount total.

        Rows stream straight from the column arrays into the writer: building Fact instances
        would cost more than the database does.
        """
        rows = len(columns["date"])
        if rows == 0:
            return 0
        defaults = {
            "kind": str(kind),
            "amount": 0,
            "quantity": 0,
            "profit": 0,
            "product_id": None,
            "stage": "",
            "source": SOURCE,
            "batch_id": self.batch_id,
        }
        values = []
        for name in INSERT_COLUMNS:
            value = columns.get(name, defaults.get(name))
            if isinstance(value, np.ndarray):
                values.append(value.tolist())
            elif isinstance(value, list):
                values.append(value)
            else:
                values.append(repeat(value, rows))
        writer.insert(zip(*values, strict=True))
        self.facts_by_kind[str(kind)] += rows
        return int(np.sum(columns["amount"])) if "amount" in columns else 0

    # --- logins -------------------------------------------------------------------------------

    def _logins(self) -> None:
        """Five sign-ins covering every scope: VP, region director, team lead and two reps."""
        sh1 = self.teams.index(next(t for t in self.teams if t.code == f"{COMPANY_CODE}-SH1"))
        sz1 = self.teams.index(next(t for t in self.teams if t.code == f"{COMPANY_CODE}-SZ1"))
        east = self.region_units[0]
        rep_sh1, rep_sz = self._face_of(sh1), self._face_of(sz1)
        chosen = [
            ("vp", self.vp, "manager", f"{COMPANY}销售副总裁"),
            ("director_east", self.directors[0], "manager", f"{east.name}总监"),
            ("lead_sh1", self.managers[sh1], "manager", f"{self.teams[sh1].name}经理"),
            ("rep_sh1", self.rep_people[rep_sh1], "rep", f"{self.teams[sh1].name}销售代表"),
            ("rep_sz", self.rep_people[rep_sz], "rep", f"{self.teams[sz1].name}销售代表"),
        ]
        User = get_user_model()
        for username, person, role, title in chosen:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(
                username=username, password=password, first_name=person.name, email=person.email
            )
            Person.objects.filter(pk=person.pk).update(user=user)
            person.user = user
            self.accounts.append((username, password, role, f"{person.name}（{title}）"))
        self.ids.update(
            unit_company=self.company.pk,
            unit_east=east.pk,
            unit_sh1=self.teams[sh1].pk,
            unit_sz=self.teams[sz1].pk,
            person_vp=self.vp.pk,
            person_director_east=self.directors[0].pk,
            person_lead_sh1=self.managers[sh1].pk,
            person_rep_sh1=self.rep_people[rep_sh1].pk,
            person_rep_sz=self.rep_people[rep_sz].pk,
            person_mover=int(self.rep_pks[self.movers[0]]),
            person_leaver=int(self.rep_pks[self.leavers[0]]),
        )

    def _face_of(self, team: int) -> int:
        """The rep a team shows in the demo: its longest-serving current member who never moved."""
        now = self.n_days - 1
        here = (self.unit_at(np.arange(self.size.reps), now) == team) & (self.leave > now)
        steady = here & (self.move >= self.n_days)
        pool = np.flatnonzero(steady if steady.any() else here)
        return int(pool[np.argmin(self.hire[pool])])

    # --- plan ---------------------------------------------------------------------------------

    def _plan(self) -> None:
        """This year's published plan: last year x growth, cascaded company > region > team by month,
        then each team-month to its reps; every level sums exactly to its parent month by month
        (largest remainder throughout), as the app's own decomposition leaves a plan. A rep's months
        follow the team's season (a year cell split by working days would not add up to the team's
        December), and a rep hired this year is given only the months since their hire."""
        year, first_year = self.today.year, self.start.year
        month_days = np.array(
            [[self._working_days(y, mm) for mm in range(1, 13)] for y in range(first_year, year + 1)],
            dtype=float,
        )
        history = self.sales_by_month[: 12 * (year - first_year)].reshape(-1, 12)
        shape = seasonal_profile(history, month_days[:-1], month_days[-1])
        total = round(int(history[-1].sum()) * (1 + PLAN_GROWTH) / TEN_THOUSAND_YUAN) * TEN_THOUSAND_YUAN
        levels = level_totals(total, floor_factor=0.9, stretch_factor=1.2)

        team_w = np.repeat(self.last_year_team[:, None] + 1.0, 12, axis=1)
        region_w = np.array([team_w[self.team_region == k].sum(axis=0) for k in range(len(REGIONS))])
        members, rep_w = self._rep_weights(year)
        # Each level is a list of (units x 12 months) arrays: company, regions, teams; plus rep years.
        target = self._cascade(total, shape, region_w, team_w)
        plan = {"target": (target, [_by_month(target[2][t], rep_w[t]) for t in range(len(self.teams))])}
        # Floor and stretch move every cell by its share of the difference, so floor <= target <= stretch
        # holds cell by cell and each level still adds up exactly.
        for level, sign in (("floor", -1), ("stretch", 1)):
            delta = self._cascade(abs(levels[level] - total), target[0][0], target[1], target[2])
            reps = [_by_month(delta[2][t], rep_w[t]) for t in range(len(self.teams))]
            plan[level] = (
                [base + sign * d for base, d in zip(target, delta, strict=True)],
                [base + sign * d for base, d in zip(plan["target"][1], reps, strict=True)],
            )

        record = Plan.objects.create(
            name=f"{year}年度销售目标",
            fiscal_year=year,
            metric=Metric.objects.get(code="sales"),
            status=Plan.Status.PUBLISHED,
            created_by=self.vp.user,
        )
        scenario = Scenario.objects.create(plan=record, name="基准方案", is_primary=True)
        year_start = dt.date(year, 1, 1)

        def cell(unit, person, kind, start, values: dict[str, int]) -> TargetCell:
            return TargetCell(
                scenario=scenario, unit=unit, person=person, period_kind=kind, period_start=start, **values
            )

        def year_and_months(unit, person, months: dict[str, np.ndarray]) -> list[TargetCell]:
            """An owner's year cell and its twelve months (``months``: each level's 12 values)."""
            year_cell = cell(unit, person, "year", year_start, {lv: int(v.sum()) for lv, v in months.items()})
            return [year_cell] + [
                cell(
                    unit,
                    person,
                    "month",
                    dt.date(year, mm + 1, 1),
                    {lv: int(v[mm]) for lv, v in months.items()},
                )
                for mm in range(12)
            ]

        cells = []
        owners = [[self.company], self.region_units, self.teams]
        for depth, units in enumerate(owners):
            for row, unit in enumerate(units):
                cells += year_and_months(
                    unit, None, {lv: units_m[depth][row] for lv, (units_m, _r) in plan.items()}
                )
        for t, people in enumerate(members):
            for i, r in enumerate(people.tolist()):
                cells += year_and_months(
                    None, self.rep_people[r], {lv: reps[t][i] for lv, (_u, reps) in plan.items()}
                )
        bulk_create_with_history(cells, TargetCell, batch_size=1000)
        self.ids.update(plan=record.pk, scenario=scenario.pk)
        self.counts["target_cells"] = len(cells)

    def _rep_weights(self, year: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per team, its current reps and their weights per month (reps x 12): last year's sales
        run-rate, or half the team's median for anyone with under half a year of history (the usual
        quota while ramping), times the share of the month's working days since their hire."""
        now = self.n_days - 1
        team_now = self.unit_at(np.arange(self.size.reps), now)
        first = (dt.date(year - 1, 1, 1) - self.start).days
        last = (dt.date(year, 1, 1) - self.start).days - 1
        worked = np.clip(np.minimum(self.leave, last) - np.maximum(self.hire, first) + 1, 0, None)
        run_rate = self.last_year_rep * 365 / np.maximum(worked, 1)
        seasoned = worked >= 183
        members, weights = [], []
        for t in range(len(self.teams)):
            here = np.flatnonzero((self.leave > now) & (team_now == t))
            peers = here[seasoned[here]]
            median = np.median(run_rate[peers] if peers.size else run_rate[seasoned])
            members.append(here)
            weight = np.where(seasoned[here], run_rate[here], 0.5 * median) + 1.0
            weights.append(weight[:, None] * self._employed(here, year))
        return members, weights

    def _employed(self, reps: np.ndarray, year: int) -> np.ndarray:
        """Each rep's share of each month's working days of ``year`` on or after their hire day."""
        out = np.zeros((reps.size, 12))
        for mm in range(12):
            a = (dt.date(year, mm + 1, 1) - self.start).days
            b = (dt.date(year + (mm + 1) // 12, (mm + 1) % 12 + 1, 1) - self.start).days
            days = self.work[a:b]
            for i, r in enumerate(reps.tolist()):
                out[i, mm] = days[max(0, int(self.hire[r]) - a) :].sum() / max(1, days.sum())
        return out

    def _cascade(self, total: int, month_w, region_w, team_w) -> list[np.ndarray]:
        """Split ``total`` over the months, each month over the regions, each region-month over its
        teams; [company (1 x 12), regions (K x 12), teams (T x 12)]. Yearly values are row sums, so
        both directions add up exactly."""
        company = apportion(total, month_w)
        regions = np.column_stack([apportion(int(company[mm]), region_w[:, mm]) for mm in range(12)])
        teams = np.zeros((len(self.teams), 12), dtype=np.int64)
        for k in range(len(REGIONS)):
            rows = np.flatnonzero(self.team_region == k)
            for mm in range(12):
                teams[rows, mm] = apportion(int(regions[k, mm]), team_w[rows, mm])
        return [company[None, :], regions, teams]

    def _working_days(self, year: int, month: int) -> int:
        a = (dt.date(year, month, 1) - self.start).days
        b = (dt.date(year + month // 12, month % 12 + 1, 1) - self.start).days
        return int(self.work[a:b].sum())


def _by_month(team: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A team's 12 months split over its reps by each month's weights (reps x 12): every month
    adds up to the team's, so the reps' years add up to the team's year."""
    return np.column_stack([_split(int(team[mm]), weights[:, mm]) for mm in range(12)])


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split; a team without current reps keeps its target unassigned (a vacancy)."""
    return apportion(total, weights) if weights.size else np.zeros(0, dtype=np.int64)


def _tree_node(model, **fields):
    """Save one tree node the normal way: its materialised path needs its own id."""
    node = model(**fields)
    node.save()
    return node
