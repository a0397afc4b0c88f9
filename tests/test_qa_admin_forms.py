"""Bad input an administrator typed (QA, 2026-12-04): accepted user names with emoji or quotes,
an English password message in the Chinese app, a tracking-settings error that said "None" and
"-1", and a failed test message that said "failed (failed)"."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.services import do_create_plan

pytestmark = pytest.mark.django_db
GOOD = "a-long-and-rare-passphrase-91"


def new_user(client, username: str, password: str = GOOD) -> str:
    page = client.post(reverse("accounts:users"), {"username": username, "password": password}, follow=True)
    return page.content.decode()


@pytest.mark.parametrize("name", ["😀user", "a' OR 1=1--", "two words"])
def test_a_user_name_with_emoji_quotes_or_spaces_is_refused_in_chinese(login, company, name):
    page = new_user(login("admin"), name)
    assert not get_user_model().objects.filter(username=name).exists()
    assert "请输入合法的用户名" in page


def test_a_chinese_user_name_is_welcome(login, company):
    new_user(login("admin"), "张三")
    assert get_user_model().objects.filter(username="张三").exists()


def test_the_too_short_password_message_is_chinese(login, company):
    page = new_user(login("admin"), "zhao", password="x7#")
    assert not get_user_model().objects.filter(username="zhao").exists()
    assert "密码太短" in page and "This password is too short" not in page


@pytest.mark.parametrize(
    ("typed", "shown"),
    [({}, "预警线：请填写。"), ({"warning_line_pct": "😀"}, "预警线：“😀”不是整数百分比。")],
)
def test_tracking_settings_name_the_field_and_what_was_typed(login, company, typed, shown):
    plan = do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(2024)
    )
    form = {"lagging_below_pct": "80", "ahead_above_pct": "120", "ranking": "all"} | typed
    page = (
        login("admin")
        .post(reverse("targets:plan_tracking", args=[plan.pk]), form, follow=True)
        .content.decode()
    )
    assert shown in page and "当前为" not in page  # before: "…当前为 None、None、None。" or "-1、80、120"
