"""A small synthetic sales history: four years of monthly orders for three reps.

Rollup rows are written directly (one per rep and month) so the tests exercise the
recommendation service without the import pipeline.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.utils import timezone

from salestarget.engine.calendar import add_months

MONTHS = 48


def history_months(today: dt.date | None = None) -> list[dt.date]:
    last = add_months((today or timezone.localdate()).replace(day=1), -1)
    return [add_months(last, i - MONTHS + 1) for i in range(MONTHS)]


@pytest.fixture
def sales(company):
    """Monthly orders of rep_sh1, rep_sh2 (上海组) and rep_sz (深圳组), seasonal with growth."""
    return write_history(company)


def write_history(company):
    """The ``sales`` fixture's rollups, for tests elsewhere (the browser tests) to reuse."""
    from salestarget.actuals.models import DailyRollup

    reps = [
        (company.rep_sh1, company.sh, company.shanghai, 2_000_000),
        (company.rep_sh2, company.sh, company.shanghai, 1_500_000),
        (company.rep_sz, company.sz, company.guangdong, 1_000_000),
    ]
    rows = []
    for i, month in enumerate(history_months()):
        season = 1 + 0.3 * math.sin(2 * math.pi * (month.month - 3) / 12)
        for k, (person, unit, region, level) in enumerate(reps):
            wobble = 1 + 0.05 * math.sin(i * (k + 2.3))
            rows.append(
                DailyRollup(
                    day=month.replace(day=15),
                    kind="order",
                    person_id=person.pk,
                    unit_id=unit.pk,
                    product_id=company.product.pk,
                    region_id=region.pk,
                    amount=round(level * season * (1 + 0.01 * i) * wobble),
                    quantity=10,
                    rows=3,
                )
            )
    DailyRollup.objects.bulk_create(rows)
    return company


def add_one_off_deal(person, unit, amount: int) -> dt.date:
    """A single large order 14 months back (last year's month before last); returns its month."""
    from salestarget.actuals.models import DailyRollup

    month = history_months()[-14]
    DailyRollup.objects.create(
        day=month.replace(day=20), kind="order", person_id=person.pk, unit_id=unit.pk, amount=amount
    )
    return month


def user(username: str):
    """The sign-in of a user of the ``company`` fixture (or of ``roles``)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


@pytest.fixture
def roles(company):
    """Sales operations and a company-wide viewer besides the tree's managers and reps."""
    from salestarget.org.models import RoleAssignment
    from tests.factories import UserFactory

    RoleAssignment.objects.create(user=UserFactory(username="ops"), role="ops")
    RoleAssignment.objects.create(user=UserFactory(username="viewer"), role="viewer")
    return company
