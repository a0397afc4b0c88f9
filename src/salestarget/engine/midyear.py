"""Changes to a published plan during the year: moves, hires, departures and reassigned territories.

A published plan has been communicated, and what was owed before a change is history that nobody may
rewrite. So every change here moves only the *remaining* target, from an effective date (a :class:`Cut`),
and it moves it exactly to the fen: the amount that leaves one node arrives at another, split by the
largest remainder like every other split of the app. Each parent then keeps adding up: the gap between a
unit and the sum of its children (zero normally, the declared over-assignment otherwise) is the same after
the change as before, the root never moves, and no fen is created or lost over the leaves.

An operation does not touch the tree; it returns a :class:`Change` (per-node per-slot deltas, new nodes,
re-parented nodes and the notes that explain it) that the caller can show, store, and :func:`apply`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from salestarget.core.money import DEFAULT_CURRENCY

from .allocate import AllocationError
from .explain import LANGS, format_amount, jsonable
from .rounding import largest_remainder, round_half_up

# "former" holds what was owed before a cut by someone who has since left the unit (a moved person's
# record in the old unit, a departed person): it keeps the unit adding up for the months already past,
# and it neither gives nor receives target afterwards.
KINDS = frozenset({"unit", "person", "vacancy", "former"})
# The seats of a team: the nodes that give up or receive target when someone joins or leaves.
SEATS = frozenset({"person", "vacancy"})

# Parameters with these names are amounts in fen and are shown as money.
_AMOUNT_KEYS = frozenset({"amount", "kept"})

NOTES: dict[str, dict[str, str]] = {
    "cut": {
        "zh": "自第 {month_no} 个月起生效；当月按工作日拆分：生效前 {days_before} 天，生效后 {days_after} 天。",
        "en": "Effective from month {month_no}; that month is split by working days: "
        "{days_before} before, {days_after} after.",
    },
    "cut_even": {
        "zh": "生效当月没有工作日数据，按各半拆分（多出的一分留在生效前）。",
        "en": "No working days given for the month of the change: it is split in half "
        "(an odd fen stays before the change).",
    },
    "moved": {
        "zh": "{person} 从 {source} 调到 {target}，剩余目标 {amount} 随之转入；生效前的 {kept} 留在 {source}。",
        "en": "{person} moves from {source} to {target} with the remaining target {amount}; "
        "the {kept} before the change stays with {source}.",
    },
    "hired_vacancy": {
        "zh": "{person} 接替待招聘岗位 {vacancy}，按爬坡系数 {ramp} 承接 {amount}，岗位保留 {kept}。",
        "en": "{person} fills the vacancy {vacancy} ramping at {ramp}, taking {amount}; "
        "the vacancy keeps {kept}.",
    },
    "hired_team": {
        "zh": "{person} 加入 {parent}，按团队剩余目标的 1/{seats}、爬坡系数 {ramp} 取得 {amount}，"
        "由现有成员按各自剩余目标的比例让出。",
        "en": "{person} joins {parent} with 1/{seats} of the team's remaining target ramping at {ramp}: "
        "{amount}, given up by the current members in proportion to their remaining targets.",
    },
    "departed_vacancy": {
        "zh": "{person} 离开，剩余目标 {amount} 转入待招聘岗位 {vacancy}。",
        "en": "{person} leaves; the remaining target {amount} goes to the vacancy {vacancy}.",
    },
    "departed_redistributed": {
        "zh": "{person} 离开，剩余目标 {amount} 按剩余目标比例分给 {labels}。",
        "en": "{person} leaves; the remaining target {amount} is spread over {labels} "
        "in proportion to their remaining targets.",
    },
    "reassigned": {
        "zh": "{amount} 从 {source} 转给 {target}。",
        "en": "{amount} moves from {source} to {target}.",
    },
}

_LIST_SEP = {"zh": "、", "en": ", "}


@dataclass(frozen=True)
class ChangeNote:
    """Code plus parameters rather than a sentence, so one stored change reads in either language."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "zh", currency: str = DEFAULT_CURRENCY) -> str:
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
        shown: dict[str, Any] = {}
        for key, value in self.params.items():
            if key in _AMOUNT_KEYS:
                shown[key] = format_amount(value, lang, currency)
            elif key == "labels":
                shown[key] = _LIST_SEP[lang].join(str(v) for v in value)
            elif key == "ramp":
                shown[key] = "/".join(f"{float(Fraction(f) * 100):g}%" for f in value)
            elif key == "month":
                shown["month_no"] = value + 1
            else:
                shown[key] = value
        return NOTES[self.code][lang].format(**shown)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": jsonable(self.params)}


@dataclass(frozen=True)
class Cut:
    """The effective date without a calendar: months before ``month`` stay, months after move wholly,
    and ``month`` itself splits by its working days on either side of the date."""

    month: int
    days_before: int
    days_after: int

    def __post_init__(self) -> None:
        for name in ("month", "days_before", "days_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    def notes(self) -> list[ChangeNote]:
        params = {"month": self.month, "days_before": self.days_before, "days_after": self.days_after}
        out = [ChangeNote("cut", params)]
        if not self.days_before and not self.days_after:
            out.append(ChangeNote("cut_even"))
        return out


def _check_row(row: Iterable[Any], what: str) -> list[int]:
    out = list(row)
    for x in out:
        if isinstance(x, bool) or not isinstance(x, int):
            raise TypeError(f"{what} must be integer fen, got {x!r}")
        if x < 0:
            raise ValueError(f"{what} must not be negative (targets are non-negative), got {x}")
    return out


@dataclass(frozen=True)
class Tree:
    """The organisation with one target per slot on every node.

    ``kinds`` says what a node is ("unit", "person", "vacancy" or "former"), because who may give or
    receive target depends on it and keys are only names. Only units have children.
    """

    parents: Mapping[str, str | None]
    kinds: Mapping[str, str]
    values: Mapping[str, Sequence[int]]
    _children: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parents, kinds = dict(self.parents), dict(self.kinds)
        values = {key: _check_row(row, f"values of {key}") for key, row in self.values.items()}
        if not parents.keys() == kinds.keys() == values.keys():
            raise ValueError("parents, kinds and values must name the same nodes")
        roots = [key for key, parent in parents.items() if parent is None]
        if len(roots) != 1:
            raise ValueError(f"a tree has exactly one root, got {roots}")
        if len({len(row) for row in values.values()}) != 1:
            raise ValueError("every node must have the same number of slots")
        children: dict[str, list[str]] = {key: [] for key in parents}
        for key, parent in parents.items():
            if kinds[key] not in KINDS:
                raise ValueError(f"{key} has the unknown kind {kinds[key]!r}; kinds are {sorted(KINDS)}")
            if parent is None:
                continue
            if parent not in parents:
                raise ValueError(f"the parent {parent!r} of {key} is not a node")
            if kinds[parent] != "unit":
                raise ValueError(f"{key} is under {parent}, a {kinds[parent]}; only units have children")
            children[parent].append(key)
        for key in parents:
            node, steps = key, 0
            while node is not None:
                node, steps = parents[node], steps + 1
                if steps > len(parents):
                    raise ValueError(f"the parents of {key} form a cycle")
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_children", children)

    @property
    def slots(self) -> int:
        return len(next(iter(self.values.values())))

    @property
    def root(self) -> str:
        return next(key for key, parent in self.parents.items() if parent is None)

    def children(self, key: str) -> list[str]:
        return list(self._children[key])

    def ancestors(self, key: str) -> list[str]:
        """``key`` and the nodes above it, up to the root."""
        out = []
        node: str | None = key
        while node is not None:
            out.append(node)
            node = self.parents[node]
        return out


@dataclass(frozen=True)
class Change:
    """What an operation does, before it is applied.

    ``deltas``: per node, one signed int per slot, for the nodes that change (a new node's delta is its
    whole value). ``added``: new node -> (parent, kind). ``reparent``: node -> its new parent.
    ``retired``: nodes that become "former" (a departed person keeps their past, but no longer takes part).
    """

    operation: str
    deltas: dict[str, list[int]]
    added: dict[str, tuple[str, str]] = field(default_factory=dict)
    reparent: dict[str, str] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    notes: list[ChangeNote] = field(default_factory=list)

    def text(self, lang: str = "zh", currency: str = DEFAULT_CURRENCY) -> str:
        return "\n".join(n.text(lang, currency) for n in self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "deltas": {key: list(row) for key, row in self.deltas.items()},
            "added": {key: list(spec) for key, spec in self.added.items()},
            "reparent": dict(self.reparent),
            "retired": list(self.retired),
            "notes": [n.to_dict() for n in self.notes],
        }


def remaining(values: Sequence[int], cut: Cut, slot_months: Sequence[int]) -> list[int]:
    """The part of ``values`` after ``cut``, per slot.

    The cut month splits by largest remainder over its working days before and after, so the two parts
    add up to the month exactly. With no working days on either side there is nothing to weigh by, and
    the month splits in half (the odd fen stays before, as apportion gives ties to the first part).
    """
    row = _check_row(values, "values")
    if len(row) != len(slot_months):
        raise ValueError(f"{len(row)} values but {len(slot_months)} slot months")
    days = [cut.days_before, cut.days_after] if cut.days_before or cut.days_after else [1, 1]
    out = []
    for value, month in zip(row, slot_months, strict=True):
        if month < cut.month:
            out.append(0)
        elif month > cut.month:
            out.append(value)
        else:
            out.append(largest_remainder(value, days)[1])
    return out


def _require(tree: Tree, key: str, kinds: Iterable[str]) -> None:
    if key not in tree.parents:
        raise KeyError(f"{key!r} is not a node of the tree")
    allowed = sorted(kinds)
    if tree.kinds[key] not in allowed:
        raise ValueError(f"{key} is a {tree.kinds[key]}, expected one of {allowed}")


def _new_key(tree: Tree, key: str, added: Mapping[str, Any]) -> None:
    if not key or key in tree.parents or key in added:
        raise ValueError(f"the new node {key!r} needs a key that is not in use")


def _months(tree: Tree, slot_months: Sequence[int]) -> list[int]:
    months = list(slot_months)
    if len(months) != tree.slots:
        raise ValueError(f"expected {tree.slots} slot months, one per slot, got {len(months)}")
    for m in months:
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ValueError(f"slot months must be non-negative integers, got {m!r}")
    return months


def _row(deltas: dict[str, list[int]], key: str, slots: int) -> list[int]:
    return deltas.setdefault(key, [0] * slots)


def _add(deltas: dict[str, list[int]], key: str, row: Sequence[int], sign: int, slots: int) -> None:
    current = _row(deltas, key, slots)
    for s, x in enumerate(row):
        current[s] += sign * x


def _lowest_common_ancestor(tree: Tree, a: str, b: str) -> str:
    above_a = set(tree.ancestors(a))
    return next(node for node in tree.ancestors(b) if node in above_a)


def _shift(
    tree: Tree, deltas: dict[str, list[int]], source: str, target: str, amounts: Sequence[int]
) -> None:
    """Carry ``amounts`` from the unit ``source`` to the unit ``target`` through their ancestors.

    The lowest common ancestor and everything above it keep their value: one of its children lost what
    another gained, so its gap to its children is unchanged and the root is never touched."""
    top = _lowest_common_ancestor(tree, source, target)
    for start, sign in ((source, -1), (target, 1)):
        for node in tree.ancestors(start):
            if node == top:
                break
            _add(deltas, node, amounts, sign, tree.slots)


def _change(
    tree: Tree,
    operation: str,
    deltas: dict[str, list[int]],
    notes: list[ChangeNote],
    added: dict[str, tuple[str, str]] | None = None,
    reparent: dict[str, str] | None = None,
    retired: list[str] | None = None,
) -> Change:
    """Refuse a change that would leave a value negative: an over-assigned unit can be smaller than a
    child's remaining target, and then the child cannot leave it without the unit going below zero."""
    added = added or {}
    negative = [
        key
        for key, row in deltas.items()
        if key not in added and any(v + d < 0 for v, d in zip(tree.values[key], row, strict=True))
    ]
    if negative:
        raise AllocationError(f"the change would make {', '.join(negative)} negative", negative)
    kept = {key: row for key, row in deltas.items() if key in added or any(row)}
    return Change(operation, kept, added, reparent or {}, retired or [], notes)


def _factor(x: Any) -> Fraction:
    """Read ramp factors exactly; a float means the decimal typed (0.1 is 1/10, not the binary float)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, str, Decimal, Fraction)):
        raise TypeError(f"a ramp factor must be a number or a numeric string, got {x!r}")
    f = Fraction(str(x)) if isinstance(x, float) else Fraction(x)
    if not 0 <= f <= 1:
        raise ValueError(f"ramp factors must be between 0 and 1, got {x!r}")
    return f


def move(
    tree: Tree,
    person: str,
    to_parent: str,
    cut: Cut,
    slot_months: Sequence[int],
    *,
    former_key: str | None = None,
) -> Change:
    """Move ``person`` to the unit ``to_parent`` with their remaining target.

    The person keeps their target, but the part before the cut stays with the old unit as a "former"
    node (``former_key``, default ``"<person>@<old parent>"``; none if that part is zero): the old unit
    owed it in the months already past, and without it the old unit would stop adding up there.
    """
    _require(tree, person, {"person"})
    _require(tree, to_parent, {"unit"})
    months = _months(tree, slot_months)
    source = tree.parents[person]
    assert source is not None  # a person is never the root: only units have children
    if source == to_parent:
        raise ValueError(f"{person} is already in {to_parent}")
    rest = remaining(tree.values[person], cut, months)
    earlier = [v - r for v, r in zip(tree.values[person], rest, strict=True)]
    deltas: dict[str, list[int]] = {}
    added: dict[str, tuple[str, str]] = {}
    if any(earlier):
        key = former_key or f"{person}@{source}"
        _new_key(tree, key, added)
        added[key] = (source, "former")
        _add(deltas, person, earlier, -1, tree.slots)
        _add(deltas, key, earlier, 1, tree.slots)
    _shift(tree, deltas, source, to_parent, rest)
    note = ChangeNote(
        "moved",
        {"person": person, "source": source, "target": to_parent, "amount": sum(rest), "kept": sum(earlier)},
    )
    return _change(tree, "move", deltas, [*cut.notes(), note], added, {person: to_parent})


def hire(
    tree: Tree,
    person: str,
    parent: str,
    cut: Cut,
    slot_months: Sequence[int],
    ramp: Sequence[Any],
    source: tuple[Literal["vacancy", "team"], str | None],
) -> Change:
    """Add ``person`` under the unit ``parent`` with a ramped target for the rest of the period.

    The cut month uses ``ramp[0]``, each later month the next factor, and months past the list the last
    one. The target is never new money: from a vacancy the hire takes the ramped part of its remaining
    (the vacancy keeps the rest, for whoever covers the gap); from the team, each current seat gives up
    its share of the hire's ramped 1/(seats + 1) of the team's remaining, so the team's total stays.
    """
    _require(tree, parent, {"unit"})
    months = _months(tree, slot_months)
    _new_key(tree, person, {})
    factors = [_factor(x) for x in ramp]
    if not factors:
        raise ValueError("ramp needs at least one factor")
    per_slot = [
        Fraction(0) if m < cut.month else factors[min(m - cut.month, len(factors) - 1)] for m in months
    ]
    kind, vacancy = source
    deltas: dict[str, list[int]] = {}
    params: dict[str, Any] = {"person": person, "ramp": [str(f) for f in factors]}
    if kind == "vacancy":
        if vacancy is None:
            raise ValueError("a hire from a vacancy needs the vacancy's key")
        _require(tree, vacancy, {"vacancy"})
        basis = remaining(tree.values[vacancy], cut, months)
        got = [round_half_up(b * f) for b, f in zip(basis, per_slot, strict=True)]
        _add(deltas, vacancy, got, -1, tree.slots)
        vacancy_parent = tree.parents[vacancy]
        assert vacancy_parent is not None  # a vacancy is never the root: only units have children
        _shift(tree, deltas, vacancy_parent, parent, got)
        note = ChangeNote(
            "hired_vacancy", {**params, "vacancy": vacancy, "amount": sum(got), "kept": sum(basis) - sum(got)}
        )
    elif kind == "team":
        seats = [c for c in tree.children(parent) if tree.kinds[c] in SEATS]
        team = remaining(tree.values[parent], cut, months)
        got = [round_half_up(t * f / (len(seats) + 1)) for t, f in zip(team, per_slot, strict=True)]
        rests = [remaining(tree.values[c], cut, months) for c in seats]
        for s, amount in enumerate(got):
            weights = [r[s] for r in rests]
            if amount > sum(weights):
                raise AllocationError(
                    f"the seats of {parent} have {sum(weights)} fen left in slot {s}, "
                    f"less than the {amount} fen the hire would take from them",
                    [parent],
                )
            if amount:
                for c, share in zip(seats, largest_remainder(amount, weights), strict=True):
                    _row(deltas, c, tree.slots)[s] -= share
        note = ChangeNote(
            "hired_team", {**params, "parent": parent, "seats": len(seats) + 1, "amount": sum(got)}
        )
    else:
        raise ValueError(f"source must be ('vacancy', key) or ('team', None), got {source!r}")
    _add(deltas, person, got, 1, tree.slots)
    return _change(tree, "hire", deltas, [*cut.notes(), note], {person: (parent, "person")})


def depart(
    tree: Tree,
    person: str,
    cut: Cut,
    slot_months: Sequence[int],
    mode: Literal["vacancy", "redistribute"],
    *,
    vacancy_key: str | None = None,
) -> Change:
    """``person`` leaves at ``cut``, keeps only what was owed before it and becomes "former", so that
    later changes no longer count them as a seat.

    "vacancy": the remaining target waits in a new vacancy ``vacancy_key`` under the same unit, for the
    replacement. "redistribute": the other seats of the unit share it in proportion to their own
    remaining targets (evenly in a slot where all of those are zero); a unit with no other seat refuses,
    since only the manager could then carry it and that is the manager's call.
    """
    _require(tree, person, {"person"})
    months = _months(tree, slot_months)
    parent = tree.parents[person]
    assert parent is not None  # a person is never the root: only units have children
    rest = remaining(tree.values[person], cut, months)
    deltas: dict[str, list[int]] = {}
    _add(deltas, person, rest, -1, tree.slots)
    added: dict[str, tuple[str, str]] = {}
    if mode == "vacancy":
        if vacancy_key is None:
            raise ValueError("a departure to a vacancy needs the new vacancy's key")
        _new_key(tree, vacancy_key, added)
        added[vacancy_key] = (parent, "vacancy")
        _add(deltas, vacancy_key, rest, 1, tree.slots)
        note = ChangeNote("departed_vacancy", {"person": person, "vacancy": vacancy_key, "amount": sum(rest)})
    elif mode == "redistribute":
        others = [c for c in tree.children(parent) if c != person and tree.kinds[c] in SEATS]
        if not others:
            raise AllocationError(
                f"{person} is the only seat of {parent}: there is no one to take over the remaining target",
                [person],
            )
        rests = [remaining(tree.values[c], cut, months) for c in others]
        for s, amount in enumerate(rest):
            weights = [r[s] for r in rests]
            shares = largest_remainder(amount, weights if any(weights) else [1] * len(others))
            for c, share in zip(others, shares, strict=True):
                _row(deltas, c, tree.slots)[s] += share
        note = ChangeNote("departed_redistributed", {"person": person, "labels": others, "amount": sum(rest)})
    else:
        raise ValueError(f"mode must be 'vacancy' or 'redistribute', got {mode!r}")
    return _change(tree, "depart", deltas, [*cut.notes(), note], added, retired=[person])


def reassign(tree: Tree, from_node: str, to_node: str, amounts: Sequence[int]) -> Change:
    """Move ``amounts`` (per slot, e.g. a territory's remaining target as the caller computed it) from
    one seat to another; both units' chains follow up to their lowest common ancestor."""
    _require(tree, from_node, SEATS)
    _require(tree, to_node, SEATS)
    if from_node == to_node:
        raise ValueError(f"cannot reassign from {from_node} to itself")
    row = _check_row(amounts, "amounts")
    if len(row) != tree.slots:
        raise ValueError(f"expected {tree.slots} amounts, one per slot, got {len(row)}")
    short = [s for s, (a, v) in enumerate(zip(row, tree.values[from_node], strict=True)) if a > v]
    if short:
        raise AllocationError(f"{from_node} has less than the amount to move in slots {short}", [from_node])
    deltas: dict[str, list[int]] = {}
    _add(deltas, from_node, row, -1, tree.slots)
    _add(deltas, to_node, row, 1, tree.slots)
    source, target = tree.parents[from_node], tree.parents[to_node]
    assert source is not None and target is not None  # seats are never the root
    _shift(tree, deltas, source, target, row)
    note = ChangeNote("reassigned", {"source": from_node, "target": to_node, "amount": sum(row)})
    return _change(tree, "reassign", deltas, [note])


def apply(tree: Tree, change: Change) -> Tree:
    """The tree after ``change``, as a new tree; a change made on another tree fails validation here
    (a value below zero, an unknown node) rather than producing a plan that does not add up."""
    parents, kinds = dict(tree.parents), dict(tree.kinds)
    values = {key: list(row) for key, row in tree.values.items()}
    for key, (parent, kind) in change.added.items():
        if key in parents:
            raise ValueError(f"the new node {key!r} already exists")
        parents[key], kinds[key], values[key] = parent, kind, [0] * tree.slots
    for key, parent in change.reparent.items():
        if key not in parents:
            raise KeyError(f"{key!r} is not a node of the tree")
        parents[key] = parent
    for key in change.retired:
        if key not in kinds:
            raise KeyError(f"{key!r} is not a node of the tree")
        kinds[key] = "former"
    for key, row in change.deltas.items():
        if key not in values:
            raise KeyError(f"{key!r} is not a node of the tree")
        if len(row) != tree.slots:
            raise ValueError(f"the delta of {key} has {len(row)} slots, the tree {tree.slots}")
        values[key] = [v + d for v, d in zip(values[key], row, strict=True)]
    return Tree(parents, kinds, values)
