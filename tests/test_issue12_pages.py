"""Issue 12: batch totals by kind in 万/亿 (6a), error pages in the app's layout (7), and
opportunity stages in the user's language (8)."""

from __future__ import annotations

import re

import pytest
from django.db.models import Sum
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from salestarget.actuals.models import Fact, ImportBatch
from salestarget.actuals.services import do_import_fact_rows
from salestarget.core.money import format_amount

pytestmark = pytest.mark.django_db

LANGS = {"zh": "zh-hans", "en": "en"}


@pytest.fixture(autouse=True)
def keep_language():
    """A request activates its language for the thread: put back the one the next test expects."""
    old = translation.get_language()
    yield
    if old:
        translation.activate(old)
    else:
        translation.deactivate()


def in_lang(lang: str, msgid: str) -> str:
    with translation.override(LANGS[lang]):
        return gettext(msgid)


def imported(user, kind, rows, source="erp") -> ImportBatch:
    result = do_import_fact_rows(user, kind, rows, source=source)
    assert result.ok, result.errors
    return ImportBatch.objects.get(pk=result.batch_id)


def rows_of(person, prefix, amounts, **extra):
    return [
        {"external_id": f"{prefix}{n}", "date": "2024-03-01", "amount": a, "person": person.code, **extra}
        for n, a in enumerate(amounts)
    ]


def fact_sum(batch, kind=None) -> int:
    facts = Fact.objects.filter(batch=batch)
    if kind:
        facts = facts.filter(kind=kind)
    return facts.aggregate(s=Sum("amount"))["s"] or 0


def page(client, url, lang):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=LANGS[lang])


# --- 6a: a batch's total, labelled by its kind, in 万/亿 ---------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_batch_shows_its_kinds_total_in_wan(client, company, login, lang):
    batch = imported(company.admin, "collection", rows_of(company.rep_sz, "C", ["123456.78", "1000000"]))
    login("admin")
    html = page(client, reverse("actuals:batch", kwargs={"pk": batch.pk}), lang).content.decode()
    shown = format_amount(fact_sum(batch), lang=lang)
    assert fact_sum(batch) == 112345678
    assert in_lang(lang, "Collection amount") in html
    assert re.search(r'data-testid="batch-total-collection"[^>]*>\s*' + re.escape(shown), html), shown
    listing = page(client, reverse("actuals:batches"), lang).content.decode()
    assert re.search(r'data-testid="batch-total-collection"[^>]*>\s*' + re.escape(shown), listing)


def test_a_batch_of_several_kinds_shows_each_kinds_total_not_their_sum(client, company, login):
    orders = imported(company.admin, "order", rows_of(company.rep_sz, "O", ["50000", "25000"]))
    collections = imported(company.admin, "collection", rows_of(company.rep_sz, "C", ["30000"]))
    stages = rows_of(company.rep_sz, "P", ["900000"], stage="proposal")
    opportunities = imported(company.admin, "opportunity", stages)
    # The demo company's one batch holds every kind, as the generator writes it.
    mixed = ImportBatch.objects.create(
        kind="demo", source="demo", status=ImportBatch.Status.APPLIED, created_by=company.admin
    )
    Fact.objects.filter(batch__in=[orders, collections, opportunities]).update(batch=mixed)
    mixed.amount_total = fact_sum(mixed)
    mixed.save()
    login("admin")
    for url in (reverse("actuals:batch", kwargs={"pk": mixed.pk}), reverse("actuals:batches")):
        html = page(client, url, "zh").content.decode()
        for kind in ("order", "collection", "opportunity"):
            shown = format_amount(fact_sum(mixed, kind), lang="zh")
            assert re.search(rf'data-testid="batch-total-{kind}"[^>]*>\s*' + re.escape(shown), html), (
                url,
                kind,
            )
        assert format_amount(mixed.amount_total, lang="zh") not in html  # 100.5万, the meaningless sum
    batch_page = page(client, reverse("actuals:batch", kwargs={"pk": mixed.pk}), "zh").content.decode()
    for msgid in ("Order amount", "Collection amount", "Opportunity amount"):
        assert in_lang("zh", msgid) in batch_page


# --- 8: opportunity stages in the user's language ---------------------------------------------


def test_the_facts_list_shows_stage_labels(client, company, login):
    imported(company.admin, "opportunity", rows_of(company.rep_sz, "P", ["1000"], stage="qualified"))
    login("admin")
    zh = page(client, reverse("actuals:index"), "zh").content.decode()
    assert in_lang("zh", "Qualified") == "已确认"
    assert "已确认" in zh and ">qualified<" not in zh
    en = page(client, reverse("actuals:index"), "en").content.decode()
    assert ">Qualified<" in en


def test_the_stage_label_filter():
    from salestarget.actuals.templatetags.actuals_tags import stage_label

    with translation.override("zh-hans"):
        assert stage_label("proposal") == "方案"
        assert stage_label("lead") == "线索"
        assert stage_label("Discovery") == "Discovery"  # a company's own stage stays as written
        assert stage_label("") == ""


# --- 7: error pages in the app's layout -------------------------------------------------------


@pytest.fixture
def others_batch(company):
    return imported(company.lead_sh.user, "order", rows_of(company.rep_sh2, "V", ["10"]), source="lead-sheet")


def assert_in_layout(html: str, lang: str):
    assert f'<html lang="{LANGS[lang]}"' in html
    assert "st-navbar" in html and 'name="viewport"' in html
    assert 'href="/"' in html or f'href="{reverse("web:home")}"' in html
    assert "Not Found</h1>" not in html


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("who", ["rep_sz", "lead_sz", "rep_sh1"])
def test_a_batch_one_may_not_see_is_a_404_in_the_layout(
    client, company, login, others_batch, lang, who, settings
):
    settings.DEBUG = False
    login(who)
    response = page(client, reverse("actuals:batch", kwargs={"pk": others_batch.pk}), lang)
    assert response.status_code == 404
    html = response.content.decode()
    assert_in_layout(html, lang)
    assert in_lang(lang, "Page not found") in html
    assert in_lang(lang, "Back to the home page") in html
    assert in_lang(lang, "Go back") in html
    assert in_lang(lang, "Actuals") in html  # the navigation of the signed-in user


def test_a_404_for_someone_signed_out_is_in_the_layout_too(client, company, settings):
    settings.DEBUG = False
    response = page(client, "/no-such-page/", "en")
    assert response.status_code == 404
    assert_in_layout(response.content.decode(), "en")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_400_and_403_pages_are_in_the_layout(company, lang):
    from django.core.exceptions import PermissionDenied, SuspiciousOperation
    from django.views import defaults

    request = RequestFactory().get("/actuals/", HTTP_ACCEPT_LANGUAGE=LANGS[lang])
    request.user = company.rep_sz.user
    with translation.override(LANGS[lang]):
        request.LANGUAGE_CODE = LANGS[lang]
        bad = defaults.bad_request(request, SuspiciousOperation("x")).content.decode()
        denied = defaults.permission_denied(request, PermissionDenied()).content.decode()
        assert in_lang(lang, "Bad request") in bad
        assert in_lang(lang, "Access denied") in denied
    for html in (bad, denied):
        assert "st-navbar" in html and 'name="viewport"' in html and in_lang(lang, "Go back") in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_500_page_stands_alone(lang):
    from django.views import defaults

    request = RequestFactory().get("/")  # no user, no session: nothing for context processors
    with translation.override(LANGS[lang]):
        response = defaults.server_error(request)
        html = response.content.decode()
        assert response.status_code == 500
        assert f'<html lang="{LANGS[lang]}"' in html
        assert 'name="viewport"' in html and "st-navbar" in html
        assert in_lang(lang, "Something went wrong") in html
        assert 'href="/"' in html
    # It renders with no context at all, as Django renders it.
    assert "st-navbar" in loader.get_template("500.html").render()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_csrf_failure_is_in_the_layout(company, others_batch, lang, settings):
    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)
    client.force_login(company.lead_sh.user)
    url = reverse("actuals:rollback", kwargs={"pk": others_batch.pk})
    response = client.post(url, HTTP_ACCEPT_LANGUAGE=LANGS[lang])
    assert response.status_code == 403
    html = response.content.decode()
    assert_in_layout(html, lang)
    assert in_lang(lang, "The form has expired") in html
    assert ImportBatch.objects.get(pk=others_batch.pk).status == "applied"
