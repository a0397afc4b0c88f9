"""QA on the demo (2026-12-04): a rep who sent a mistyped amount in the 销售日报 could not correct
it: the form comes back empty, sending the corrected deal added a second line, and reps may not
import or roll back on the batch pages they never see. Each submission is now listed on the daily
page with a 撤回 (withdraw) button: its batch is rolled back (whoever imported a batch may) and
the rep sends the corrected lines."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salestarget.actuals.models import Fact

pytestmark = pytest.mark.django_db


def report(amount: str, token: str) -> dict:
    data = {"day": timezone.localdate().isoformat(), "token": token, "note": ""}
    for kind in ("order", "opportunity", "collection", "visit"):
        data.update({f"{kind}-TOTAL_FORMS": "1", f"{kind}-INITIAL_FORMS": "0"})
    data.update({"order-0-customer": "新客户甲", "order-0-amount": amount})
    return data


def test_a_rep_withdraws_a_mistyped_line_and_sends_it_again(client, company):
    c = company
    client.force_login(c.rep_sh1.user)
    assert client.post(reverse("actuals:daily"), report("9990", "a" * 32)).status_code == 302
    wrong = Fact.objects.get(source="daily", person=c.rep_sh1)
    page = client.get(reverse("actuals:daily")).content.decode()
    assert f'data-testid="daily-withdraw-{wrong.batch_id}"' in page
    # Another rep cannot withdraw it.
    other = Client()
    other.force_login(c.rep_sz.user)
    assert (
        other.post(reverse("actuals:rollback", kwargs={"pk": wrong.batch_id}), {"next": "daily"}).status_code
        == 404
    )
    assert Fact.objects.filter(pk=wrong.pk).exists()

    back = client.post(
        reverse("actuals:rollback", kwargs={"pk": wrong.batch_id}), {"next": "daily"}, follow=True
    )
    assert back.redirect_chain[-1][0] == reverse("actuals:daily")
    assert "已撤回" in back.content.decode()
    assert not Fact.objects.filter(source="daily", person=c.rep_sh1).exists()
    assert client.post(reverse("actuals:daily"), report("999", "b" * 32)).status_code == 302
    assert list(Fact.objects.filter(source="daily", person=c.rep_sh1).values_list("amount", flat=True)) == [
        99900
    ]
    page = client.get(reverse("actuals:daily")).content.decode()
    assert f'data-testid="daily-sent-{wrong.batch_id}"' not in page  # withdrawn lines are gone
