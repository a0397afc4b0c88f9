"""The leaderboard (排行榜): a plan's reps ranked by achievement for a period. The plan says who
sees it (``Plan.ranking``): managers only — each ranks the people of their subtrees — or
everyone — all reps ranked, every reader seeing each rank, name, team, achievement and status,
and the amounts only of those whose figures they may follow anyway."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from salestarget.core.memo import remembered
from salestarget.engine.calendar import Period
from salestarget.org.models import Membership, active_on
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import Plan
from salestarget.tracking import progress as tracking

# What everyone sees of a person on a leaderboard shown to everyone: no amounts.
SHARED = ("achievement", "pace", "status", "incentive", "time_progress")


def may_see(user, plan: Plan) -> bool:
    reach = scope_of(user).reach(Action.VIEW)
    return plan.ranking == Plan.Ranking.EVERYONE or reach.everything or bool(reach.paths)


@dataclass
class Standing:
    """Every ranked person of a board in order, from their achievements alone (one read of
    actuals and one of targets, filtered by the members' subquery): a board of 5,000 reps needs
    no more to rank them, and the figures of only the rows shown."""

    period: Period
    to_date: bool
    everyone: bool
    on: dt.date
    members: object  # the memberships ranked (a queryset)
    nodes: list[tracking.Node]  # best first; people without a target last; ties by code
    achieved: dict[str, float | None]

    def ranks(self) -> list[int | None]:
        """Each node's rank, in order (see :func:`places`)."""
        return places([self.achieved[node.key] for node in self.nodes])


def places(achieved: list[float | None]) -> list[int | None]:
    """The ranks of achievements sorted best first: ties share one (1, 2, 2, 4); None without a
    target. Every ranking on a screen (the board, a rep's rank, a dashboard's children) uses it."""
    out, rank, previous = [], 0, object()
    for n, value in enumerate(achieved, 1):
        if value != previous:
            rank, previous = n, value
        out.append(rank if value is not None else None)
    return out


def standing(user, plan: Plan, kind: str, as_of: dt.date, within: str | None = None) -> Standing:
    """``within``: a unit's path, to rank only the people of its subtree (a region's wallboard
    ranks the region's reps, not the company's)."""
    if not may_see(user, plan):
        raise PermissionDenied(_("This plan's leaderboard is shown to managers only."))
    period, to_date = tracking.resolve_period(kind, as_of)
    on = min(as_of, period.end)
    everyone = plan.ranking == Plan.Ranking.EVERYONE
    members = _members(user, plan, on)
    if within is not None:
        members = members.filter(unit__path__startswith=within)
    people = dict(members.values_list("person_id", "person__code"))
    nodes = [tracking.Node("person", pk, code, code) for pk, code in people.items()]
    achieved = tracking.achievements(
        None if everyone else user,
        plan,
        nodes,
        period,
        as_of,
        to_date=to_date,
        among=members.values("person_id"),
    )
    nodes.sort(key=lambda n: (achieved[n.key] is None, -(achieved[n.key] or 0), n.code))
    return Standing(period, to_date, everyone, on, members, nodes, achieved)


# Up to this many people on a page are read by their ids; more, by the members' subquery.
BY_IDS = tracking.BY_IDS


@remembered
def leaderboard(
    user,
    plan: Plan,
    kind: str,
    as_of: dt.date,
    *,
    chance: bool = True,
    offset: int = 0,
    limit: int | None = None,
    within: str | None = None,
) -> dict:
    """The ranked rows from ``offset`` (``limit`` of them, all by default: rank, node, team,
    figures, ``amounts``: whether the reader may see the person's amounts), ranked by
    :func:`standing`; ``count`` people on the board, ``ranked`` of them with a target, and
    ``mine``: the reader's own place (rank, position from 0) where they are on it. ``chance=False``
    leaves out the projection and chance (and the 24 months they read). The whole board of 5,000
    reps took 3-6 s and a 3 MB page; a page of it reads its 100 people. ``within`` as
    :func:`standing` takes it."""
    board = standing(user, plan, kind, as_of, within)
    ranks = board.ranks()
    stop = None if limit is None else offset + limit
    page = board.nodes[offset:stop]
    teams = {}
    chosen = (
        board.members.filter(person_id__in=[n.id for n in page]) if len(page) <= BY_IDS else board.members
    )
    for m in chosen.select_related("person", "unit").order_by("person__code", "valid_from"):
        teams[m.person_id] = (m.person, m.unit)  # the latest membership on the date wins
    nodes = [tracking.person_node(teams[n.id][0]) for n in page]
    found = tracking.figures_for(
        None if board.everyone else user,  # everyone's figures, when the plan shows them to all
        plan,
        nodes,
        board.period,
        as_of,
        to_date=board.to_date,
        chance=chance,
        among=None if len(nodes) <= BY_IDS else board.members.values("person_id"),
    )
    allowed = tracking.trackable(user, nodes, board.on)
    rows = []
    for node, rank in zip(nodes, ranks[offset:stop], strict=True):
        amounts = node.key in allowed
        f = found[node.key] if amounts else {k: found[node.key][k] for k in SHARED}
        rows.append(
            {
                "rank": rank,
                "node": tracking.node_out(node),
                "team": teams[node.id][1].name,
                "figures": f,
                "amounts": amounts,
            }
        )
    me = scope_of(user).reach(Action.VIEW).person_id
    places = {n.id: i for i, n in enumerate(board.nodes)}
    mine = None if me not in places else {"rank": ranks[places[me]], "position": places[me]}
    return {
        "period": board.period,
        "to_date": board.to_date,
        "rows": rows,
        "everyone": board.everyone,
        "count": len(board.nodes),
        "ranked": sum(r is not None for r in ranks),
        "mine": mine,
    }


def rank_of(user, plan: Plan, kind: str, as_of: dt.date, person_id: int) -> tuple[int, int] | None:
    """(rank, of how many) of one person on the leaderboard the user may see, or None: the rank
    :func:`leaderboard` gives. A rep's dashboard asks it of every rep of the company, and the
    whole board of 5,000 reps took most of that page's 800 ms."""
    if not may_see(user, plan):
        return None
    board = standing(user, plan, kind, as_of)
    place = next((i for i, n in enumerate(board.nodes) if n.id == person_id), None)
    rank = None if place is None else board.ranks()[place]
    if rank is None:
        return None
    return rank, sum(value is not None for value in board.achieved.values())


def _members(user, plan: Plan, on: dt.date):
    """The memberships a board ranks on the date: every rep's when the plan shows the ranking to
    everyone, otherwise those in the user's subtrees."""
    members = Membership.objects.filter(active_on(on), role=Membership.Role.MEMBER)
    reach = scope_of(user).reach(Action.VIEW)
    if plan.ranking != Plan.Ranking.EVERYONE and not reach.everything:
        members = members.filter(unit__in=reach.unit_ids())
    return members
