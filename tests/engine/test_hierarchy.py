import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salestarget.engine.allocate import AllocationError
from salestarget.engine.calendar import FiscalCalendar
from salestarget.engine.hierarchy import Node, Rule, decompose

WAN, YUAN = 1_000_000, 100


def company() -> Node:
    reps = {
        "华东": [("张三", "A", [300, 360]), ("李四", "B", [200, 240])],
        "华南": [("王五", "B", [250, 300]), ("赵六", "C", [150, 180])],
        "华北": [("钱七", "C", [200, 240])],
    }
    regions = [
        Node(name, name, [Node(rep, rep, tier=tier, history=hist) for rep, tier, hist in people])
        for name, people in reps.items()
    ]
    return Node("hq", "总公司", regions)


def check_exact(item) -> None:
    for node in item.walk():
        if node.children:
            assert sum(c.value for c in node.children) == node.value
        assert node.value >= 0


class TestDecompose:
    def test_methods_and_units_per_level(self):
        rules = {1: Rule("history", WAN), 2: Rule("capability", YUAN)}
        result = decompose(company(), 5000 * WAN, rules)
        check_exact(result)
        regions = {c.node.key: c.value for c in result.children}
        # rolled-up history: 华东 600, 华南 480, 华北 240 last year → 45.45% / 36.36% / 18.18%
        assert regions == {"华东": 2273 * WAN, "华南": 1818 * WAN, "华北": 909 * WAN}
        assert all(c.value % WAN == 0 for c in result.children)
        east = result.children[0]
        # 2273万 by tier 1.3 : 1.0 → 12,847,391.30 / 9,882,608.70 元; the larger remainder gets the last 元.
        assert [c.value for c in east.children] == [12_847_391 * YUAN, 9_882_609 * YUAN]
        assert all(c.value % YUAN == 0 for c in east.children)
        assert "等级 A" in east.children[0].text("zh")
        assert result.values()["钱七"] == 909 * WAN

    def test_locks_bounds_and_over_assignment(self):
        root = company()
        root.children[2].locked = 1000 * WAN
        root.children[1].max_value = 1500 * WAN
        rules = {1: Rule("history", WAN, over_assign=110), 2: Rule("even", YUAN)}
        result = decompose(root, 5000 * WAN, rules)
        regions = {c.node.key: c.value for c in result.children}
        assert regions == {"华东": 3000 * WAN, "华南": 1500 * WAN, "华北": 1000 * WAN}
        assert "超额分配" in result.children[0].text("zh")
        for region in result.children:
            assert sum(c.value for c in region.children) == region.value

    def test_capability_rolls_up_team_capacity(self):
        cal = FiscalCalendar()
        teams = [
            Node("t1", "一组", [Node("a", "a", tier="B"), Node("b", "b", tier="B")]),
            Node(
                "t2",
                "二组",
                [Node("c", "c", tier="B"), Node("d", "d", tier="B", hire_date=dt.date(2026, 7, 1))],
            ),
        ]
        rule = Rule("capability", 1, {"period": cal.year(2026)})
        result = decompose(Node("r", "root", teams), 10_000, {1: rule, 2: rule})
        t1, t2 = result.children
        assert t1.value > t2.value  # the new hire only counts for part of the year
        check_exact(result)

    def test_growth_and_weights_rules(self):
        root = Node(
            "r", "root", [Node("a", "a", last=100, weight=1), Node("b", "b", history=[50, 300], weight=3)]
        )
        grown = decompose(root, 800, {1: Rule("growth", 1, {"growth": 0.1})})
        assert [c.value for c in grown.children] == [200, 600]
        assert grown.children[0].why.warnings[0].code == "naive_growth"
        weighted = decompose(root, 800, {1: Rule("weights")})
        assert [c.value for c in weighted.children] == [200, 600]

    def test_missing_rule_and_missing_data(self):
        with pytest.raises(ValueError, match="no rule for depth 2"):
            decompose(company(), 100, {1: Rule("even")})
        assert decompose(company(), 100, {1: Rule("even")}, default=Rule("even")).value == 100
        with pytest.raises(AllocationError, match="no weight") as err:
            decompose(company(), 100, {1: Rule("weights")})
        assert err.value.nodes == ["华东", "华南", "华北"]
        with pytest.raises(ValueError, match="method"):
            Rule("magic")


def trees(depth: int = 0):
    leaf = st.builds(
        Node,
        key=st.just(""),
        name=st.just(""),
        weight=st.integers(0, 100),
        history=st.lists(st.integers(0, 1000), min_size=2, max_size=2),
    )
    if depth >= 3:
        return leaf
    inner = st.builds(
        Node, key=st.just(""), name=st.just(""), children=st.lists(trees(depth + 1), min_size=1, max_size=4)
    )
    return st.one_of(leaf, inner) if depth else inner


@settings(max_examples=40, deadline=None)
@given(
    trees(),
    st.integers(0, 10**10),
    st.sampled_from(["even", "weights", "history"]),
    st.sampled_from([1, 100]),
)
def test_every_level_sums_exactly(root, total, method, unit):
    for i, node in enumerate(Node_walk(root)):
        node.key = node.name = f"n{i}"
    result = decompose(root, total, {}, default=Rule(method, unit, zero_weights="even"))
    check_exact(result)
    assert result.value == total


def Node_walk(node: Node):
    yield node
    for child in node.children:
        yield from Node_walk(child)
