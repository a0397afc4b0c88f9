"""Issue 13: the company's working calendar. Public holidays and make-up working days as the law
announces them, and company days off, entered per year by administrators (page, API, command
line); every working-day figure counts with them, and a year nobody entered is said to be
estimated."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import translation

from salestarget.engine.calendar import Period
from salestarget.metrics.models import CalendarDay
from salestarget.metrics.selectors import calendar_year, fiscal_calendar
from salestarget.metrics.services import CalendarProblems, do_set_calendar_year
from salestarget.org.models import RoleAssignment
from salestarget.targets import history
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The official 2027 days are not known to the libraries the app ships (they end with 2026).
JAN_2027 = Period("month", dt.date(2027, 1, 1), dt.date(2027, 1, 31))
FEB_2027 = Period("month", dt.date(2027, 2, 1), dt.date(2027, 2, 28))
ESTIMATED_EN = (
    "The public holidays and make-up working days of %(year)s have not been entered yet: working "
    "days are estimated. Enter them once the General Office of the State Council announces them."
)
ESTIMATED_ZH = "2027 年的法定节假日和调休安排尚未录入，工作日按估算计算；请在国务院办公厅公布后录入。"
# What an administrator might enter for 2027 (a made-up announcement).
OFFICIAL_2027 = [
    (dt.date(2027, 1, 1), "holiday", "元旦"),
    (dt.date(2027, 1, 2), "holiday", "元旦"),
    (dt.date(2027, 1, 3), "holiday", "元旦"),
    *[(dt.date(2027, 2, d), "holiday", "春节") for d in range(5, 14)],
    (dt.date(2027, 2, 20), "workday", "春节"),
    (dt.date(2027, 2, 21), "workday", "春节"),
]


@pytest.fixture(autouse=True)
def keep_language():
    old = translation.get_language()
    yield
    if old:
        translation.activate(old)
    else:
        translation.deactivate()


@pytest.fixture
def sales(company):
    from tests.targets.conftest import write_history

    return write_history(company)


@pytest.fixture
def ops(company):
    user = UserFactory(username="ops")
    RoleAssignment.objects.create(user=user, role="ops")
    return user


def chinese_or_skip(msgid: str) -> None:
    """The Chinese texts are checked once the catalog holds this issue's translations (they are
    compiled into locale/ together with the other issues' after the work is merged)."""
    with translation.override("zh-hans"):
        if translation.gettext(msgid) == msgid:
            pytest.skip("the Chinese translations of issue 13 are not compiled yet")


def signed_in(client, user, lang="zh-hans"):
    client.force_login(user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    return client


# --------------------------------------------------------------------------- the service


def test_a_year_the_libraries_do_not_know_is_estimated_until_entered(company):
    assert calendar_year(2026).source == "library"
    assert calendar_year(2027).source == "estimate"
    assert calendar_year(2027).estimated
    do_set_calendar_year(company.admin, 2027, OFFICIAL_2027)
    year = calendar_year(2027)
    assert year.source == "company" and not year.estimated
    assert [d.date for d in year.workdays] == [dt.date(2027, 2, 20), dt.date(2027, 2, 21)]
    assert {d.origin for d in year.days} == {"company"}
    assert fiscal_calendar().workday_source(2027) == "company"


def test_company_days_off_alone_keep_the_library_and_show_beside_it(company):
    do_set_calendar_year(company.admin, 2026, [("2026-12-31", "company_off", "年终盘点")])
    year = calendar_year(2026)
    assert year.source == "library"
    ours = [d for d in year.days if d.origin == "company"]
    assert [(d.date, d.kind, d.name) for d in ours] == [(dt.date(2026, 12, 31), "company_off", "年终盘点")]
    assert any(d.origin == "library" and d.name == "春节" for d in year.days)


def test_saving_replaces_the_year_and_keeps_other_years(company):
    do_set_calendar_year(company.admin, 2026, [("2026-12-31", "company_off", "")])
    do_set_calendar_year(company.admin, 2027, OFFICIAL_2027)
    do_set_calendar_year(company.admin, 2027, [("2027-01-01", "holiday", "元旦")])
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 1),
    ]
    # Who changed it is on record.
    assert CalendarDay.history.filter(history_type="-").count() == len(OFFICIAL_2027) - 1
    assert CalendarDay.history.first().history_user == company.admin
    do_set_calendar_year(company.admin, 2027, [])
    assert calendar_year(2027).source == "estimate"


def test_every_wrong_line_is_named_and_nothing_is_saved(company):
    translation.activate("en")
    days = [
        ("2027-01-01", "holiday", "元旦"),
        ("2026-05-01", "holiday", "劳动节"),
        ("2027-13-01", "holiday", ""),
        ("2027-02-20", "overtime", ""),
        ("2027-01-01", "workday", ""),
        ("2027-03-01", "company_off", "x" * 51),
    ]
    with pytest.raises(CalendarProblems) as caught:
        do_set_calendar_year(company.admin, 2027, days, lines=[1, 2, 3, 4, 6, 7])
    assert caught.value.problems == [
        "Line 2: 2026-05-01 is not in 2027.",
        "Line 3: “2027-13-01” is not a date; write it as 2027-01-01.",
        "Line 4: unknown kind “overtime”; write holiday, workday or company_off.",
        "Line 6: 2027-01-01 is already on line 1.",
        "Line 7: the name is longer than 50 characters.",
    ]
    assert not CalendarDay.objects.exists()


def test_the_errors_speak_chinese_too(company):
    chinese_or_skip("Line %(line)s: %(date)s is not in %(year)s.")
    translation.activate("zh-hans")
    with pytest.raises(CalendarProblems) as caught:
        do_set_calendar_year(company.admin, 2027, [("2026-05-01", "holiday", "")])
    assert caught.value.problems == ["第 1 行：2026-05-01 不在 2027 年内。"]


def test_kinds_and_dates_may_be_written_as_people_write_them(company):
    do_set_calendar_year(
        company.admin, 2027, [("2027/1/1", "休息日", "元旦"), ("2027年2月20日", "调休上班", "春节")]
    )
    assert list(CalendarDay.objects.values_list("date", "kind")) == [
        (dt.date(2027, 1, 1), "holiday"),
        (dt.date(2027, 2, 20), "workday"),
    ]


@pytest.mark.parametrize("who", ["ops", "rep_sh1", "lead_sh"])
def test_only_administrators_change_the_calendar(company, ops, who):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=who)
    with pytest.raises(PermissionDenied):
        do_set_calendar_year(user, 2027, OFFICIAL_2027)


# --------------------------------------------------------------------------- every figure uses it


def test_overrides_change_time_progress(company):
    year = fiscal_calendar().year(2027)
    as_of = dt.date(2027, 2, 28)
    before = fiscal_calendar().time_progress(year, as_of)
    do_set_calendar_year(company.admin, 2027, OFFICIAL_2027)
    after = fiscal_calendar().time_progress(year, as_of)
    assert after != before
    cal = fiscal_calendar()
    # January: 21 weekdays less 1 January (the 2nd and 3rd are a weekend); February: 20 weekdays
    # less the 6 holiday weekdays (5 and 8-12 February), plus the two make-up weekend days.
    assert list(cal.day_counts([JAN_2027, FEB_2027])) == [20, 16]


def test_overrides_change_the_recommendations_working_days(company):
    months = [dt.date(2027, 1, 1), dt.date(2027, 2, 1)]
    estimated = history.working_days(fiscal_calendar(), months)
    assert list(estimated) == [20.0, 16.0]  # the estimate happens to match the announcement
    with_party = [*OFFICIAL_2027, (dt.date(2027, 1, 4), "company_off", "年会")]
    do_set_calendar_year(company.admin, 2027, with_party)
    entered = history.working_days(fiscal_calendar(), months)
    assert list(entered) == [19.0, 16.0]
    assert list(estimated) != list(entered)


def test_a_company_day_off_counts_in_a_library_year(company):
    december = [dt.date(2026, 12, 1)]
    before = history.working_days(fiscal_calendar(), december)[0]
    do_set_calendar_year(company.admin, 2026, [("2026-12-31", "company_off", "盘点")])
    assert history.working_days(fiscal_calendar(), december)[0] == before - 1


def test_stored_recommendations_are_not_reused_across_calendars(company):
    from salestarget.targets.stored import _key

    metric = history.metric_for("sales")
    inputs = {"scope": {}, "metric": "sales", "period": {}, "bottom_up": False}
    before = _key(company.admin, inputs, metric, fiscal_calendar())
    do_set_calendar_year(company.admin, 2027, OFFICIAL_2027)
    assert _key(company.admin, inputs, metric, fiscal_calendar()) != before


# --------------------------------------------------------------------------- the page


def test_the_page_warns_that_2027_is_estimated_until_entered(client, company):
    signed_in(client, company.admin)
    page = client.get("/settings/calendar/?year=2027").content.decode()
    assert 'data-testid="calendar-estimated"' in page
    assert "春节" in page  # the estimate's holidays, from the lunar calendar
    response = client.post(
        "/settings/calendar/?year=2027",
        {"year": "2027", "days": "2027-01-01,holiday,元旦\n\n2027-02-20,workday,春节\n"},
    )
    assert response.status_code == 302
    page = client.get("/settings/calendar/?year=2027").content.decode()
    assert ESTIMATED_ZH not in page
    assert 'data-testid="calendar-estimated"' not in page
    assert "2027-02-20" in page


def test_the_warning_in_chinese(client, company):
    chinese_or_skip(ESTIMATED_EN)
    signed_in(client, company.admin)
    assert ESTIMATED_ZH in client.get("/settings/calendar/?year=2027").content.decode()


def test_the_page_in_english(client, company):
    signed_in(client, company.admin, "en")
    page = client.get("/settings/calendar/?year=2027").content.decode()
    assert "The public holidays and make-up working days of 2027 have not been entered yet" in page


def test_the_page_names_the_wrong_lines(client, company):
    signed_in(client, company.admin, "en")
    response = client.post(
        "/settings/calendar/?year=2027",
        {"year": "2027", "days": "2027-01-01,holiday,元旦\n2027-02-30,holiday,"},
    )
    assert response.status_code == 200
    assert "Line 2: “2027-02-30” is not a date" in response.content.decode()
    assert not CalendarDay.objects.exists()


def test_the_page_takes_a_csv_upload(client, company):
    from django.core.files.uploadedfile import SimpleUploadedFile

    signed_in(client, company.admin)
    text = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,春节\n"
    upload = SimpleUploadedFile("days.csv", text.encode("gbk"), content_type="text/csv")
    response = client.post("/settings/calendar/?year=2027", {"year": "2027", "days": "", "file": upload})
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=dt.date(2027, 1, 1)).name == "元旦"


def test_the_page_takes_an_xlsx_upload_without_a_header(client, company, tmp_path):
    import xlsxwriter
    from django.core.files.uploadedfile import SimpleUploadedFile

    path = tmp_path / "days.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    dated = book.add_format({"num_format": "yyyy-mm-dd"})
    for row, (day, kind, name) in enumerate(
        [(dt.datetime(2027, 1, 1), "holiday", "元旦"), (dt.datetime(2027, 2, 20), "workday", "春节")]
    ):
        sheet.write_datetime(row, 0, day, dated)
        sheet.write_row(row, 1, [kind, name])
    book.close()
    signed_in(client, company.admin)
    upload = SimpleUploadedFile("days.xlsx", path.read_bytes())
    response = client.post("/settings/calendar/?year=2027", {"year": "2027", "file": upload})
    assert response.status_code == 302, response.content.decode()
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [
        dt.date(2027, 1, 1),
        dt.date(2027, 2, 20),
    ]


def test_the_library_days_are_offered_as_the_starting_point(client, company):
    signed_in(client, company.admin)
    page = client.get("/settings/calendar/?year=2026&start=library").content.decode()
    assert "2026-02-14,workday,春节" in page


def test_sales_operations_see_the_calendar_and_may_not_change_it(client, company, ops):
    signed_in(client, ops)
    page = client.get("/settings/calendar/?year=2027")
    assert page.status_code == 200
    assert 'data-testid="read-only"' in page.content.decode()
    assert client.post("/settings/calendar/?year=2027", {"year": "2027", "days": ""}).status_code == 403


@pytest.mark.parametrize("who", ["rep_sh1", "lead_sh"])
def test_others_may_not_open_the_calendar(client, company, who):
    assert client.login(username=who, password=company.password)
    assert client.get("/settings/calendar/").status_code == 403


def test_a_year_out_of_range_is_a_bad_request(client, company):
    signed_in(client, company.admin)
    assert client.get("/settings/calendar/?year=1800").status_code == 400
    assert client.get("/settings/calendar/?year=abc").status_code == 400


@pytest.fixture
def in_2027():
    with time_machine.travel(dt.datetime(2027, 3, 10, 10, 0), tick=False):
        yield


def test_home_and_recommendation_say_working_days_are_estimated(client, company, in_2027):
    signed_in(client, company.admin)
    home = client.get("/").content.decode()
    assert 'data-testid="estimated-note"' in home
    assert "/settings/calendar/?year=2027" in home
    do_set_calendar_year(company.admin, 2027, OFFICIAL_2027)
    assert 'data-testid="estimated-note"' not in client.get("/").content.decode()


def test_the_recommendation_page_notes_an_estimated_year(client, company, sales):
    from salestarget.metrics.selectors import estimated_note

    note = estimated_note(company.admin, dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert note == {"years": "2027", "url": "/settings/calendar/?year=2027"}
    assert estimated_note(company.rep_sh1.user, dt.date(2027, 1, 1), dt.date(2027, 12, 31))["url"] is None
    signed_in(client, company.admin)
    page = client.get("/targets/recommend/", {"year": 2027, "p_pct": 80}).content.decode()
    assert 'data-testid="estimated-note"' in page
    do_set_calendar_year(company.admin, 2027, OFFICIAL_2027)
    assert estimated_note(company.admin, dt.date(2027, 1, 1), dt.date(2027, 12, 31)) is None


# --------------------------------------------------------------------------- API and command line


def test_api_round_trip(client, company):
    signed_in(client, company.rep_sh1.user)
    got = client.get("/api/v1/settings/calendar/2027").json()
    assert got["source"] == "estimate" and got["estimated"] is True
    body = {"days": [{"date": d.isoformat(), "kind": k, "name": n} for d, k, n in OFFICIAL_2027]}
    assert (
        client.put("/api/v1/settings/calendar/2027", body, content_type="application/json").status_code == 403
    )
    signed_in(client, company.admin, "en")
    put = client.put("/api/v1/settings/calendar/2027", body, content_type="application/json")
    assert put.status_code == 200, put.content
    assert put.json()["source"] == "company"
    got = client.get("/api/v1/settings/calendar/2027").json()
    assert [(d["date"], d["kind"], d["name"]) for d in got["days"]] == [
        (d.isoformat(), k, n) for d, k, n in OFFICIAL_2027
    ]
    wrong = {"days": [{"date": "2026-01-01", "kind": "holiday", "name": ""}]}
    refused = client.put("/api/v1/settings/calendar/2027", wrong, content_type="application/json")
    assert refused.status_code == 400
    assert "Line 1: 2026-01-01 is not in 2027." in refused.json()["detail"]


def test_command_line_round_trip(company, tmp_path):
    path = tmp_path / "days.csv"
    path.write_text("\n".join(f"{d.isoformat()},{k},{n}" for d, k, n in OFFICIAL_2027), encoding="utf-8")
    translation.activate("en")
    out = io.StringIO()
    call_command("calendar", "show", "2027", stdout=out)
    assert "working days are estimated" in out.getvalue()
    out = io.StringIO()
    call_command("calendar", "import", "2027", str(path), stdout=out)
    assert f"2027: {len(OFFICIAL_2027)} days saved." in out.getvalue()
    assert "2027-02-20,workday,春节" in out.getvalue()
    assert "estimated" not in out.getvalue().split("\n", 2)[1]
    assert calendar_year(2027).source == "company"
    path.write_text("2027-01-01,holiday,元旦\n2028-01-01,holiday,元旦\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Line 2: 2028-01-01 is not in 2027."):
        call_command("calendar", "import", "2027", str(path))
