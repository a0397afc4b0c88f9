"""Top-down decomposition of a target through an organisation tree (company -> ... -> rep).

Each level is split by its own method and rounding unit (万元 for regions, 元 for reps), so planners can
trust history at the top and capacity at the bottom. Inputs missing on an inner node are rolled up from
its subtree (a region's history is the sum of its reps' histories), which lets data live only on the
leaves where it is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .allocate import (
    Allocation,
    AllocationError,
    Basis,
    Capacity,
    allocate,
    by_capability,
    by_growth,
    by_history,
    by_weights,
    even,
)
from .explain import Explanation

METHODS = ("even", "weights", "history", "capability", "growth")


@dataclass(eq=False)
class Node:
    """An org unit or rep, with whatever inputs the chosen methods need (all optional)."""

    key: str
    name: str
    children: list[Node] = field(default_factory=list)
    weight: float | None = None
    history: Sequence[float] | None = None
    last: int | None = None
    tier: str | None = None
    headcount: float = 1.0
    hire_date: dt.date | None = None
    vacancy: bool = False
    potential: float | None = None
    locked: int | None = None
    min_value: int | None = None
    max_value: int | None = None


@dataclass(frozen=True)
class Rule:
    """How the values of one level are made: method, rounding unit and method options.

    options go to the method's basis builder: ``recency``/``min_share``/``min_share_of`` for history,
    ``period``/``tier_multipliers``/``ramp`` for capability, ``growth`` for growth.
    """

    method: str = "even"
    unit: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)
    over_assign: float | None = None
    zero_weights: str = "error"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")


@dataclass(eq=False)
class Decomposed:
    """A node with its value; `why` explains the parent's split, `split` this node's own split."""

    node: Node
    value: int
    depth: int
    label: str
    why: Explanation | None = None
    split: Allocation | None = None
    children: list[Decomposed] = field(default_factory=list)

    def text(self, lang: str = "zh") -> str:
        """Why this node's value is what it is ("why is my target this number")."""
        if self.why is None:
            return ""
        return self.why.text(lang, label=self.label)

    def walk(self) -> Iterator[Decomposed]:
        stack = [self]
        while stack:
            item = stack.pop()
            yield item
            stack.extend(reversed(item.children))

    def values(self) -> dict[str, int]:
        return {item.node.key: item.value for item in self.walk()}


class _Rollup:
    """Per-node inputs, summed over the subtree when the node has none of its own (memoised)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, str], Any] = {}

    def get(self, node: Node, attr: str, leaf: Any) -> Any:
        key = (id(node), attr)
        if key not in self._memo:
            own = leaf(node)
            if own is None and node.children:
                parts = [self.get(child, attr, leaf) for child in node.children]
                if any(p is None for p in parts):
                    own = None
                elif attr == "history":
                    own = np.sum(np.array(parts, dtype=np.float64), axis=0)
                else:
                    own = sum(parts)
            self._memo[key] = own
        return self._memo[key]


def _labels(children: Sequence[Node]) -> list[str]:
    names = [c.name for c in children]
    if len(set(names)) == len(names):
        return names
    return [f"{c.name} ({c.key})" for c in children]


def _require(values: list[Any], children: Sequence[Node], what: str) -> None:
    missing = [c.name for c, v in zip(children, values, strict=True) if v is None]
    if missing:
        raise AllocationError(f"no {what} for {', '.join(missing)} or any of their descendants", missing)


def _last(node: Node) -> int | None:
    """Last year's actual: given explicitly, or the latest history period."""
    if node.last is not None or not node.history:
        return node.last
    return int(node.history[-1])


def _basis(rule: Rule, children: Sequence[Node], rollup: _Rollup) -> Basis:
    opts = dict(rule.options)
    if rule.method == "even":
        return even(len(children))
    if rule.method == "weights":
        weights = [rollup.get(c, "weight", lambda n: n.weight) for c in children]
        _require(weights, children, "weight")
        return by_weights(np.array(weights, dtype=np.float64))
    if rule.method == "history":
        rows = [rollup.get(c, "history", lambda n: n.history) for c in children]
        _require(rows, children, "history")
        return by_history(np.array(rows, dtype=np.float64), **opts)
    if rule.method == "growth":
        last = [rollup.get(c, "last", _last) for c in children]
        _require(last, children, "last year's actual")
        return by_growth(np.array(last, dtype=np.int64), opts["growth"])
    leaves = all(not c.children for c in children)
    if leaves:
        caps = [Capacity(c.tier, c.headcount, c.potential, c.hire_date, c.vacancy) for c in children]
        return by_capability(caps, **opts)

    def capacity(n: Node) -> float | None:
        if n.children:
            return None
        return float(
            by_capability(
                [Capacity(n.tier, n.headcount, n.potential, n.hire_date, n.vacancy)], **opts
            ).weights[0]
        )

    # Inner children carry the summed capacity of their reps, so a team with more (ramped) reps gets more.
    basis = by_capability([], **opts)
    basis.weights = np.array([rollup.get(c, f"capability:{id(rule)}", capacity) for c in children])
    return basis


def decompose(
    root: Node,
    total: int,
    rules: Mapping[int, Rule],
    *,
    default: Rule | None = None,
) -> Decomposed:
    """Split `total` from `root` down to the leaves; ``rules[d]`` makes the values at depth d (root = 0).

    Children's locked values and min/max bounds are honoured at every level, and every level sums
    exactly to its parent. A depth without a rule uses `default`, or raises ValueError when there is none.
    """
    rollup = _Rollup()
    top = Decomposed(root, int(total), 0, root.name)
    stack = [top]
    while stack:
        item = stack.pop()
        children = item.node.children
        if not children:
            continue
        depth = item.depth + 1
        rule = rules.get(depth, default)
        if rule is None:
            raise ValueError(f"no rule for depth {depth} (children of {item.node.name})")
        labels = _labels(children)
        locks = {label: c.locked for label, c in zip(labels, children, strict=True) if c.locked is not None}
        bounds = {
            label: (c.min_value, c.max_value)
            for label, c in zip(labels, children, strict=True)
            if c.min_value is not None or c.max_value is not None
        }
        split = allocate(
            item.value,
            labels,
            _basis(rule, children, rollup),
            unit=rule.unit,
            locks=locks or None,
            bounds=bounds or None,
            over_assign=rule.over_assign,
            zero_weights=rule.zero_weights,  # type: ignore[arg-type]
        )
        item.split = split
        item.children = [
            Decomposed(child, int(value), depth, label, split.explanation)
            for child, value, label in zip(children, split.values.tolist(), labels, strict=True)
        ]
        stack.extend(item.children)
    return top
