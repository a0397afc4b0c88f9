"""Issue 12 item 16: the company's currency, shown with the number words of the reader's
language, the import units, and the company settings page and API (administrators change them,
sales operations read them)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.utils import timezone, translation

from salestarget.actuals.parsing import Problem, unit_multiplier
from salestarget.actuals.services import do_import_fact_rows
from salestarget.core.errors import DomainError
from salestarget.core.money import CURRENCIES, currency_unit, format_amount, format_exact, get_currency
from salestarget.engine.explain import format_amount as sentence_amount
from salestarget.metrics.models import FiscalSettings
from salestarget.metrics.selectors import company_currency, recent_changes
from salestarget.metrics.services import StaleEdit, do_update_company_settings
from salestarget.org.models import RoleAssignment
from tests.factories import UserFactory

WAN = 10_000 * 100  # fen
YI = 100_000_000 * 100


@pytest.fixture(autouse=True)
def keep_language():
    old = translation.get_language()
    yield
    if old:
        translation.activate(old)
    else:
        translation.deactivate()


@pytest.fixture
def ops(company):
    user = UserFactory(username="ops")
    RoleAssignment.objects.create(user=user, role="ops")
    return user


def signed_in(client, user, lang="zh-hans"):
    client.force_login(user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    return client


# --------------------------------------------------------------------------- display


@pytest.mark.parametrize(
    "code, minor, zh, en",
    [
        # Renminbi reads as it always did in Chinese, with ¥ in English.
        ("CNY", 1_234_5678_00, "1,234.57万", "¥12.35M"),
        ("CNY", 12 * YI, "12亿", "¥1.2B"),
        ("CNY", 123_456, "1,234.56", "¥1,234.56"),
        ("USD", 231_140_000_00, "US$2.31亿", "$231.14M"),
        ("USD", 1_234_5678_00, "US$1,234.57万", "$12.35M"),
        ("USD", 35_000_00, "US$3.5万", "$35K"),
        ("USD", 3_500_000_000_00, "US$35亿", "$3.5B"),
        ("USD", -2_500_000_000_00, "-US$25亿", "-$2.5B"),
        ("EUR", 1_500_000_00, "€150万", "€1.5M"),
        ("HKD", 9_876_543_210_00, "HK$98.77亿", "HK$9.88B"),
        # Yen has no minor unit: small amounts show no decimals; storage keeps two.
        ("JPY", 123_456, "JP¥1,235", "JP¥1,235"),
        ("JPY", 5_000_000_000_00, "JP¥50亿", "JP¥5B"),
        ("JPY", 12_345_678_00, "JP¥1,234.57万", "JP¥12.35M"),
    ],
)
def test_amounts_in_each_currency_and_language(code, minor, zh, en):
    assert format_amount(minor, lang="zh", currency=code) == zh
    assert format_amount(minor, lang="en", currency=code) == en


def test_b_starts_at_a_billion_and_symbol_can_be_left_out():
    assert format_amount(999_999_999_00, lang="en", currency="USD") == "$1,000M"
    assert format_amount(1_000_000_000_00, lang="en", currency="USD") == "$1B"
    assert format_amount(1_000_000_000_00, lang="en", currency="USD", symbol=False) == "1B"
    assert format_amount(None, currency="USD") == "—"
    # A count (decimals 0) in a USD company, without symbol.
    assert format_amount(12, 0, "en", currency="USD", symbol=False) == "12"


def test_exact_amounts_and_header_words():
    assert format_exact(123_456, "CNY") == "1,234.56"
    assert format_exact(-123_456, "USD") == "-1,234.56"
    assert format_exact(123_456, "JPY") == "1,235"
    assert format_exact(None, "JPY") == "—"
    assert [currency_unit("zh", c) for c in ("CNY", "USD", "EUR", "HKD", "JPY")] == [
        "元",
        "美元",
        "欧元",
        "港元",
        "日元",
    ]
    assert [currency_unit("en", c) for c in ("CNY", "USD", "JPY")] == ["yuan", "USD", "JPY"]
    assert get_currency("QQQ").code == "CNY"
    assert {"CNY", "USD", "EUR", "HKD", "JPY"} <= set(CURRENCIES)
    assert CURRENCIES["JPY"].digits == 0 and CURRENCIES["USD"].digits == 2


def test_sentences_name_the_currency():
    assert sentence_amount(12 * WAN, "zh") == "12万元"
    assert sentence_amount(12 * WAN, "zh", "USD") == "12万美元"
    assert sentence_amount(123_450, "en", "USD") == "$1,234.50"
    assert sentence_amount(123_450, "en", "JPY") == "JP¥1,235"


@pytest.mark.django_db
def test_template_filters_follow_the_company_currency(company):
    template = Template("{% load salestarget %}{{ v|cny }}|{% currency_unit %}")
    with translation.override("zh-hans"):
        assert template.render(Context({"v": 35_000_00})) == "3.5万|元"
    do_update_company_settings(company.admin, currency="USD")
    assert company_currency().code == "USD"
    with translation.override("zh-hans"):
        assert template.render(Context({"v": 35_000_00})) == "US$3.5万|美元"
    with translation.override("en"):
        assert template.render(Context({"v": 3_500_000_000_00})) == "$3.5B|USD"
    exact = Template("{% load actuals_tags %}{{ v|yuan }}")
    do_update_company_settings(company.admin, currency="JPY")
    assert exact.render(Context({"v": 123_456})) == "1,235"


# --------------------------------------------------------------------------- import units


def test_import_units_include_millions():
    assert unit_multiplier("million") == 1_000_000
    assert unit_multiplier("百万") == 1_000_000
    assert unit_multiplier("thousand") == unit_multiplier("千") == 1000
    assert unit_multiplier("wan") == unit_multiplier("万元") == 10_000
    assert unit_multiplier(None) == unit_multiplier("yuan") == 1
    with pytest.raises(Problem) as caught:
        unit_multiplier("lakh")
    assert "yuan, thousand, wan, million" in str(caught.value)


@pytest.mark.django_db
def test_a_file_in_millions_is_stored_in_hundredths(company, tmp_path):
    result = do_import_fact_rows(
        None,
        "order",
        [{"external_id": "M1", "date": "2024-03-01", "amount": "1.5", "person": company.rep_sh1.code}],
        source="erp",
        unit="million",
    )
    assert result.ok, result.errors
    assert result.amount_total == 1_500_000_00
    path = tmp_path / "orders.csv"
    path.write_text("external_id,date,amount,person\nM2,2024-03-02,2.25," + company.rep_sh1.code + "\n")
    call_command("import", "order", str(path), "--unit", "million", "--source", "csv")
    from salestarget.actuals.models import Fact

    assert Fact.objects.get(external_id="M2").amount == 2_250_000_00
    with pytest.raises(CommandError):
        call_command("import", "order", str(path), "--unit", "lakh")


@pytest.mark.django_db
def test_the_upload_form_names_units_after_the_currency(company):
    from salestarget.actuals.forms import unit_choices

    do_update_company_settings(None, currency="USD")
    with translation.override("zh-hans"):
        labels = [str(label) for _name, label in unit_choices()]
    assert [name for name, _label in unit_choices()] == ["yuan", "thousand", "wan", "million"]
    with translation.override("en"):
        assert [str(label) for _name, label in unit_choices()] == [
            "units (USD)",
            "thousands (USD)",
            "10k, 万 (USD)",
            "millions (USD)",
        ]
    assert all("USD" in label or "美元" in label for label in labels)


# --------------------------------------------------------------------------- the settings page


@pytest.mark.django_db
def test_admin_changes_the_currency_and_the_home_page_shows_it(client, company):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()  # the home page's figures end then
    result = do_import_fact_rows(
        None,
        "order",
        [{"external_id": "H1", "date": yesterday, "amount": "35000", "person": company.rep_sh1.code}],
        source="erp",
    )
    assert result.ok, result.errors
    signed_in(client, company.admin)
    assert "3.5万" in client.get("/").content.decode()
    page = client.get("/settings/company/")
    assert page.status_code == 200
    version = FiscalSettings.current().version
    response = client.post(
        "/settings/company/",
        {
            "currency": "USD",
            "fy_start_month": 1,
            "week_start": 0,
            "progress_basis": "working",
            "version": version,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert FiscalSettings.current().currency == "USD"
    home = client.get("/").content.decode()
    assert "US$3.5万" in home
    assert 'data-currency="USD"' in home and 'data-currency-symbol="US$"' in home
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    home = client.get("/").content.decode()
    assert "$35K" in home and 'data-currency-symbol="$"' in home


@pytest.mark.django_db
def test_sales_operations_see_the_company_settings_but_cannot_change_them(client, company, ops):
    signed_in(client, ops)
    page = client.get("/settings/company/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="read-only"' in html and "disabled" in html
    version = FiscalSettings.current().version
    response = client.post(
        "/settings/company/",
        {
            "currency": "EUR",
            "fy_start_month": 4,
            "week_start": 0,
            "progress_basis": "working",
            "version": version,
        },
    )
    assert response.status_code == 403
    assert FiscalSettings.current().currency == "CNY"
    with pytest.raises(PermissionDenied):
        do_update_company_settings(ops, currency="EUR")


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["rep_sh1", "lead_sh", "vp"])
def test_reps_and_managers_get_403(client, company, username):
    from django.contrib.auth import get_user_model

    signed_in(client, get_user_model().objects.get(username=username))
    assert client.get("/settings/company/").status_code == 403
    assert client.post("/settings/company/", {"currency": "USD"}).status_code == 403
    assert b"/settings/company/" not in client.get("/").content


@pytest.mark.django_db
def test_the_settings_entry_shows_for_admin_and_ops_only(client, company, ops):
    signed_in(client, company.admin)
    assert b'href="/settings/company/"' in client.get("/").content
    signed_in(client, ops)
    assert b'href="/settings/company/"' in client.get("/").content
    signed_in(client, company.lead_sh.user)
    assert b'href="/settings/company/"' not in client.get("/").content


@pytest.mark.django_db
def test_a_stale_form_is_refused_with_a_clear_message(client, company):
    signed_in(client, company.admin, "en")
    version = FiscalSettings.current().version
    do_update_company_settings(company.admin, version=version, fy_start_month=4)  # someone else saves
    response = client.post(
        "/settings/company/",
        {
            "currency": "USD",
            "fy_start_month": 1,
            "week_start": 0,
            "progress_basis": "working",
            "version": version,
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="form-error"' in html and "Someone else saved these settings" in html
    row = FiscalSettings.current()
    assert (row.currency, row.fy_start_month) == ("CNY", 4)


@pytest.mark.django_db
def test_changes_are_recorded_with_who_and_before_after(client, company):
    do_update_company_settings(company.admin, currency="HKD", reason="moved the books to Hong Kong")
    record = FiscalSettings.current().history.first()
    assert record.history_user == company.admin
    assert record.currency == "HKD"
    assert record.history_change_reason == "moved the books to Hong Kong"
    changes = recent_changes(FiscalSettings.current())
    assert changes[0]["user"] == company.admin
    assert [(f["old"], f["new"]) for f in changes[0]["fields"]] == [("CNY", "HKD")]
    signed_in(client, company.admin)
    html = client.get("/settings/company/").content.decode()
    assert 'data-testid="change"' in html and "HKD" in html


@pytest.mark.django_db
def test_the_service_validates(company):
    with pytest.raises(DomainError):
        do_update_company_settings(company.admin, currency="XYZ")
    with pytest.raises(DomainError):
        do_update_company_settings(company.admin, fy_start_month=13)
    with pytest.raises(DomainError):
        do_update_company_settings(company.admin, country="US")
    with pytest.raises(StaleEdit):
        do_update_company_settings(
            company.admin, version=FiscalSettings.current().version + 1, currency="USD"
        )
    assert FiscalSettings.current().currency == "CNY"


# --------------------------------------------------------------------------- the API


@pytest.mark.django_db
def test_api_reads_and_changes_the_company_settings(client, company, ops):
    client.force_login(company.rep_sh1.user)
    body = client.get("/api/v1/settings/company").json()
    assert body["currency"] == "CNY" and body["currency_digits"] == 2
    refused = client.patch("/api/v1/settings/company", {"currency": "USD"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["detail"]
    client.force_login(ops)
    assert (
        client.patch(
            "/api/v1/settings/company", {"currency": "USD"}, content_type="application/json"
        ).status_code
        == 403
    )
    client.force_login(company.admin)
    version = client.get("/api/v1/settings/company").json()["version"]
    changed = client.patch(
        "/api/v1/settings/company",
        {"currency": "JPY", "fy_start_month": 4, "version": version},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["currency"] == "JPY" and changed.json()["currency_digits"] == 0
    assert changed.json()["version"] == version + 1
    stale = client.patch(
        "/api/v1/settings/company", {"currency": "USD", "version": version}, content_type="application/json"
    )
    assert stale.status_code == 409 and "请刷新页面" in stale.json()["detail"]
    invalid = client.patch("/api/v1/settings/company", {"currency": "XYZ"}, content_type="application/json")
    assert invalid.status_code == 422
    assert FiscalSettings.current().currency == "JPY"
