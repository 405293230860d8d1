"""The least of the bottom lines (planner/model/bottom_lines.py): a MIP of the ``limits`` group alone, whose proven
bound is the floor of what the plan can change where it lies above the LP's.

The tiny primary county (tests/model_instances.py): school A has 600 pupils in 10 classrooms of 45 (450 places);
expansion EA adds 4 classrooms to A for 5 M yuan. With catchments fixed and 4 M yuan, EA cannot be built, so
600 − 450 = 150 pupils stay over A's places in every plan; the LP builds 4/5 of EA (144 places) and reads 6.
"""

from __future__ import annotations

import numpy as np
import pytest
from model_instances import tiny_primary

from planner.model import lagrange
from planner.model.backend import run
from planner.model.bottom_lines import (
    LeastLimits,
    LeastPlan,
    SharedPlan,
    collect_least,
    hold_least,
    least_limits,
    limits_cost,
    release_least,
    start_least_child,
)
from planner.model.build import build_model
from planner.model.optimise import (
    add_baseline_cuts,
    bottom_lines_dominate,
    from_least_plan,
    optimise,
    raised_floor,
    unavoidable_floor,
)
from planner.model.regions import model_arrays
from planner.model.start import StartResult, registered_plan
from planner.scenario import Scenario, scenario_from_dict

pytestmark = pytest.mark.xdist_group("tiny_models")


def _scenario(catchments: bool, **solver_settings: object) -> Scenario:
    levers = {"catchments": catchments, "new_schools": False, "expansions": True, "resources": False,
              "rotation": False, "hires": False}  # fmt: skip
    solver = {"name": "highs", "gap_rel": 0.01, "time_limit_s": 60, "cv_iterations": 0, **solver_settings}
    return scenario_from_dict({"name": "tiny", "levers": levers, "solver": solver})


def _least(inp, sc: Scenario) -> tuple[LeastLimits | None, float | None]:
    built = build_model(inp, sc)
    add_baseline_cuts(built)
    floor = unavoidable_floor(built, sc.solver, 30)
    variables = built.prob.variables()
    cost, constant = limits_cost(built.ctx, variables)
    return least_limits(model_arrays(built.prob, variables), cost, constant, 30), floor


def test_whole_projects_lift_the_least_above_the_lp_floor() -> None:
    sc = _scenario(catchments=False)
    w = sc.weights.limits
    least, floor = _least(tiny_primary(capital_budget_yuan=4_000_000.0), sc)
    assert floor == pytest.approx(6 * w, rel=1e-6)  # 600 − 450 − 0.8 × 4 × 45
    assert least is not None and least.proved
    assert least.bound == pytest.approx(150 * w, rel=1e-6) and least.value == pytest.approx(150 * w, rel=1e-6)
    # with 5 M yuan EA is built: 630 places, nothing over, by the LP and the MIP alike
    least, floor = _least(tiny_primary(capital_budget_yuan=5_000_000.0), sc)
    assert floor == pytest.approx(0.0, abs=1e-6) and least is not None and least.bound == pytest.approx(0.0, abs=1e-6)


def test_re_zoning_empties_the_bottom_lines_without_money() -> None:
    # catchments free, no money: v3 (150 pupils, 14 min to B) or v2 (200, 20 min) can go to B's 540 places
    least, floor = _least(tiny_primary(capital_budget_yuan=0.0), _scenario(catchments=True))
    assert least is not None and least.proved and least.bound == pytest.approx(0.0, abs=1e-6)
    assert floor == pytest.approx(0.0, abs=1e-6)


def test_the_floor_is_the_higher_of_the_two_and_recorded() -> None:
    rounds: list[dict[str, object]] = []
    assert raised_floor(6.0, LeastLimits(150.0, 150.0, True, 0.1), rounds) == 150.0
    assert rounds[-1]["phase"] == "least_limits" and rounds[-1]["floor_before"] == 6.0 and rounds[-1]["bound"] == 150.0
    assert raised_floor(6.0, LeastLimits(5.0, None, False, 0.1), rounds) == 6.0  # a weaker bound changes nothing
    assert raised_floor(6.0, None, rounds) == 6.0 and len(rounds) == 2
    assert raised_floor(None, LeastLimits(150.0, None, False, 0.1), rounds) is None  # no floor: nothing to raise


def test_the_bound_child_sends_the_least_after_its_blocks() -> None:
    import time

    sc = _scenario(catchments=False)
    built = build_model(tiny_primary(capital_budget_yuan=4_000_000.0), sc)
    add_baseline_cuts(built)
    child = lagrange.start_region_bound(built.ctx, [["A", "S1"], ["B", "S2"]], None, 30.0)
    assert child is not None
    until = time.perf_counter() + 60.0
    latest = None
    while (latest is None or latest.least_limits is None) and time.perf_counter() < until:
        time.sleep(0.05)
        latest = lagrange.latest_region_bound(child)
    out = lagrange.collect_region_bound(child)
    assert out is latest and out is not None and out.complete  # sent after the blocks' complete bound
    assert out.least_limits is not None and out.least_limits.proved
    assert out.least_limits.bound == pytest.approx(150 * sc.weights.limits, rel=1e-6)


def test_the_early_child_reports_the_least_while_the_parent_goes_on() -> None:
    # the child beside the start heuristic: forked, read without waiting for more than it needs
    sc = _scenario(catchments=False)
    built = build_model(tiny_primary(capital_budget_yuan=4_000_000.0), sc)
    add_baseline_cuts(built)
    child = start_least_child(built.ctx, 30.0)
    assert child is not None
    least = collect_least(child, wait_s=60.0)
    assert least is not None and least.proved
    assert least.bound == pytest.approx(150 * sc.weights.limits, rel=1e-6)
    assert collect_least(child) is least  # read once, the child stopped; a second read changes nothing


def test_the_row_of_the_least_lifts_the_lp_and_cuts_off_no_plan() -> None:
    sc = _scenario(catchments=False)
    w = sc.weights.limits
    inp = tiny_primary(capital_budget_yuan=4_000_000.0)
    plain = build_model(inp, sc)
    add_baseline_cuts(plain)
    optimum = run(plain.prob, "highs", time_limit_s=30, gap_rel=1e-9)
    held = build_model(inp, sc)
    add_baseline_cuts(held)
    hold_least(held.ctx, LeastLimits(150 * w, 150 * w, True, 0.1))
    # the LP of the bottom lines now reads what only the MIP proved: 150 pupils, not 6 (less the row's millionth)
    assert unavoidable_floor(held, sc.solver, 30) == pytest.approx(150 * w, rel=2e-6)
    lp = run(held.prob, "highs", mip=False, time_limit_s=30)
    assert lp.objective >= 150 * w * (1 - 2e-6)
    # and the MIP's optimum is the same plan's: the row holds for every plan
    again = run(held.prob, "highs", time_limit_s=30, gap_rel=1e-9)
    assert optimum.status == again.status == "optimal"
    assert again.objective == pytest.approx(optimum.objective, rel=1e-6)
    assert optimum.objective >= 150 * w


def test_the_row_is_taken_out_as_it_went_in() -> None:
    sc = _scenario(catchments=False)
    built = build_model(tiny_primary(capital_budget_yuan=4_000_000.0), sc)
    rows, count = dict(built.prob.constraints), built.ctx.n_constraints
    hold_least(built.ctx, LeastLimits(150 * sc.weights.limits, None, False, 0.1))
    assert len(built.prob.constraints) == len(rows) + 1 and built.ctx.n_constraints == count + 1
    release_least(built.ctx)
    assert dict(built.prob.constraints) == rows and built.ctx.n_constraints == count
    release_least(built.ctx)  # a second release finds nothing to take out
    assert built.ctx.n_constraints == count


def test_the_solve_reports_the_least_as_its_floor() -> None:
    sc = _scenario(catchments=False)
    sol = optimise(tiny_primary(capital_budget_yuan=4_000_000.0), sc)
    early = [r for r in sol.rounds if r.get("phase") == "least_limits"]
    assert early and early[0]["where"] == "beside the start heuristic" and early[0]["proved"]
    assert sol.result.floor == pytest.approx(150 * sc.weights.limits, rel=1e-6)  # not the LP's 6 pupils
    assert sol.result.objective >= sol.result.floor
    assert "limits_least" not in sol.built.prob.constraints  # the row guided the heuristics only
    # switched off, the floor is the LP's
    off = _scenario(catchments=False, bottom_lines_first=False, region_bound=False)
    sol = optimise(tiny_primary(capital_budget_yuan=4_000_000.0), off)
    assert sol.result.floor == pytest.approx(6 * sc.weights.limits, rel=1e-6)
    assert not [r for r in sol.rounds if r.get("phase") == "least_limits"]


def _row_violation(arrays: dict, x: np.ndarray) -> float:
    """The largest amount by which plan ``x`` breaks a row or a column bound of ``arrays``, or an integer's
    integrality (computed here from the arrays, not by the solver)."""
    activity = arrays["a"] @ x
    rows = max(float(np.max(arrays["row_lo"] - activity, initial=0.0)), float(np.max(activity - arrays["row_up"],
                                                                                   initial=0.0)))  # fmt: skip
    cols = max(float(np.max(arrays["lower"] - x, initial=0.0)), float(np.max(x - arrays["upper"], initial=0.0)))
    ints = x[arrays["is_int"].astype(bool)]
    return max(rows, cols, float(np.max(np.abs(ints - np.round(ints)), initial=0.0)))


def test_the_early_child_hands_over_a_plan_at_the_least() -> None:
    # catchments free, no money: today's plan leaves 150 pupils over A's 450 places; re-zoning v3 (150 pupils,
    # 14 min) or v2 (200, 20 min) to B's 540 places leaves none, so the least is 0 and the child's plan is at it
    sc = _scenario(catchments=True)
    built = build_model(tiny_primary(capital_budget_yuan=0.0), sc)
    add_baseline_cuts(built)
    variables = built.prob.variables()
    arrays = model_arrays(built.prob, variables)
    child = start_least_child(built.ctx, 30.0)
    assert child is not None and all(a is b for a, b in zip(child.variables, variables, strict=True))
    least = collect_least(child, wait_s=60.0)
    assert least is not None and least.proved and least.bound == pytest.approx(0.0, abs=1e-6)
    plan = child.plan
    assert isinstance(plan, LeastPlan) and plan.value == pytest.approx(0.0, abs=1e-6)
    assert _row_violation(arrays, plan.x) <= 1e-6  # a plan of the whole model
    for v, x in zip(variables, plan.x, strict=True):
        v.varValue = float(x)
    assert built.ctx.objective["limits"].value() == pytest.approx(plan.value, abs=1e-6)  # PuLP's own reading
    pupils_a = built.ctx.pupils[("A", "primary")].value()
    assert pupils_a <= 450 + 1e-6  # v3 or v2 gone to B


def _today_as_start(built, sc: Scenario) -> StartResult:
    """Today's plan (nothing built, today's catchments), evaluated, on the variables, as a start heuristic's."""
    nothing = registered_plan(built, sc.solver, 30.0)
    assert nothing.has_solution
    return StartResult(None, 0, 0, nothing.objective, "test: today's plan", 0.0)


def test_the_bottom_lines_plan_replaces_a_start_over_them() -> None:
    sc = _scenario(catchments=True)
    w = sc.weights.limits
    built = build_model(tiny_primary(capital_budget_yuan=0.0), sc)
    ceilings, _ = add_baseline_cuts(built)
    child = start_least_child(built.ctx, 30.0)
    assert child is not None and collect_least(child, wait_s=60.0) is not None and child.plan is not None
    start = _today_as_start(built, sc)
    assert built.ctx.objective["limits"].value() == pytest.approx(150 * w, rel=1e-6)  # A's 150 over its places
    rounds: list[dict[str, object]] = []
    kept, _cuts = from_least_plan(built, sc, start, child, 0.0, ceilings, rounds)
    assert kept is not start and kept is not None and kept.objective is not None
    assert rounds[-1]["phase"] == "least_start" and rounds[-1]["kept"] == "least"
    assert rounds[-1]["least_true_score"] < rounds[-1]["plan_true_score"]
    # the variables hold the re-decided plan: nobody over a limit, A back within its places, and its objective
    # as PuLP reads it at those values
    assert built.ctx.objective["limits"].value() == pytest.approx(0.0, abs=1e-6)
    assert built.ctx.pupils[("A", "primary")].value() <= 450 + 1e-6
    assert built.prob.objective.value() == pytest.approx(kept.objective, rel=1e-6)
    assert kept.objective < start.objective - 100 * w


def test_the_child_goes_on_where_the_bottom_lines_are_most_of_the_start() -> None:
    sc = _scenario(catchments=True)
    w = sc.weights.limits
    built = build_model(tiny_primary(capital_budget_yuan=0.0), sc)
    add_baseline_cuts(built)
    start = _today_as_start(built, sc)  # 150 pupils over A's places: the bottom lines are all it pays above 0
    assert bottom_lines_dominate(built, start, LeastLimits(0.0, None, False, 0.1), 0.0)
    # a bound of 149.9 pupils: a tenth of a pupil left over it (0.02 M) against the plan's other terms (0.1 M)
    others = start.objective - 150 * w
    assert 0.1 * w < others < w  # so the bottom lines are a sixth of what it pays above the bound
    assert not bottom_lines_dominate(built, start, LeastLimits(149.9 * w, None, False, 0.1), 0.0)
    assert bottom_lines_dominate(built, None, None, 0.0)  # no plan of a solve's: always
    # after the sweeps the plan's own objective counts, not the start's: the same 150 pupils over A's places are
    # less than half of a plan that pays 400 pupils' worth above 0 in all, more than half of one at 200
    assert not bottom_lines_dominate(built, start, LeastLimits(0.0, None, False, 0.1), 0.0, objective=400 * w)
    assert bottom_lines_dominate(built, start, LeastLimits(0.0, None, False, 0.1), 0.0, objective=200 * w)


def test_a_start_at_the_least_is_kept_as_it_is() -> None:
    sc = _scenario(catchments=True)
    built = build_model(tiny_primary(capital_budget_yuan=0.0), sc)
    ceilings, _ = add_baseline_cuts(built)
    child = start_least_child(built.ctx, 30.0)
    assert child is not None and collect_least(child, wait_s=60.0) is not None and child.plan is not None
    best = run(built.prob, "highs", time_limit_s=30, gap_rel=1e-9)  # the optimum: at the least already
    assert best.status == "optimal"
    values = {v.name: v.varValue for v in built.prob.variables()}
    start = StartResult(None, 0, 0, best.objective, "test: the optimum", 0.0)
    rounds: list[dict[str, object]] = []
    kept, cuts = from_least_plan(built, sc, start, child, 0.0, ceilings, rounds)
    assert kept is start and cuts == 0 and not rounds
    assert {v.name: v.varValue for v in built.prob.variables()} == values


def test_the_shared_plan_hands_over_the_latest_whole_plan() -> None:
    import os

    shared = SharedPlan(3)
    assert shared.read() is None  # nothing written yet
    shared.write(LeastPlan(5.0, np.array([1.0, 0.0, 2.5])))
    shared.write(LeastPlan(1.0, np.array([1.0, 2.0])))  # not this model's columns: ignored
    got = shared.read()
    assert got is not None and got.value == 5.0 and got.x.tolist() == [1.0, 0.0, 2.5]
    pid = os.fork()  # what a forked child writes, the parent reads
    if pid == 0:  # pragma: no cover - the child
        shared.write(LeastPlan(4.0, np.array([0.0, 1.0, 3.0])))
        os._exit(0)
    os.waitpid(pid, 0)
    got = shared.read()
    assert got is not None and got.value == 4.0 and got.x.tolist() == [0.0, 1.0, 3.0]
