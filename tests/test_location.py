"""The location-allocation core: published optima with proof, brute force, options, honest status.

Expected values come from outside the code under test: the OR-Library optima published
with the instances (Beasley 1985), exhaustive enumeration written here independently of
the model, and small cases worked by hand.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.locate import (
    CapacitatedFacilityLocation,
    CostData,
    PMedian,
    orlib_pmedian_costs,
    read_orlib_pmedian,
)
from planner.model.backend import classify, parse_cbc_log, solver_available

ORLIB = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "orlib"
SOLVERS = [s for s in ("highs", "cbc") if solver_available(s)]


# --- independent brute force -----------------------------------------------------------


def brute_pmedian(cost: np.ndarray, w: np.ndarray, p: int, fixed: tuple[int, ...] = ()) -> float:
    """Cheapest total over every p-subset of sites containing ``fixed`` (inf if none serves all)."""
    best = math.inf
    for subset in itertools.combinations(range(cost.shape[1]), p):
        if not set(fixed) <= set(subset):
            continue
        total = 0.0
        for i in range(cost.shape[0]):
            d = min(cost[i, j] for j in subset)
            total += w[i] * d if math.isfinite(d) else math.inf
        best = min(best, total)
    return best


def brute_cflp(cost: np.ndarray, w: np.ndarray, cap: np.ndarray, f: np.ndarray, fixed: tuple[int, ...] = ()) -> float:
    """Cheapest single-source plan: every open-site subset × every assignment of clients to open sites."""
    n, m = cost.shape
    best = math.inf
    for r in range(1, m + 1):
        for subset in itertools.combinations(range(m), r):
            if not set(fixed) <= set(subset):
                continue
            for assign in itertools.product(subset, repeat=n):
                load = dict.fromkeys(subset, 0.0)
                total = sum(f[j] for j in subset)
                for i, j in enumerate(assign):
                    load[j] += w[i]
                    total += w[i] * cost[i, j]
                if all(load[j] <= cap[j] for j in subset):
                    best = min(best, total)
    return best


def crafted_costs(n: int, m: int, seed: int) -> np.ndarray:
    """Deterministic integer costs (Manhattan distances between scattered points), no RNG."""
    cx = [((i * 37 + seed * 11) % 50, (i * 53 + seed * 7) % 41) for i in range(n)]
    sx = [((j * 29 + seed * 13) % 47, (j * 61 + seed * 5) % 43) for j in range(m)]
    return np.array([[abs(a - c) + abs(b - d) for (c, d) in sx] for (a, b) in cx], dtype=float)


# --- OR-Library ------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(("name", "optimum"), [("pmed1", 5819), ("pmed5", 1355)])
def test_orlib_published_optimum_is_reached_and_proven(name: str, optimum: int, solver: str) -> None:
    cost, p = read_orlib_pmedian(ORLIB / f"{name}.txt")
    pm = PMedian.from_cost_matrix(cost, p=p)
    r = pm.solve(solver, gap_rel=0.0)
    assert r.status == "optimal" and r.proven_optimal
    assert r.objective == optimum
    assert r.bound == optimum and r.gap == 0.0
    assert len(r.open_sites) == p
    # the objective is the true cost of the open sites, recomputed from the distances
    assert cost[:, r.open_sites].min(axis=1).sum() == optimum
    assert r.build_s > 0 and r.solve_s > 0


def test_orlib_reader_last_duplicate_edge_counts_and_paths_are_shortest() -> None:
    # edge 1-2 given three times (once reversed): the last, 2 1 3, counts
    text = "4 5 2\n1 2 10\n2 3 4\n1 2 2\n3 4 1\n2 1 3\n"
    cost, p = orlib_pmedian_costs(text)
    assert p == 2
    expected = np.array([[0, 3, 7, 8], [3, 0, 4, 5], [7, 4, 0, 1], [8, 5, 1, 0]], dtype=float)
    np.testing.assert_array_equal(cost, expected)


# --- p-median against brute force ----------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_pmedian_matches_brute_force_with_weights_fixed_sites_and_forbidden_pairs(solver: str) -> None:
    for seed in range(4):
        cost = crafted_costs(9, 7, seed)
        cost[(np.arange(9)[:, None] * 3 + np.arange(7)[None, :] + seed) % 5 == 0] = np.inf  # some forbidden pairs
        w = np.array([(i * 5 + seed) % 4 for i in range(9)], dtype=float)  # some zero weights
        fixed = (seed % 7,) if seed % 2 else ()
        p = 2 + seed % 3
        r = PMedian.from_cost_matrix(cost, w, p=p, fixed=fixed).solve(solver, gap_rel=0.0)
        expected = brute_pmedian(cost, w, p, fixed)
        if math.isinf(expected):
            assert r.status == "infeasible"
            continue
        assert r.proven_optimal, r.describe()
        assert r.objective == pytest.approx(expected)
        assert set(fixed) <= set(r.open_sites) and len(r.open_sites) == p
        sites = r.assignment.to_numpy(dtype=int)
        assert set(sites) <= set(r.open_sites)
        assert float(w @ cost[np.arange(9), sites]) == pytest.approx(expected)


def test_fixed_sites_stay_open_even_when_costly() -> None:
    cost = crafted_costs(8, 6, 1)
    far = int(np.argmax(cost.sum(axis=0)))  # the worst site to open
    free = PMedian.from_cost_matrix(cost, p=2).solve(gap_rel=0.0)
    assert far not in free.open_sites
    r = PMedian.from_cost_matrix(cost, p=2, fixed=[far]).solve(gap_rel=0.0)
    assert r.proven_optimal and far in r.open_sites
    assert r.objective == brute_pmedian(cost, np.ones(8), 2, (far,))
    assert r.objective > free.objective


def test_max_cost_forbids_far_pairs_and_can_make_the_problem_infeasible() -> None:
    # two clusters on a line, sites at 1, 6 and 11; with one site, the middle one is best:
    # 6+5+4+4+5+6 = 30 against 1+0+1+9+10+11 = 32 for either end
    pos_c = [0, 1, 2, 10, 11, 12]
    pos_s = [1, 6, 11]
    cost = np.array([[abs(a - b) for b in pos_s] for a in pos_c], dtype=float)
    r = PMedian.from_cost_matrix(cost, p=1).solve(gap_rel=0.0)
    assert r.open_sites == [1] and r.objective == 30
    # with a cap of 3 no single site covers both clusters
    r = PMedian.from_cost_matrix(cost, p=1, max_cost=3).solve(gap_rel=0.0)
    assert r.status == "infeasible" and not r.has_solution
    r = PMedian.from_cost_matrix(cost, p=2, max_cost=3).solve(gap_rel=0.0)
    assert r.proven_optimal and r.open_sites == [0, 2]
    assert r.objective == 1 + 0 + 1 + 1 + 0 + 1
    chosen = cost[np.arange(6), r.assignment.to_numpy(dtype=int)]
    assert (chosen <= 3).all()
    # a client with no site within the cap
    r = PMedian.from_cost_matrix(cost, p=3, max_cost=0.5).solve()
    assert r.status == "infeasible" and "no allowed site" in r.message


def test_long_form_table_equals_dense_with_inf_and_keeps_labels() -> None:
    cost = crafted_costs(7, 5, 2)
    cost[0, 1] = cost[3, 4] = cost[5, 0] = np.inf
    clients = [f"村{i}" for i in range(7)]
    sites = [f"S{j}" for j in range(5)]
    rows = [(clients[i], sites[j], cost[i, j]) for i in range(7) for j in range(5) if np.isfinite(cost[i, j])]
    table = pd.DataFrame(rows[::-1], columns=["client", "site", "cost"])  # order of rows does not matter
    w = pd.Series({c: float(k % 3 + 1) for k, c in enumerate(clients)})
    dense = PMedian.from_cost_matrix(cost, w.to_numpy(), p=2).solve(gap_rel=0.0)
    long = PMedian.from_cost_table(table, w, p=2).solve(gap_rel=0.0)
    assert long.proven_optimal and long.objective == dense.objective
    assert long.open_sites == [sites[j] for j in dense.open_sites]
    assert list(long.assignment.index) == clients
    assert list(long.assignment) == [sites[j] for j in dense.assignment]


def test_cost_table_rejects_duplicate_pairs_and_bad_costs() -> None:
    table = pd.DataFrame({"client": ["a", "a"], "site": ["x", "x"], "cost": [1.0, 2.0]})
    with pytest.raises(ValueError, match="more than once"):
        CostData.from_table(table)
    with pytest.raises(ValueError, match="≥ 0"):
        CostData.from_matrix([[1.0, -2.0]])
    with pytest.raises(ValueError, match="fixed sites"):
        PMedian.from_cost_matrix(np.ones((3, 3)), p=1, fixed=[0, 1])
    with pytest.raises(ValueError, match="p must be"):
        PMedian.from_cost_matrix(np.ones((3, 3)), p=4)


def test_ties_go_to_the_lowest_index_and_results_repeat() -> None:
    # client 0 is equally far from the two sites that must both open: it goes to site 0
    cost = np.array([[2.0, 2.0, 9.0], [1.0, 5.0, 9.0], [5.0, 1.0, 9.0]])
    r = PMedian.from_cost_matrix(cost, p=2, fixed=[0, 1]).solve()
    assert r.assignment.tolist() == [0, 0, 1] and r.objective == 4
    pm = PMedian.from_cost_matrix(crafted_costs(20, 12, 3), p=4)
    a, b = pm.solve(gap_rel=0.0), pm.solve(gap_rel=0.0)
    assert a.open_sites == b.open_sites and a.assignment.equals(b.assignment) and a.objective == b.objective


def test_heuristic_is_feasible_without_proof() -> None:
    cost, p = read_orlib_pmedian(ORLIB / "pmed5.txt")
    h = PMedian.from_cost_matrix(cost, p=p).heuristic()
    assert h.status == "feasible" and not h.proven_optimal and h.bound is None
    assert h.objective >= 1355 and len(h.open_sites) == p


# --- capacitated facility location ---------------------------------------------------


def tiny_cflp() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cost = np.array(
        [
            [1.0, 4.0, 6.0],
            [2.0, 3.0, 5.0],
            [5.0, 1.0, 4.0],
            [6.0, 2.0, 2.0],
            [4.0, 5.0, 1.0],
            [3.0, 6.0, 2.0],
        ]
    )
    w = np.array([4.0, 3.0, 5.0, 2.0, 6.0, 3.0])
    cap = np.array([8.0, 9.0, 10.0])
    f = np.array([10.0, 12.0, 8.0])
    return cost, w, cap, f


@pytest.mark.parametrize("solver", SOLVERS)
def test_capacitated_single_source_matches_enumeration(solver: str) -> None:
    cost, w, cap, f = tiny_cflp()
    expected = brute_cflp(cost, w, cap, f)
    pr = CapacitatedFacilityLocation.from_cost_matrix(cost, w, cap, f)
    r = pr.solve(solver, gap_rel=0.0)
    assert r.proven_optimal and r.objective == pytest.approx(expected)
    assert pr.evaluate(r.open_sites, r.assignment) == pytest.approx(expected)
    load = pd.Series(w, index=r.assignment.index).groupby(r.assignment).sum()
    assert all(load[j] <= cap[j] for j in load.index)
    # a fixed site changes the answer exactly as enumeration says
    fx = CapacitatedFacilityLocation.from_cost_matrix(cost, w, cap, f, fixed=[1]).solve(solver, gap_rel=0.0)
    assert 1 in fx.open_sites and fx.objective == pytest.approx(brute_cflp(cost, w, cap, f, (1,)))


def test_capacitated_split_assignment_worked_by_hand() -> None:
    # client a (15 pupils) fits in neither school whole; splitting 10 / 5 costs 10·1 + 5·5,
    # plus client b (5) at B: 5·2 → 45 (sending b to A instead costs 5 + 5·1 + 10·5 = 60)
    cost = pd.DataFrame([[1.0, 5.0], [1.0, 2.0]], index=["a", "b"], columns=["A", "B"])
    w = {"a": 15.0, "b": 5.0}
    cap = {"A": 10.0, "B": 10.0}
    single = CapacitatedFacilityLocation.from_cost_matrix(cost, w, cap).solve()
    assert single.status == "infeasible"
    r = CapacitatedFacilityLocation.from_cost_matrix(cost, w, cap, single_source=False).solve(gap_rel=0.0)
    assert r.proven_optimal and r.objective == pytest.approx(45.0)
    flows = r.flows.set_index(["client", "site"])["share"]
    assert flows[("a", "A")] == pytest.approx(2 / 3) and flows[("a", "B")] == pytest.approx(1 / 3)
    assert flows[("b", "B")] == pytest.approx(1.0)
    assert r.assignment.to_dict() == {"a": "A", "b": "B"}


def test_capacitated_max_cost_and_exact_p() -> None:
    cost, w, _, f = tiny_cflp()
    big = np.full(3, 100.0)
    # with room everywhere and one site, the site serving all cheapest is opened
    r = CapacitatedFacilityLocation.from_cost_matrix(cost, w, big, f, p=1).solve(gap_rel=0.0)
    totals = [f[j] + w @ cost[:, j] for j in range(3)]
    assert r.proven_optimal and r.objective == pytest.approx(min(totals))
    # a cap of 3 forbids e.g. client 0 → site 1 (cost 4); every pair used is within it
    r = CapacitatedFacilityLocation.from_cost_matrix(cost, w, big, f, max_cost=3).solve(gap_rel=0.0)
    used = cost[np.arange(6), r.assignment.to_numpy(dtype=int)]
    assert r.proven_optimal and (used <= 3).all()


# --- honest status ---------------------------------------------------------------------


def test_time_limit_zero_reports_a_solution_without_proof() -> None:
    cost, p = read_orlib_pmedian(ORLIB / "pmed5.txt")
    r = PMedian.from_cost_matrix(cost, p=p).solve(time_limit_s=0.0)
    assert r.status == "feasible" and not r.proven_optimal
    assert r.bound is None and r.gap is None and "time limit" in r.message
    assert "not proven optimal" in r.describe()


def _harder_cflp() -> CapacitatedFacilityLocation:
    cost = crafted_costs(24, 8, 5)
    w = np.array([5 + (i * 7) % 11 for i in range(24)], dtype=float)
    cap = np.full(8, math.ceil(w.sum() / 3.3))
    f = np.array([400 + (j * 97) % 300 for j in range(8)], dtype=float)
    return CapacitatedFacilityLocation.from_cost_matrix(cost, w, cap, f)


@pytest.mark.skipif("highs" not in SOLVERS, reason="highspy not installed")
def test_highs_stopped_by_a_solution_limit_is_feasible_not_optimal() -> None:
    pr = _harder_cflp()
    full = pr.solve("highs", gap_rel=0.0)
    assert full.proven_optimal
    # stop at HiGHS's first solution: PuLP would call this "Optimal"
    r = pr.solve("highs", gap_rel=0.0, options={"mip_max_improving_sols": 1})
    assert r.status == "feasible" and not r.proven_optimal
    assert r.objective > full.objective and r.gap is not None and r.gap > 0
    assert r.bound is None or r.bound <= full.objective


def test_status_rules_on_crafted_solver_answers() -> None:
    # PuLP says "Optimal" for these; the solver did not prove it
    assert classify(False, True, 105.0, 100.0, 1e-4) == ("feasible", pytest.approx(5 / 105))
    assert classify(False, True, 105.0, None, 1e-4) == ("feasible", None)
    assert classify(False, False, None, 100.0, 1e-4) == ("no_solution", None)
    assert classify(False, True, 100.0, 100.0, 0.0)[0] == "optimal"  # bound meets objective
    assert classify(False, True, 100.5, 100.0, 0.01)[0] == "optimal"  # within the tolerance asked
    assert classify(True, True, 100.0, 100.0, 0.0) == ("optimal", 0.0)
    assert classify(False, False, None, None, 0.0, infeasible=True) == ("infeasible", None)


def test_cbc_log_reading() -> None:
    stopped = (
        "Cbc0010I After 1200 nodes, 40 on tree, 5141 best solution, best possible 5100.5 (59.9 seconds)\n"
        "Result - Stopped on time limit\n\nObjective value:                5141.00000000\n"
        "Lower bound:                    5120.250\nGap:                            0.00\n"
    )
    got = parse_cbc_log(stopped)
    assert not got["proved"] and got["objective"] == 5141.0 and got["bound"] == 5120.25
    no_solution = "Result - Stopped on time limit\n\nNo feasible solution found\nLower bound:      5128.000\n"
    got = parse_cbc_log(no_solution)
    assert got["objective"] is None and got["bound"] == 5128.0 and not got["proved"]
    optimal = "Result - Optimal solution found\n\nObjective value:                1355.00000000\n"
    got = parse_cbc_log(optimal)
    assert got["proved"] and got["bound"] == 1355.0
    lp = "Optimal - objective value 2.5\nOptimal objective 2.5 - 1 iterations time 0.002\n"
    got = parse_cbc_log(lp)
    assert got["proved"] and got["objective"] == 2.5 and got["bound"] == 2.5
    assert parse_cbc_log("Result - Linear relaxation infeasible\n")["infeasible"]
