import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from salestarget.org.models import Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_tree_paths_follow_moves(company):
    assert company.sh.path.startswith(company.east.path)
    company.sh.parent = company.south
    company.sh.save()
    company.sh.refresh_from_db()
    assert company.sh.path.startswith(company.south.path) and company.sh.depth == 2
    assert set(company.south.descendants().values_list("code", flat=True)) == {"SOUTH", "SZ", "SH"}


def test_tree_rejects_cycles(company):
    company.east.parent = company.sh
    with pytest.raises(ValidationError, match="下级"):
        company.east.full_clean()


def test_overlapping_member_rows_are_rejected(company):
    other = MembershipFactory.build(person=company.rep_sh1, unit=company.hz, valid_from=dt.date(2024, 1, 1))
    with pytest.raises(ValidationError, match="重叠"):
        other.full_clean()


def test_a_move_keeps_history_with_the_old_team(company):
    row = company.rep_sh1.memberships.get()
    row.valid_to = dt.date(2025, 6, 30)
    row.save()
    moved = Membership(person=company.rep_sh1, unit=company.hz, valid_from=dt.date(2025, 7, 1))
    moved.full_clean()
    moved.save()
    assert company.rep_sh1.unit_on(dt.date(2025, 6, 30)) == company.sh
    assert company.rep_sh1.unit_on(dt.date(2025, 7, 1)) == company.hz


def test_admin_change_form_reports_overlap(client, company):
    client.force_login(company.admin)
    response = client.post(
        "/admin/org/membership/add/",
        {"person": company.rep_sh1.pk, "unit": company.hz.pk, "role": "member", "valid_from": "2024-01-01"},
    )
    assert response.status_code == 200
    assert "overlaps" in response.content.decode() or "重叠" in response.content.decode()
