"""Contiguous catchments, stability and the no-split rule on hand-made instances.

A 2 × 4 grid of villages and two schools; an express road makes the far corner closer (in
time) to the other school than to its own neighbours' school, so the unconstrained optimum
has an enclave. Every other objective term is constant (standards met whatever the split,
capacity ample), so the optimum is the least travel; a brute force over all 2^8
assignments (connectivity checked with networkx) gives both optima to compare with.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import networkx as nx
import pandas as pd
import pytest
from model_instances import tiny_primary

from planner.adjacency import CatchmentGraph, stage_graph
from planner.model.contiguity import ContiguityRule, catchment_components, contiguous_assignment, unit_order
from planner.model.inputs import ModelInputs
from planner.model.optimise import optimise
from planner.plan.readback import assignments
from planner.scenario import scenario_from_dict

# grid: row a (y = 1) and row b (y = 0), columns 0..3; school A stands in a0, school B in b3
POS = {f"{r}{c}": (c, 1 - i) for i, r in enumerate("ab") for c in range(4)}
PUPILS = {"a0": 90, "a1": 70, "a2": 60, "a3": 40, "b0": 80, "b1": 50, "b2": 65, "b3": 100}
SCHOOL_AT = {"A": "a0", "B": "b3"}
EXPRESS = {("a3", "A"): 8.0}  # the far corner a3 reaches A by an express road in 8 min (B: 10)


def _time(s: str, u: str) -> float:
    if (s, u) in EXPRESS:
        return EXPRESS[(s, u)]
    (x1, y1), (x2, y2) = POS[s], POS[SCHOOL_AT[u]]
    return round(10 * math.hypot(x1 - x2, y1 - y2), 3)


def _grid_graph() -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(POS)
    for a, b in itertools.combinations(POS, 2):
        (x1, y1), (x2, y2) = POS[a], POS[b]
        if abs(x1 - x2) + abs(y1 - y2) == 1:
            g.add_edge(a, b)
    return g


def grid_instance(current: dict[str, str] | None = None) -> ModelInputs:
    """Two primary schools with resources for any split of the 555 pupils."""
    current = current or {s: ("A" if POS[s][0] <= 1 else "B") for s in POS}
    rows = []
    for u in ("A", "B"):
        rows.append({"unit_id": u, "kind": "primary", "is_new": False, "public": True, "nine_year": False,
                     "boarding": False, "classrooms": 20, "floor_area": 10_000.0, "sports_area": 20_000.0,
                     "equipment": 5e6, "multimedia": 30, "music_rooms": 5, "art_rooms": 5, "land_cost_yuan": 0.0,
                     "site_stage": "", "max_classes": 0})  # fmt: skip
    units = pd.DataFrame(rows).set_index("unit_id", drop=False)
    pupils = {u: float(sum(p for s, p in PUPILS.items() if current[s] == u)) for u in ("A", "B")}
    parts = pd.DataFrame(
        [{"unit_id": u, "stage": "primary", "pupils": pupils[u], "fixed_pupils": float("nan"), "included": True,
          "teachers": 60, "above_required": 60, "backbone": 20, "pe_art": 20} for u in ("A", "B")]
    ).set_index(["unit_id", "stage"])  # fmt: skip
    demand = pd.DataFrame(
        [{"settlement_id": s, "stage": "primary", "pupils": p, "current_unit": current[s]} for s, p in PUPILS.items()]
    )
    arcs = pd.DataFrame(
        [{"settlement_id": s, "stage": "primary", "unit_id": u, "time_min": _time(s, u), "distance_m": 0.0,
          "within_cap": True} for s in POS for u in ("A", "B")]
    )  # fmt: skip
    arcs["distance_m"] = arcs["time_min"] * 70.0
    # the tiny primary instance's national limits and costs, with no money and no options
    base = tiny_primary(capital_budget_yuan=0.0)
    inp = replace(base, units=units, parts=parts, demand=demand, arcs=arcs,
                  site_options=base.site_options.iloc[0:0], expansions=base.expansions.iloc[0:0])  # fmt: skip
    edges = pd.DataFrame([(a, b, "cell") for a, b in sorted(_grid_graph().edges)], columns=["a", "b", "kind"])
    return replace(inp, catchment_graph=CatchmentGraph(edges=edges, own=dict(SCHOOL_AT), nodes=tuple(POS)))


def scenario(**rules: object) -> object:
    return scenario_from_dict(
        {
            "name": "grid",
            "levers": {"catchments": True, "new_schools": False, "expansions": False, "resources": False,
                       "rotation": False, "hires": False},
            "weights": {"rezoned_pupil": 0.0},
            "solver": {"name": "highs", "time_limit_s": 30, "gap_rel": 0.0, "cv_iterations": 0},
            "catchment_rules": rules,
        }
    )  # fmt: skip


def _travel(assign: dict[str, str]) -> float:
    return sum(PUPILS[s] * _time(s, u) for s, u in assign.items())


def _contiguous(assign: dict[str, str], g: nx.Graph) -> bool:
    for u, root in SCHOOL_AT.items():
        members = [s for s, v in assign.items() if v == u]
        if members and (root not in members or not nx.is_connected(g.subgraph(members))):
            return False
    return True


def brute_force() -> tuple[float, float]:
    """Least pupil-minutes over all assignments, and over the contiguous ones (every school keeps ≥ 1)."""
    g = _grid_graph()
    best_all = best_contig = math.inf
    names = sorted(POS)
    for choice in itertools.product("AB", repeat=len(names)):
        assign = dict(zip(names, choice, strict=True))
        if len(set(choice)) < 2:
            continue
        t = _travel(assign)
        best_all = min(best_all, t)
        if _contiguous(assign, g):
            best_contig = min(best_contig, t)
    return best_all, best_contig


def _solve(inp: ModelInputs, **rules: object) -> tuple[dict[str, str], object]:
    sol = optimise(inp, scenario(**rules))
    a = assignments(sol.built.ctx)
    return dict(zip(a["settlement_id"], a["unit_id"], strict=True)), sol


@pytest.fixture(scope="module")
def solved() -> dict[str, tuple[dict[str, str], object]]:
    inp = grid_instance()
    return {"free": _solve(inp), "contig": _solve(grid_instance(), contiguity=True)}


def test_unconstrained_optimum_has_an_enclave_and_matches_brute_force(solved) -> None:
    assign, sol = solved["free"]
    best_all, _ = brute_force()
    assert sol.result.status == "optimal"
    assert _travel(assign) == pytest.approx(best_all)
    # a3 goes to A over its express road, while its neighbours a2 and b3 go to B: an enclave
    assert assign["a3"] == "A" and assign["a2"] == "B" and assign["b3"] == "B"
    assert not _contiguous(assign, _grid_graph())


def test_contiguity_removes_the_enclave_at_the_brute_force_cost(solved) -> None:
    _, sol_free = solved["free"]
    assign, sol = solved["contig"]
    best_all, best_contig = brute_force()
    assert _contiguous(assign, _grid_graph())
    assert _travel(assign) == pytest.approx(best_contig)
    # the price of contiguity in the objective: pupil-minutes × the travel weight, nothing else moves
    w = scenario().weights.travel_per_pupil_min
    assert sol.objective_terms["travel"] - sol_free.objective_terms["travel"] == pytest.approx(
        w * (best_contig - best_all)
    )
    # a3 (40 pupils): 10 min to B instead of 8 to A -> 80 pupil-minutes; hand check of the brute force
    assert best_contig - best_all == pytest.approx(40 * (_time("a3", "B") - _time("a3", "A")))
    # the plan's own table, checked with networkx
    a = pd.DataFrame({"settlement_id": list(assign), "stage": "primary", "school_id": list(assign.values())})
    comps = catchment_components(a, _grid_graph())
    assert (comps["components"] == 1).all()


def test_todays_enclave_stays_feasible_and_is_removed_or_reported() -> None:
    # today a3 is an enclave of A; the start plan must stay valid
    today = {s: ("A" if POS[s][0] <= 1 else "B") for s in POS} | {"a3": "A"}
    assign, sol = _solve(grid_instance(today), contiguity=True)
    assert sol.result.has_solution
    assert assign["a3"] == "B"
    assert sol.built.ctx.exprs["totals"]["contiguity_exceptions"].value() == pytest.approx(0.0)
    # kept where it is by name: a3 cannot move, so A's catchment reaches it through a2 (a3 is ranked after
    # a2 for A although nearer in time: a pocket) — contiguous, no exception
    assign, sol = _solve(grid_instance(today), contiguity=True, keep_settlements=["a3"])
    assert assign["a3"] == "A" and assign["a2"] == "A"
    assert _contiguous(assign, _grid_graph())
    assert sol.built.ctx.exprs["totals"]["contiguity_exceptions"].value() == pytest.approx(0.0)
    # the registered start was repaired the same way before the solve (a2 pulled to A)
    assert sol.built.ctx.vars["x"][("a2", "primary", "A")].varValue == pytest.approx(1.0)


def test_unavoidable_break_is_kept_at_a_price_and_counted() -> None:
    # a3 kept at A, but A cannot reach it: a2 and b3 may only go to B (no arc to A)
    today = {s: ("A" if POS[s][0] <= 1 else "B") for s in POS} | {"a3": "A"}
    inp = grid_instance(today)
    arcs = inp.arcs
    object.__setattr__(
        inp, "arcs", arcs[~(arcs["settlement_id"].isin(["a2", "b3"]) & (arcs["unit_id"] == "A"))].reset_index(drop=True)
    )
    assign, sol = _solve(inp, contiguity=True, keep_settlements=["a3"])
    assert assign["a3"] == "A"
    assert sol.built.ctx.exprs["totals"]["contiguity_exceptions"].value() == pytest.approx(1.0)
    assert not _contiguous(assign, _grid_graph())


def test_exempt_school_may_keep_the_enclave() -> None:
    assign, _ = _solve(grid_instance(), contiguity=True, contiguity_exempt=["A"])
    assert assign["a3"] == "A"


def test_rezoning_cap_and_keep_list_hold_on_the_plan_table() -> None:
    # today everything goes to A except b3; unconstrained, the plan moves several villages to B
    today = dict.fromkeys(POS, "A") | {"b3": "B"}
    free, _ = _solve(grid_instance(today))
    moved_free = sum(PUPILS[s] for s in POS if free[s] != today[s])
    assert moved_free > 100
    sc = scenario().model_dump()
    sc["max_rezoned_pupils"] = 100
    sol = optimise(grid_instance(today), scenario_from_dict(sc))
    a = assignments(sol.built.ctx)
    assert int(a.loc[a["changed"], "pupils"].sum()) <= 100
    kept, _ = _solve(grid_instance(today), keep_settlements=["a2", "b2"])
    assert kept["a2"] == "A" and kept["b2"] == "A"
    assert any(kept[s] != free[s] for s in ("a2", "b2"))


def test_no_settlement_is_split_between_schools(solved) -> None:
    for assign, sol in solved.values():
        a = assignments(sol.built.ctx)
        assert not a.duplicated(["settlement_id", "stage"]).any()
        assert dict(zip(a["settlement_id"], a["pupils"], strict=True)) == PUPILS
        # every settlement's pupils go wholly to one school: the binaries are 0/1
        for v in sol.built.ctx.vars["x"].values():
            assert v.varValue == pytest.approx(round(v.varValue), abs=1e-6)
        assert set(assign) == set(POS)


def test_stage_graph_contracts_pupil_less_settlements() -> None:
    g = nx.path_graph(["p", "z", "q", "r"])
    h = stage_graph(g, {"p", "q", "r"})
    assert set(h.edges) == {("p", "q"), ("q", "r")}


def _grid_rule(keep: set[str] | None = None) -> ContiguityRule:
    g = _grid_graph()
    times = {(s, "primary", u): _time(s, u) for s in POS for u in SCHOOL_AT}
    arcs = {(s, "primary"): sorted(SCHOOL_AT, key=lambda u, s=s: _time(s, u)) for s in POS}
    rule = ContiguityRule(graphs={"primary": g}, arcs=arcs, times=times, keep=keep or set())
    for u, root in SCHOOL_AT.items():
        rule.roots[(u, "primary")] = {root}
        rule.rank[(u, "primary")], rule.parent[(u, "primary")] = unit_order(g, {s: _time(s, u) for s in POS}, {root})
    return rule


def test_rank_order_lifts_a_pocket_behind_its_neighbour() -> None:
    rule = _grid_rule()
    rank, parent = rule.rank[("A", "primary")], rule.parent[("A", "primary")]
    # by travel time a3 (8 min by the express road) is nearer to A than both its neighbours a2 (20) and
    # b3 (31.6): plain time ordering leaves it no closer neighbour and rules the arc out; the rank order
    # reaches it from a2, right after a2
    assert _time("a3", "A") < min(_time("a2", "A"), _time("b3", "A"))
    assert parent["a3"] == "a2" and rank["a3"] == rank["a2"] + 1
    # elsewhere the rank follows the travel time, ties broken by the time, then the name
    order = sorted(rank, key=rank.__getitem__)
    assert order == ["a0", "a1", "b0", "b1", "a2", "a3", "b2", "b3"]
    assert all(rank[parent[s]] < rank[s] for s in parent)


def test_repair_makes_todays_enclave_contiguous() -> None:
    today = {s: ("A" if POS[s][0] <= 1 else "B") for s in POS} | {"a3": "A"}
    assign = {(s, "primary"): u for s, u in today.items()}
    rule = _grid_rule()
    assert rule.breaks(assign) == [("a3", "primary", "A")]
    fixed, left = contiguous_assignment(rule, assign)
    assert left == 0 and fixed[("a3", "primary")] == "B"
    assert sum(fixed[k] != assign[k] for k in assign) == 1
    # a3 must stay (keep_settlements): the chain joining it to A (a2) is pulled over instead
    fixed, left = contiguous_assignment(_grid_rule(keep={"a3"}), assign)
    assert left == 0 and fixed[("a3", "primary")] == "A" and fixed[("a2", "primary")] == "A"
    assert _contiguous({s: fixed[(s, "primary")] for s in POS}, _grid_graph())


def test_unavoidable_settlement_is_listed_not_penalised() -> None:
    # a3 may only go to A (today's school) and neither neighbour may: no plan joins it to A
    today = {s: ("A" if POS[s][0] <= 1 else "B") for s in POS} | {"a3": "A"}
    inp = grid_instance(today)
    arcs = inp.arcs
    drop = (arcs["settlement_id"].isin(["a2", "b3"]) & (arcs["unit_id"] == "A")) | (
        (arcs["settlement_id"] == "a3") & (arcs["unit_id"] == "B")
    )
    object.__setattr__(inp, "arcs", arcs[~drop].reset_index(drop=True))
    assign, sol = _solve(inp, contiguity=True)
    totals = sol.built.ctx.exprs["totals"]
    assert assign["a3"] == "A"
    assert totals["contiguity_exceptions"].value() == pytest.approx(0.0)  # nothing penalised
    assert totals["contiguity_unavoidable"].const == 1
    assert sol.built.ctx.vars["contig_slack"][("a3", "primary", "A")].varValue == pytest.approx(1.0)
    # the rest of A's catchment is still one area with a0
    members = [s for s, u in assign.items() if u == "A" and s != "a3"]
    assert "a0" in members and nx.is_connected(_grid_graph().subgraph(members))
