"""QA of the amount a team lead types as the team's commitment (团队共创): 万 / 亿 / 元 read
exactly, and a refusal that speaks in the unit typed (yuan), never in fen."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from salestarget.core.errors import DomainError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import commitments
from salestarget.targets.models import Commitment
from salestarget.targets.services import do_create_plan, do_set_plan_total
from tests.targets.conftest import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(roles):
    period = fiscal_calendar().year(timezone.localdate().year + 1)
    plan = do_create_plan(roles.admin, metric=Metric.objects.get(code="sales"), period=period)
    do_set_plan_total(roles.admin, plan, method="typed", amount=50_000_000_00)
    return plan


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("1,234.56万", 1_234_560_000),
        ("1234.56万元", 1_234_560_000),
        ("0.5亿", 5_000_000_000),
        ("1.5亿元", 15_000_000_000),
        ("100元", 10_000),
        ("１，２３４．５６万", 1_234_560_000),
        ("1,000,000.50", 1_000_000_50),
        (" 88 ", 88_00),
        ("¥1.2万", 1_200_000),
        ("0", 0),
    ],
)
def test_a_typed_commitment_is_read_exactly(plan, typed, fen):
    assert commitments.parse_amount(typed, plan.metric) == fen


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1.2345678万", ["1.2345678万", "2"]),  # 0.078 yuan: more than fen
        ("12.345", ["12.345", "2"]),
        ("abc", ["abc"]),
        ("", []),
        ("-100", ["-100", "元"]),
        ("-1万", ["-1万", "元"]),
        ("=1+1", ["=1+1"]),
        ("100000000000亿", ["100000000000亿", "元"]),
        ("1e999999", ["1e999999", "元"]),  # the page answered 500 (decimal.Overflow)
        ("Infinity", ["Infinity"]),  # the page answered 500 (OverflowError)
        ("NaN", ["NaN"]),
    ],
)
def test_a_wrong_commitment_says_why_in_yuan(plan, typed, words):
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        commitments.parse_amount(typed, plan.metric)
    message = str(refused.value)
    for word in words:
        assert word in message, message
    assert "最小单位" not in message and "1000000000000000" not in message


def test_a_negative_commitment_is_refused_in_yuan_not_fen(company, plan):
    """-100 typed on the page reached do_commit as -10000 fen and was refused with "数值须为 0
    到 1000000000000000 之间的整数（以指标的最小单位计）"."""
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        commitments.do_commit(user("lead_sh"), plan, unit=company.sh, amount=-100_00)
    message = str(refused.value)
    assert "-100" in message and "元" in message
    assert "最小单位" not in message and "1000000000000000" not in message
    with translation.override("en"), pytest.raises(DomainError) as refused:
        commitments.do_commit(user("lead_sh"), plan, unit=company.sh, amount=10**15 + 1)
    assert "10,000,000,000,000" in str(refused.value) and "yuan" in str(refused.value)
    assert not Commitment.objects.exists()


def test_the_page_refuses_minus_100_in_yuan(client, company, plan):
    client.force_login(user("lead_sh"))
    page = client.post(
        f"/targets/plans/{plan.pk}/commitments/",
        {"action": "commit", "kind": "unit", "node": company.sh.pk, "unit": company.sh.pk, "amount": "-100"},
        follow=True,
    ).content.decode()
    assert "-100" in page and "最小单位" not in page
    assert not Commitment.objects.exists()


def test_the_page_takes_a_commitment_in_wan(client, company, plan):
    client.force_login(user("lead_sh"))
    client.post(
        f"/targets/plans/{plan.pk}/commitments/",
        {
            "action": "commit",
            "kind": "unit",
            "node": company.sh.pk,
            "unit": company.sh.pk,
            "amount": "1,234.56万",
        },
    )
    assert Commitment.objects.get(unit=company.sh).amount == 1_234_560_000
