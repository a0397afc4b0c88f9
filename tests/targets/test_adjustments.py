"""One schema for the adjustments: the form, the API and the command are generated from it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from salestarget.core.errors import DomainError
from salestarget.targets.adjustments import SPECS, Adjustments
from salestarget.targets.forms import RecommendForm
from salestarget.targets.management.commands.recommend import Command
from tests.test_api_contract import openapi

URL = "/api/v1/targets/recommendations"


@pytest.mark.django_db
def test_every_adjustment_is_a_form_field_an_api_parameter_and_an_option(company):
    names = [spec.name for spec in SPECS]
    assert len(names) == 10
    form = RecommendForm(company.admin, {})
    assert set(names) <= set(form.fields)
    assert [field.name for row in form.adjustment_rows for field in row] == names
    doc = openapi()
    get = doc["paths"][URL]["get"]
    query = {p["name"]: p["schema"] for p in get["parameters"]}
    body_ref = doc["paths"][URL]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]["properties"]
    parser = Command().create_parser("salestarget", "recommend")
    options = {action.dest: action for action in parser._actions}
    for spec in SPECS:
        assert spec.name in query and spec.name in body, spec.name
        assert options[spec.name].default == spec.default, spec.name
    # Bounds come from the schema: growth above -100 (exclusive), at most 1000 percent.
    growth = query["growth_pct"]
    assert (growth["exclusiveMinimum"], growth["maximum"]) == (-100, 1000)
    assert options["growth_pct"].option_strings == ["--growth"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, value, form_value",
    [("growth_pct", -100, "-100"), ("ramp_months", 0, "0"), ("hire_productivity", -100, "-1")],
)
def test_out_of_range_is_refused_alike_everywhere(client, company, name, value, form_value):
    with pytest.raises(DomainError) as refused:
        Adjustments(**{name: value})
    form = RecommendForm(company.admin, {**RecommendForm.defaults(), name: form_value})
    assert not form.is_valid() and form.errors[name] == [str(refused.value)]
    client.force_login(company.admin)
    response = client.get(URL, {name: value})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["query", name]
    flag = next(spec.flag or spec.name for spec in SPECS if spec.name == name).replace("_", "-")
    with pytest.raises(CommandError, match=str(refused.value).split(" ")[0]):
        call_command("recommend", f"--{flag}", form_value, stdout=StringIO())


def test_empty_values_take_the_defaults():
    assert Adjustments.from_values({"growth_pct": None, "ramp_months": None, "other": 1}) == Adjustments()
    assert Adjustments().to_dict()["ramp_months"] == 3
