"""The leaderboard (排行榜): a plan's reps ranked by achievement for a period. The plan says who
sees it (``Plan.ranking``): managers only — each ranks the people of their subtrees — or
everyone — all reps ranked, every reader seeing each rank, name, team, achievement and status,
and the amounts only of those whose figures they may follow anyway."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from salestarget.core.memo import remembered
from salestarget.org.models import Membership, active_on
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import Plan
from salestarget.tracking import progress as tracking

# What everyone sees of a person on a leaderboard shown to everyone: no amounts.
SHARED = ("achievement", "pace", "status", "incentive", "time_progress")


def may_see(user, plan: Plan) -> bool:
    reach = scope_of(user).reach(Action.VIEW)
    return plan.ranking == Plan.Ranking.EVERYONE or reach.everything or bool(reach.paths)


@remembered
def leaderboard(user, plan: Plan, kind: str, as_of: dt.date, *, chance: bool = True) -> dict:
    """The ranked rows (rank, node, team, figures, ``amounts``: whether the reader may see the
    person's amounts); ties share a rank (1, 2, 2, 4); people without a target come last.
    ``chance=False`` leaves out the projection and chance (and the 24 months of every rep they
    read): a rank needs only the achievement."""
    if not may_see(user, plan):
        raise PermissionDenied(_("This plan's leaderboard is shown to managers only."))
    period, to_date = tracking.resolve_period(kind, as_of)
    on = min(as_of, period.end)
    everyone = plan.ranking == Plan.Ranking.EVERYONE
    members = _members(user, plan, on).select_related("person", "unit")
    teams = {}
    for m in members.order_by("person__code", "valid_from"):
        teams[m.person_id] = (m.person, m.unit)  # the latest membership on the date wins
    nodes = [tracking.person_node(person) for person, _unit in teams.values()]
    found = tracking.figures_for(
        None if everyone else user,
        plan,
        nodes,
        period,
        as_of,
        to_date=to_date,
        chance=chance,
        among=members.values("person_id"),
    )
    rows = []
    allowed = tracking.trackable(user, nodes, on)
    for node in nodes:
        amounts = node.key in allowed
        f = found[node.key] if amounts else {k: found[node.key][k] for k in SHARED}
        rows.append(
            {
                "node": tracking.node_out(node),
                "team": teams[node.id][1].name,
                "figures": f,
                "amounts": amounts,
            }
        )
    rows.sort(
        key=lambda r: (
            r["figures"]["achievement"] is None,
            -(r["figures"]["achievement"] or 0),
            r["node"]["code"],
        )
    )
    rank, previous = 0, object()
    for n, row in enumerate(rows, 1):
        value = row["figures"]["achievement"]
        if value != previous:
            rank, previous = n, value
        row["rank"] = rank if value is not None else None
    return {"period": period, "to_date": to_date, "rows": rows, "everyone": everyone}


def rank_of(user, plan: Plan, kind: str, as_of: dt.date, person_id: int) -> tuple[int, int] | None:
    """(rank, of how many) of one person on the leaderboard the user may see, or None: the rank
    :func:`leaderboard` gives (1 + those with a higher achievement, as it rounds them), from the
    achievements alone. A rep's dashboard asks it of every rep of the company, and the whole board
    of 5,000 reps took most of that page's 800 ms."""
    if not may_see(user, plan):
        return None
    period, to_date = tracking.resolve_period(kind, as_of)
    on = min(as_of, period.end)
    everyone = plan.ranking == Plan.Ranking.EVERYONE
    members = _members(user, plan, on)
    people = dict(members.values_list("person_id", "person__code"))
    if person_id not in people:
        return None
    nodes = [tracking.Node("person", pk, code, code) for pk, code in people.items()]
    found = tracking.achievements(
        None if everyone else user,
        plan,
        nodes,
        period,
        as_of,
        to_date=to_date,
        among=members.values("person_id"),
    )
    ranked = [value for value in found.values() if value is not None]
    mine = found[f"p{person_id}"]
    if mine is None:
        return None
    return 1 + sum(value > mine for value in ranked), len(ranked)


def _members(user, plan: Plan, on: dt.date):
    """The memberships a board ranks on the date: every rep's when the plan shows the ranking to
    everyone, otherwise those in the user's subtrees."""
    members = Membership.objects.filter(active_on(on), role=Membership.Role.MEMBER)
    reach = scope_of(user).reach(Action.VIEW)
    if plan.ranking != Plan.Ranking.EVERYONE and not reach.everything:
        members = members.filter(unit__in=reach.unit_ids())
    return members
