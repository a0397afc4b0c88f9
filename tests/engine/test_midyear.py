import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from salestarget.engine.allocate import AllocationError
from salestarget.engine.midyear import (
    SEATS,
    Change,
    Cut,
    Tree,
    apply,
    depart,
    hire,
    move,
    reassign,
    remaining,
)

MONTHS = list(range(12))
RAMP = ["0.25", "0.5", "0.75", "1"]


def build(*rows, slots: int = 12) -> Tree:
    """rows: (key, parent, kind, monthly value or per-slot list); units are given their own values."""
    return Tree(
        {key: parent for key, parent, _, _ in rows},
        {key: kind for key, _, kind, _ in rows},
        {key: value if isinstance(value, list) else [value] * slots for key, _, _, value in rows},
    )


def company() -> Tree:
    # u0 = u1 + u2; u1 = p1 + p2 = 180,000; u2 = p3 + v1 = 120,000 (every month).
    return build(
        ("u0", None, "unit", 300_000),
        ("u1", "u0", "unit", 180_000),
        ("u2", "u0", "unit", 120_000),
        ("p1", "u1", "person", 120_000),
        ("p2", "u1", "person", 60_000),
        ("p3", "u2", "person", 90_000),
        ("v1", "u2", "vacancy", 30_000),
    )


def gaps(tree: Tree) -> dict[str, list[int]]:
    """Per unit and slot: the unit's value minus its children's (the declared over-assignment)."""
    return {
        unit: [
            tree.values[unit][s] - sum(tree.values[c][s] for c in tree.children(unit))
            for s in range(tree.slots)
        ]
        for unit, kind in tree.kinds.items()
        if kind == "unit"
    }


def leaf_sums(tree: Tree) -> list[int]:
    leaves = [k for k, kind in tree.kinds.items() if kind != "unit"]
    return [sum(tree.values[k][s] for k in leaves) for s in range(tree.slots)]


def check_invariants(before: Tree, after: Tree) -> None:
    assert gaps(after) == gaps(before)
    assert after.values[after.root] == before.values[before.root]
    assert leaf_sums(after) == leaf_sums(before)
    for row in after.values.values():
        assert all(type(v) is int and v >= 0 for v in row)


class TestRemaining:
    def test_cut_month_splits_by_working_days(self):
        # April (index 3), 9 working days before and 12 after: 120,000 x 9/21 = 51,428.57 and
        # x 12/21 = 68,571.43; floors 51,428 + 68,571 leave 1 fen for the larger remainder (.57), so
        # the split is 51,429 / 68,571 and 68,571 moves.
        assert remaining([120_000] * 12, Cut(3, 9, 12), MONTHS) == [0, 0, 0, 68_571] + [120_000] * 8

    def test_no_working_days_splits_in_half_odd_fen_before(self):
        # 101 / 2 = 50.5 either side: the tie goes to the first part, so 51 stays and 50 moves.
        assert remaining([101, 101], Cut(0, 0, 0), [0, 1]) == [50, 101]

    def test_product_line_slots_follow_their_month(self):
        # Two lines x three months, line-major: each line's March is split, its February is kept.
        slot_months = [0, 1, 2, 0, 1, 2]
        assert remaining([10, 20, 30, 1, 2, 3], Cut(2, 1, 2), slot_months) == [0, 0, 20, 0, 0, 2]

    def test_whole_month_cuts(self):
        assert remaining([5, 6, 7], Cut(1, 0, 20), [0, 1, 2]) == [0, 6, 7]
        assert remaining([5, 6, 7], Cut(1, 20, 0), [0, 1, 2]) == [0, 0, 7]

    def test_refuses_bad_input(self):
        with pytest.raises(ValueError):
            remaining([1, 2], Cut(0, 1, 1), [0])
        with pytest.raises(ValueError):
            remaining([-1], Cut(0, 1, 1), [0])
        with pytest.raises(ValueError):
            Cut(-1, 1, 1)


class TestMove:
    def test_rep_moves_mid_april_with_the_remaining_target(self):
        tree = company()
        change = move(tree, "p1", "u2", Cut(3, 9, 12), MONTHS)
        after = apply(tree, change)
        # Remaining: April 68,571 (see TestRemaining) and 120,000 for May-Dec; the 3 x 120,000 + 51,429
        # owed before the cut stays in u1 as the former node "p1@u1".
        assert after.parents["p1"] == "u2"
        assert after.values["p1"] == [0, 0, 0, 68_571] + [120_000] * 8
        assert after.parents["p1@u1"] == "u1" and after.kinds["p1@u1"] == "former"
        assert after.values["p1@u1"] == [120_000] * 3 + [51_429] + [0] * 8
        # u1: 180,000 - 68,571 = 111,429 in April, 60,000 after; u2: 120,000 + 68,571 = 188,571, then 240,000.
        assert after.values["u1"] == [180_000] * 3 + [111_429] + [60_000] * 8
        assert after.values["u2"] == [120_000] * 3 + [188_571] + [240_000] * 8
        assert "u0" not in change.deltas
        assert change.reparent == {"p1": "u2"}
        check_invariants(tree, after)
        # 68,571 + 8 x 120,000 = 1,028,571 fen moves; 411,429 stays.
        assert "¥10,285.71" in change.text("en") and "¥4,114.29" in change.text("en")
        assert "p1 从 u1 调到 u2" in change.text("zh")

    def test_only_the_chains_below_the_common_ancestor_change(self):
        tree = build(
            ("u0", None, "unit", 100),
            ("u1", "u0", "unit", 100),
            ("u11", "u1", "unit", 60),
            ("u12", "u1", "unit", 40),
            ("p1", "u11", "person", 60),
            ("p2", "u12", "person", 40),
        )
        change = move(tree, "p1", "u12", Cut(0, 0, 20), MONTHS)
        assert set(change.deltas) == {"u11", "u12"}
        after = apply(tree, change)
        assert after.values["u11"] == [0] * 12 and after.values["u12"] == [100] * 12
        assert "p1@u11" not in after.parents  # nothing was owed before the cut
        check_invariants(tree, after)

    def test_over_assignment_is_preserved(self):
        # u1 = 100,000 declares 110%: its people hold 60,000 + 50,000. Moving p2 whole leaves u1 at 50,000
        # over 60,000: still 10,000 short of its people, as declared.
        tree = build(
            ("u0", None, "unit", 150_000),
            ("u1", "u0", "unit", 100_000),
            ("u2", "u0", "unit", 50_000),
            ("p1", "u1", "person", 60_000),
            ("p2", "u1", "person", 50_000),
            ("p3", "u2", "person", 50_000),
        )
        after = apply(tree, move(tree, "p2", "u2", Cut(0, 0, 21), MONTHS))
        assert after.values["u1"] == [50_000] * 12 and after.values["u2"] == [100_000] * 12
        assert gaps(after)["u1"] == [-10_000] * 12
        check_invariants(tree, after)

    def test_refuses_when_an_over_assigned_unit_would_go_negative(self):
        tree = build(
            ("u0", None, "unit", 200),
            ("u1", "u0", "unit", 100),
            ("u2", "u0", "unit", 100),
            ("p1", "u1", "person", 110),
            ("p2", "u2", "person", 100),
        )
        with pytest.raises(AllocationError) as err:
            move(tree, "p1", "u2", Cut(0, 0, 21), MONTHS)
        assert err.value.nodes == ["u1"]

    def test_refuses_a_move_to_the_same_unit_or_of_a_unit(self):
        tree = company()
        with pytest.raises(ValueError):
            move(tree, "p1", "u1", Cut(3, 9, 12), MONTHS)
        with pytest.raises(ValueError):
            move(tree, "u1", "u2", Cut(3, 9, 12), MONTHS)


class TestHire:
    def test_from_a_vacancy_takes_the_ramped_part(self):
        tree = build(
            ("u0", None, "unit", 30_001),
            ("v1", "u0", "vacancy", 30_001),
        )
        change = hire(tree, "p9", "u0", Cut(9, 0, 22), MONTHS, ["0.25", Decimal("0.5")], ("vacancy", "v1"))
        after = apply(tree, change)
        # From October: 30,001 x 1/4 = 7,500.25 -> 7,500; then x 1/2 = 15,000.5 -> 15,001 (half up),
        # and December stays at the last factor. The vacancy keeps 22,501, 15,000, 15,000.
        assert after.values["p9"] == [0] * 9 + [7_500, 15_001, 15_001]
        assert after.values["v1"] == [30_001] * 9 + [22_501, 15_000, 15_000]
        assert after.values["u0"] == tree.values["u0"]
        check_invariants(tree, after)
        assert "25%/50%" in change.text("en")

    def test_from_a_vacancy_in_another_unit_moves_the_chains(self):
        tree = company()
        after = apply(tree, hire(tree, "p9", "u1", Cut(0, 0, 21), MONTHS, [1], ("vacancy", "v1")))
        assert after.values["v1"] == [0] * 12 and after.values["p9"] == [30_000] * 12
        assert after.values["u1"] == [210_000] * 12 and after.values["u2"] == [90_000] * 12
        check_invariants(tree, after)

    def test_from_the_team_takes_in_proportion_to_the_remaining(self):
        tree = company()
        change = hire(tree, "p9", "u1", Cut(6, 0, 21), MONTHS, [Fraction(1, 2), 1.0], ("team", None))
        after = apply(tree, change)
        # Basis: u1's 180,000 / (2 seats + 1) = 60,000; July at 1/2 = 30,000, then 60,000. p1 and p2
        # give it up 2 : 1 (120,000 : 60,000): 20,000 / 10,000 in July, 40,000 / 20,000 later.
        assert after.values["p9"] == [0] * 6 + [30_000] + [60_000] * 5
        assert after.values["p1"] == [120_000] * 6 + [100_000] + [80_000] * 5
        assert after.values["p2"] == [60_000] * 6 + [50_000] + [40_000] * 5
        assert "u1" not in change.deltas
        check_invariants(tree, after)

    def test_refuses_a_team_with_no_seats(self):
        tree = build(("u0", None, "unit", 100), ("u1", "u0", "unit", 100), ("p1", "u1", "person", 100))
        with pytest.raises(AllocationError) as err:
            hire(tree, "p9", "u0", Cut(0, 0, 21), MONTHS, RAMP, ("team", None))
        assert err.value.nodes == ["u0"]

    def test_refuses_bad_ramps_and_keys(self):
        tree = company()
        for ramp in ([], ["1.5"], [True], [None]):
            with pytest.raises((ValueError, TypeError)):
                hire(tree, "p9", "u1", Cut(0, 0, 21), MONTHS, ramp, ("team", None))
        with pytest.raises(ValueError):
            hire(tree, "p2", "u1", Cut(0, 0, 21), MONTHS, RAMP, ("team", None))
        with pytest.raises(ValueError):
            hire(tree, "p9", "u1", Cut(0, 0, 21), MONTHS, RAMP, ("vacancy", "p3"))
        with pytest.raises(ValueError):
            hire(tree, "p9", "u1", Cut(0, 0, 21), MONTHS, RAMP, ("agency", None))


class TestDepart:
    def test_to_a_vacancy(self):
        tree = company()
        change = depart(tree, "p2", Cut(11, 10, 11), MONTHS, "vacancy", vacancy_key="vp2")
        after = apply(tree, change)
        # December: 60,000 x 10/21 = 28,571.43 stays, x 11/21 = 31,428.57 -> 31,429 (larger remainder) leaves.
        assert after.values["vp2"] == [0] * 11 + [31_429]
        assert after.values["p2"] == [60_000] * 11 + [28_571]
        assert after.kinds["p2"] == "former" and after.kinds["vp2"] == "vacancy"
        assert after.parents["vp2"] == "u1"
        check_invariants(tree, after)

    def test_redistribute_in_proportion(self):
        tree = build(
            ("u0", None, "unit", 100_000),
            ("p1", "u0", "person", 60_000),
            ("p2", "u0", "person", 30_000),
            ("v1", "u0", "vacancy", 10_000),
        )
        after = apply(tree, depart(tree, "p1", Cut(10, 0, 20), MONTHS, "redistribute"))
        # November and December: 60,000 split 30,000 : 10,000 = 45,000 / 15,000.
        assert after.values["p1"] == [60_000] * 10 + [0, 0]
        assert after.values["p2"] == [30_000] * 10 + [75_000, 75_000]
        assert after.values["v1"] == [10_000] * 10 + [25_000, 25_000]
        check_invariants(tree, after)

    def test_redistribute_evenly_when_the_others_have_nothing_left(self):
        tree = build(
            ("u0", None, "unit", 100_000),
            ("p1", "u0", "person", 100_000),
            ("p2", "u0", "person", 0),
            ("p3", "u0", "person", 0),
            ("p4", "u0", "person", 0),
        )
        after = apply(tree, depart(tree, "p1", Cut(11, 0, 20), MONTHS, "redistribute"))
        # 100,000 / 3 = 33,333.33 each; the one fen left goes to the first.
        assert [after.values[p][11] for p in ("p2", "p3", "p4")] == [33_334, 33_333, 33_333]
        check_invariants(tree, after)

    def test_departed_person_no_longer_counts_as_a_seat(self):
        tree = company()
        after = apply(tree, depart(tree, "p2", Cut(6, 0, 21), MONTHS, "redistribute"))
        assert after.kinds["p2"] == "former" and "p2" not in SEATS
        with pytest.raises(AllocationError) as err:
            depart(after, "p1", Cut(8, 0, 21), MONTHS, "redistribute")
        assert err.value.nodes == ["p1"]

    def test_refuses_redistribute_with_no_other_seat(self):
        tree = build(("u0", None, "unit", 10), ("p1", "u0", "person", 10))
        with pytest.raises(AllocationError) as err:
            depart(tree, "p1", Cut(0, 0, 21), MONTHS, "redistribute")
        assert err.value.nodes == ["p1"]

    def test_refuses_a_vacancy_without_a_free_key(self):
        tree = company()
        with pytest.raises(ValueError):
            depart(tree, "p2", Cut(0, 0, 21), MONTHS, "vacancy")
        with pytest.raises(ValueError):
            depart(tree, "p2", Cut(0, 0, 21), MONTHS, "vacancy", vacancy_key="v1")


class TestReassign:
    def test_moves_the_amount_along_both_chains(self):
        tree = company()
        amounts = [0] * 6 + [10_000] * 6
        change = reassign(tree, "p1", "p3", amounts)
        after = apply(tree, change)
        assert after.values["p1"] == [120_000] * 6 + [110_000] * 6
        assert after.values["u1"] == [180_000] * 6 + [170_000] * 6
        assert after.values["u2"] == [120_000] * 6 + [130_000] * 6
        assert "u0" not in change.deltas
        check_invariants(tree, after)
        assert change.text("en") == "¥600.00 moves from p1 to p3."

    def test_refuses_more_than_available(self):
        tree = company()
        with pytest.raises(AllocationError) as err:
            reassign(tree, "p2", "p1", [60_001] + [0] * 11)
        assert err.value.nodes == ["p2"]

    def test_refuses_unknown_nodes(self):
        tree = company()
        with pytest.raises(KeyError):
            reassign(tree, "p1", "nobody", [0] * 12)
        with pytest.raises(KeyError):
            move(tree, "nobody", "u1", Cut(0, 0, 1), MONTHS)
        with pytest.raises(KeyError):
            depart(tree, "nobody", Cut(0, 0, 1), MONTHS, "redistribute")


class TestTree:
    def test_refuses_negative_values(self):
        with pytest.raises(ValueError):
            build(("u0", None, "unit", 5), ("p1", "u0", "person", -5))

    @pytest.mark.parametrize(
        "parents, kinds, values",
        [
            ({"a": None, "b": "a"}, {"a": "unit", "b": "person"}, {"a": [1], "b": [1, 2]}),
            ({"a": None, "b": "x"}, {"a": "unit", "b": "person"}, {"a": [1], "b": [1]}),
            ({"a": None, "b": None}, {"a": "unit", "b": "unit"}, {"a": [1], "b": [1]}),
            ({"a": None, "b": "c", "c": "b"}, {k: "unit" for k in "abc"}, {k: [1] for k in "abc"}),
            ({"a": None, "b": "a"}, {"a": "person", "b": "person"}, {"a": [1], "b": [1]}),
            ({"a": None}, {"a": "team"}, {"a": [1]}),
            ({"a": None}, {"a": "unit"}, {"a": [1.0]}),
            ({"a": None}, {"a": "unit"}, {"a": [True]}),
        ],
    )
    def test_refuses_malformed_trees(self, parents, kinds, values):
        with pytest.raises((ValueError, TypeError)):
            Tree(parents, kinds, values)

    def test_apply_is_pure_and_the_change_serialises(self):
        tree = company()
        snapshot = json.dumps(tree.values)
        change = move(tree, "p1", "u2", Cut(3, 9, 12), MONTHS)
        apply(tree, change)
        assert json.dumps(tree.values) == snapshot and tree.parents["p1"] == "u1"
        data = json.loads(json.dumps(change.to_dict()))
        assert data["operation"] == "move" and data["added"] == {"p1@u1": ["u1", "former"]}
        assert [n["code"] for n in data["notes"]] == ["cut", "moved"]

    def test_apply_refuses_a_change_for_another_tree(self):
        change = Change("reassign", {"p1": [-1] * 12})
        with pytest.raises(ValueError):
            apply(build(("u0", None, "unit", 0), ("p1", "u0", "person", 0)), change)


@st.composite
def plans(draw) -> tuple[Tree, list[int]]:
    """A root over 2-4 (possibly nested) teams of 1-5 seats, some units over-assigned (or holding a
    reserve), with 12 monthly slots or 24 for two product lines."""
    slot_months = MONTHS * draw(st.sampled_from([1, 2]))
    slots = len(slot_months)
    parents: dict[str, str | None] = {"u0": None}
    kinds = {"u0": "unit"}
    units = ["u0"]
    for t in range(1, draw(st.integers(2, 4)) + 1):
        parents[f"u{t}"] = draw(st.sampled_from(units))
        kinds[f"u{t}"] = "unit"
        units.append(f"u{t}")
    values: dict[str, list[int]] = {}
    for team in units[1:]:
        for _ in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(["person", "person", "person", "vacancy"]))
            key = f"{kind[0]}{len(values)}"
            parents[key], kinds[key] = team, kind
            base = draw(st.integers(0, 10**7))
            values[key] = [base * draw(st.integers(0, 3)) // 2 for _ in range(slots)]
    # Units from the deepest up: a team only hangs under an earlier one.
    for unit in reversed(units):
        pct = draw(st.sampled_from([100, 100, 100, 95, 110, 120]))
        children = [k for k, p in parents.items() if p == unit]
        values[unit] = [sum(values[c][s] for c in children) * 100 // pct for s in range(slots)]
    return Tree(parents, kinds, values), slot_months


cuts = st.builds(Cut, st.integers(0, 11), st.integers(0, 23), st.integers(0, 23))
ramps = st.sampled_from([RAMP, [Decimal("0.5"), Decimal("1")], [Fraction(1, 3)], ["1"], [0.25, 0.5]])


class TestSequences:
    @settings(max_examples=60, deadline=None)
    @given(plans(), st.data())
    def test_every_change_keeps_the_plan_adding_up(self, plan, data):
        tree, slot_months = plan
        for step in range(data.draw(st.integers(1, 8))):
            of = {
                kind: [k for k, x in tree.kinds.items() if x == kind]
                for kind in ("unit", "person", "vacancy")
            }
            seats = of["person"] + of["vacancy"]
            operations = ["hire_team", "reassign"]
            if of["person"]:
                operations += ["move", "depart_vacancy", "depart_redistribute"]
            if of["vacancy"]:
                operations.append("hire_vacancy")
            operation = data.draw(st.sampled_from(operations))
            cut = data.draw(cuts)
            new = f"n{step}"
            try:
                if operation == "move":
                    person = data.draw(st.sampled_from(of["person"]))
                    target = data.draw(st.sampled_from([u for u in of["unit"] if u != tree.parents[person]]))
                    change = move(tree, person, target, cut, slot_months, former_key=new)
                elif operation.startswith("hire"):
                    parent = data.draw(st.sampled_from(of["unit"]))
                    source = ("team", None)
                    if operation == "hire_vacancy":
                        source = ("vacancy", data.draw(st.sampled_from(of["vacancy"])))
                    change = hire(tree, new, parent, cut, slot_months, data.draw(ramps), source)
                elif operation.startswith("depart"):
                    person = data.draw(st.sampled_from(of["person"]))
                    mode = operation.removeprefix("depart_")
                    change = depart(tree, person, cut, slot_months, mode, vacancy_key=new)
                else:
                    source = data.draw(st.sampled_from(seats))
                    target = data.draw(st.sampled_from([k for k in seats if k != source] or [source]))
                    if target == source:
                        continue
                    tenths = data.draw(st.integers(0, 10))
                    change = reassign(tree, source, target, [v * tenths // 10 for v in tree.values[source]])
            except AllocationError:
                event(f"{operation} refused")
                continue  # a refusal (e.g. an over-assigned unit would go negative) leaves the plan as is
            event(operation)
            after = apply(tree, change)
            check_invariants(tree, after)
            if operation != "reassign":
                check_only_the_remaining_moved(tree, after, change, cut, slot_months)
            tree = after


def check_only_the_remaining_moved(before: Tree, after: Tree, change: Change, cut: Cut, slot_months) -> None:
    """What was owed before the cut stays where it was: a moved person's part goes to their former node
    under the old unit; every other seat keeps at least the part of each slot before the cut."""
    formers = [key for key, (_, kind) in change.added.items() if kind == "former"]
    moved = dict(zip(change.reparent, formers, strict=False))
    for key, row in before.values.items():
        if before.kinds[key] == "unit":
            continue
        new = after.values[key]
        if key in moved:
            new = [a + b for a, b in zip(new, after.values[moved[key]], strict=True)]
        rest = remaining(row, cut, slot_months)
        for s, month in enumerate(slot_months):
            if month < cut.month:
                assert new[s] == row[s]
            assert new[s] >= row[s] - rest[s]
