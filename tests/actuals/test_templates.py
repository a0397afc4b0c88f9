"""Downloadable import templates and the columns in ``salestarget import --help``: one set of
definitions (actuals/import_templates.py), headers the column guess recognises, and example rows
that import back cleanly."""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from python_calamine import CalamineWorkbook

from salestarget.actuals import import_templates
from salestarget.actuals.importers import FACT_FIELDS, localised
from salestarget.actuals.masters import MASTER_FIELDS, MASTER_SYNONYMS
from salestarget.actuals.parsing import SYNONYMS, guess_mapping
from salestarget.actuals.services import do_import_facts, do_import_master
from salestarget.catalog.models import Customer, Product
from salestarget.org.models import Person, TerritoryAssignment
from tests.conftest import PASSWORD

LANGUAGES = ["zh-hans", "en"]


def sheets(data: bytes) -> list[tuple[str, list[list]]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return [(name, book.get_sheet_by_name(name).to_python()) for name in book.sheet_names]


def test_every_kind_has_a_template_and_the_order_of_dependencies():
    assert set(import_templates.KINDS) == {*MASTER_FIELDS, "order", "collection", "visit", "opportunity"}
    assert list(import_templates.KINDS[:6]) == [
        "units",
        "people",
        "regions",
        "territories",
        "products",
        "customers",
    ]
    for kind, fields in import_templates.FACT_KIND_FIELDS.items():
        assert set(fields) <= set(FACT_FIELDS)
        assert set(import_templates.required_fields(kind)) <= set(fields), kind


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", import_templates.KINDS)
def test_the_column_guess_recognises_every_header(kind, language):
    chinese = language.startswith("zh")
    cols = [c for c in import_templates.columns(kind, chinese) if c.in_template]
    headers = [c.header for c in cols]
    synonyms = MASTER_SYNONYMS if kind in MASTER_FIELDS else SYNONYMS
    fields = MASTER_FIELDS[kind] if kind in MASTER_FIELDS else FACT_FIELDS
    guessed = guess_mapping(headers, fields, synonyms)
    assert {f: h[0] for f, h in guessed.items()} == {c.field: c.header for c in cols}
    if chinese:
        assert all(not h.isascii() for h in headers), headers


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", import_templates.KINDS)
def test_a_template_has_the_headers_an_example_and_notes_on_every_column(kind, language):
    with translation.override(language):
        cols = import_templates.columns(kind)
        data = import_templates.build_template(kind, [("key", "大客户")])
        label = import_templates.kind_label(kind)
        marks = {True: gettext("required"), False: gettext("optional")}
    (first, rows), (notes_name, notes) = sheets(data)
    assert first == label[:31] and notes_name == ("说明" if language == "zh-hans" else "Notes")
    shown = [c for c in cols if c.in_template]
    assert rows[0] == [c.header for c in shown]
    assert len(rows) == 2 and any(cell not in ("", None) for cell in rows[1])
    described = {row[1]: row for row in notes if len(row) > 1}
    for c in cols:
        row = described[c.field]
        assert row[3], (kind, c.field)
        assert row[2] == marks[c.required]
    for c in cols:
        if c.field.endswith("date") or c.field in ("valid_from", "valid_to"):
            assert "yyyy-mm-dd" in described[c.field][4]
    if kind == "customers":
        assert "key (大客户)" in described["segment"][4]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_example_rows_import_back_cleanly_in_order(tmp_path, language):
    """Into an empty database: units, people, regions, territories, products, customers, then
    one file of each kind of fact, all through the import service."""
    for kind in import_templates.KINDS:
        with translation.override(language):
            path = tmp_path / import_templates.template_filename(kind)
            path.write_bytes(import_templates.build_template(kind))
        with translation.override("en"):
            if kind in MASTER_FIELDS:
                result = do_import_master(None, path, kind)
            else:
                result = do_import_facts(None, path, kind)
            assert result.status == "applied", (kind, [localised(e) for e in result.errors])
            assert result.rows_read == 1 and result.rows_written == 1, kind
    person = Person.objects.get(code="E1001")
    assert person.tier == "B" and person.unit_on(person.hire_date).code == "EAST"
    assert TerritoryAssignment.objects.get(person=person).region.code == "CN-SH"
    product = Product.objects.get(code="GW-PRO")
    assert product.unit_price == 129900 and product.parent.parent is not None
    customer = Customer.objects.get(code="C0001")
    assert (customer.segment.code, customer.owner, customer.region.code) == ("key", person, "CN-SH")
    assert not Customer.objects.exclude(code="C0001").exists()


def test_import_help_lists_the_columns_of_every_kind():
    with translation.override("en"):
        command = importlib.import_module("salestarget.actuals.management.commands.import").Command()
        text = command.create_parser("salestarget", "import").format_help()
    for kind in import_templates.KINDS:
        line = next(line for line in text.splitlines() if line.startswith(f"  {kind} "))
        first = import_templates.kind_fields(kind)[0]
        assert first in line, kind
    assert "employee" not in text or "employee_no" in text
    people = text[text.index("  people ") : text.index("  regions ")]
    for field in MASTER_FIELDS["people"]:
        assert field in people
    assert "--template" in text


@pytest.mark.django_db
def test_the_command_writes_a_template(tmp_path):
    path = tmp_path / "people.xlsx"
    out = io.StringIO()
    with translation.override("en"):
        call_command("import", "--template", "staff", str(path), stdout=out)
    assert "people" in out.getvalue()
    (_name, rows), _notes = sheets(path.read_bytes())
    assert rows[0][0] == "Code"
    with pytest.raises(CommandError, match="Unknown kind"):
        call_command("import", "--template", "widgets", str(path))
    with pytest.raises(CommandError, match="xlsx"):
        call_command("import", "--template", "people", str(tmp_path / "people.csv"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role, kind, status",
    [
        ("admin", "people", 200),
        ("admin", "order", 200),
        ("lead_sh", "order", 200),
        ("lead_sh", "customers", 403),
        ("rep_sh1", "order", 403),
        ("admin", "widgets", 404),
    ],
)
def test_the_download_is_for_those_who_may_import_the_kind(client, company, role, kind, status):
    assert client.login(username=role, password=PASSWORD)
    response = client.get(reverse("actuals:template", kwargs={"kind": kind}))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert f"salestarget-{kind}-template.xlsx" in response["Content-Disposition"]
        (_name, rows), _notes = sheets(b"".join(response))
        assert len(rows) == 2


@pytest.mark.django_db
def test_the_upload_page_links_the_templates(client, company):
    assert client.login(username="lead_sh", password=PASSWORD)
    page = client.get(reverse("actuals:import")).content.decode()
    assert reverse("actuals:template", kwargs={"kind": "order"}) in page
    assert reverse("actuals:template", kwargs={"kind": "people"}) not in page
    client.logout()
    assert client.login(username="admin", password=PASSWORD)
    page = client.get(reverse("actuals:import")).content.decode()
    for kind in import_templates.KINDS:
        assert reverse("actuals:template", kwargs={"kind": kind}) in page


@pytest.mark.parametrize("guide", ["guide.en.md", "guide.zh.md"])
def test_the_guides_list_the_columns_of_every_kind(guide):
    """The tables were generated with import_templates.markdown(); a new field must reach them."""
    text = (Path(__file__).resolve().parents[2] / "docs" / guide).read_text(encoding="utf-8")
    for kind in import_templates.KINDS:
        section = text[text.index(f"(`{kind}`)") :]
        section = section[: section.index("\n\n", section.index("|"))]
        for field in import_templates.kind_fields(kind):
            assert f"| `{field}` |" in section, (guide, kind, field)
    assert "--template" in text and "/actuals/templates/" in text
