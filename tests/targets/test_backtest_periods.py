"""Issue 12, item 4: a backtest compares like with like where the actuals stop before the year
ends, and its level takes words ("unit", "company", "region") as well as depths."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from salestarget.actuals.models import DailyRollup
from salestarget.core.errors import DomainError
from salestarget.engine.calendar import add_months
from salestarget.targets.backtest import backtest
from tests.targets.conftest import write_history
from tests.test_api_contract import assert_documented

pytestmark = pytest.mark.django_db

URL = "/api/v1/targets/recommendations/backtest"


def _year() -> int:
    """Last calendar (fiscal) year: its months all lie in the fixture's four years."""
    return timezone.localdate().year - 1


def _cut(company, last_month: int):
    """The fixture's history with the data ending in ``last_month`` of last year."""
    write_history(company)
    DailyRollup.objects.filter(day__gte=add_months(dt.date(_year(), last_month, 1), 1)).delete()
    return company


def test_api_compares_only_the_months_with_actuals(client, company):
    _cut(company, 6)
    client.force_login(company.admin)
    response = client.get(URL, {"year": _year(), "level": "rep"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["months_compared"] == 6 and data["holdout"] == 6
    assert data["complete"] is False
    assert data["last_month"] == dt.date(_year(), 6, 1).isoformat()
    assert f"Jun {_year()}" in data["note"] and "6 months" in data["note"]
    assert {row["months"] for row in data["series"]} == {6}
    # The actual totals are those six months, not a year with half of it missing.
    first_half = DailyRollup.objects.filter(
        person_id=company.rep_sh1.pk, day__gte=dt.date(_year(), 1, 1), day__lt=dt.date(_year(), 7, 1)
    )
    sh1 = next(row for row in data["series"] if row["name"] == "陈一")
    assert sh1["actual_total"] == sum(first_half.values_list("amount", flat=True))


def test_whole_year_is_complete(company):
    write_history(company)
    admin = get_user_model().objects.get(username="admin")
    data = backtest(admin, _year(), "rep").to_dict()
    assert data["months_compared"] == 12 and data["complete"] is True and data["note"] is None


def test_fewer_than_three_months_of_actuals_is_refused(client, company):
    _cut(company, 2)
    client.force_login(company.admin)
    response = client.get(URL, {"year": _year(), "level": "rep"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    detail = assert_documented(response, "GET", URL)["detail"]
    assert str(_year()) in detail and f"Feb {_year()}" in detail


def test_partial_year_on_the_page(login, company):
    _cut(company, 6)
    response = login("admin").get(reverse("targets:backtest"), {"year": _year(), "level": "unit"})
    assert response.status_code == 200
    assert response.context["result"].months_compared == 6
    assert 'data-testid="partial"' in response.content.decode()


def test_level_words(client, company):
    write_history(company)
    client.force_login(company.admin)
    teams = client.get(URL, {"year": _year(), "level": "unit"})
    assert teams.status_code == 200, teams.content
    assert {row["name"] for row in teams.json()["series"]} == {"上海组", "深圳组"}
    assert teams.json()["depth"] == 2
    regions = client.get(URL, {"year": _year(), "level": "region"}).json()
    assert {row["name"] for row in regions["series"]} == {"华东", "华南"}
    # A team lead's lowest units are their team.
    client.force_login(company.lead_sh.user)
    own = client.get(URL, {"year": _year(), "level": "unit"}).json()
    assert [row["name"] for row in own["series"]] == ["上海组"]


def test_unknown_level_is_refused_in_the_readers_language(client, company):
    admin = get_user_model().objects.get(username="admin")
    with override("en"):
        with pytest.raises(DomainError) as refused:
            backtest(admin, _year(), "bogus")
        message = str(refused.value)  # a lazy message: shown in the language active when read
    assert message.startswith('Unknown level "bogus"') and '"unit"' in message
    with override("zh-hans"):
        assert str(refused.value).startswith("未知的层级“bogus”")
    # Over the API, an unknown word fails the documented pattern; a level the user does not
    # manage is refused in English for an English reader.
    client.force_login(company.lead_sh.user)
    bogus = client.get(URL, {"year": _year(), "level": "bogus"}, HTTP_ACCEPT_LANGUAGE="en")
    assert bogus.status_code == 422
    assert assert_documented(bogus, "GET", URL)["errors"][0]["loc"] == ["query", "level"]
    region = client.get(URL, {"year": _year(), "level": "region"}, HTTP_ACCEPT_LANGUAGE="en")
    assert region.status_code == 400
    assert assert_documented(region, "GET", URL)["detail"] == "You manage no units at that level."
