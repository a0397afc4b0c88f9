"""The recommendation pages and ``salestarget recommend``."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from salestarget.core.money import format_percent

pytestmark = pytest.mark.django_db


def test_page_shows_recommendation_charts_and_explanation(login, sales):
    client = login("lead_sh")
    response = client.get(reverse("targets:recommend"))
    assert response.status_code == 200
    html = response.content.decode()
    for marker in ('data-testid="recommended"', 'data-testid="explanation"', 'data-testid="bottom-up"'):
        assert marker in html
    assert 'id="chart-forecast"' in html and 'id="chart-probability"' in html
    assert response.context["rec"].scope.unit == sales.sh
    # The expected total's own chance, from the learned distribution: not a fixed "50%".
    rec = response.context["rec"]
    chance = re.search(r'data-testid="expected-chance">([^<]*)<', html).group(1)
    assert chance == f"达成概率 {format_percent(rec.probability_of(rec.expected), 1)}"

    response = client.get(
        reverse("targets:recommend"),
        {
            "person": sales.rep_sh1.pk,
            "year": response.context["rec"].period.fiscal_year,
            "p_pct": 50,
            "ramp_months": 3,
            "growth_pct": 10,
            "hires": 1,
            "hire_month": "2030-01",
            "hire_productivity": "1000",
            "check_target": "100",
        },
    )
    assert response.status_code == 200
    rec = response.context["rec"]
    assert rec.scope.person == sales.rep_sh1 and rec.p == 0.5
    assert response.context["checked"][0] == 10_000
    assert 'data-testid="checked-target"' in response.content.decode()


def test_page_forbidden_scope_is_404_and_bad_input_is_a_form_error(login, sales):
    client = login("rep_sh1")
    assert client.get(reverse("targets:recommend"), {"person": sales.rep_sz.pk}).status_code == 404
    assert client.get(reverse("targets:recommend"), {"unit": sales.sh.pk}).status_code == 404
    response = client.get(
        reverse("targets:recommend"), {"year": 2027, "p_pct": 80, "ramp_months": 3, "quarter": 1, "month": 2}
    )
    assert response.status_code == 200 and response.context["rec"] is None
    assert response.context["form"].non_field_errors()
    response = client.get(
        reverse("targets:recommend"), {"year": 2027, "p_pct": 80, "ramp_months": 3, "quarter": "h2"}
    )
    assert response.context["rec"].period_label == "2027年下半年"
    assert '<option value="h2" selected>' in response.content.decode()


def test_backtest_page(login, sales):
    client = login("admin")
    response = client.get(reverse("targets:backtest"))
    assert response.status_code == 200
    assert 'data-testid="calibration"' in response.content.decode()
    report = response.context["result"].report
    assert len(report.series) == 3
    # What a target is set on, the total of the months, beside the monthly errors (issue 17).
    from salestarget.web.templatetags.salestarget import cny

    total = report.pooled["total_mae"]["forecast"]
    assert total is not None
    cell = f'<td class="text-end" data-testid="total-mae-forecast">{cny(total)}</td>'
    assert cell in response.content.decode() and "准确度：各月与合计" in response.content.decode()
    response = client.get(reverse("targets:backtest"), {"year": 2020, "level": "1"})
    assert response.status_code == 200


def test_cli_text_and_json(sales):
    out = StringIO()
    call_command("recommend", "--unit", "EAST", "--growth", "5", "--target", "100000", stdout=out)
    text = out.getvalue()
    # The engine's name of the model beside the words (the fixture's one date a month is a monthly
    # cadence: the shared season fits it best).
    models = ("AutoETS", "SeasonalNaive", "AutoTheta", "AutoARIMA", "SharedSeason")
    assert any(f"({model})" in text for model in models)
    assert "自下而上" in text and "目标 10万 的达成概率：" in text
    out = StringIO()
    call_command(
        "recommend", "--person", sales.rep_sz.code, "--quarter", "2", "--p", "0.5", "--json", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["scope"]["person"]["name"] == "黄深" and data["recommended"] == data["ladder"]["0.5"]
    with pytest.raises(CommandError):
        call_command("recommend", "--unit", "NOPE", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("recommend", "--user", "rep_sh1", "--person", sales.rep_sz.code, stdout=StringIO())
