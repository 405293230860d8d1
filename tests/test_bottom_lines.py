"""The least of the bottom lines (planner/model/bottom_lines.py): a MIP of the ``limits`` group alone, whose proven
bound is the floor of what the plan can change where it lies above the LP's.

The tiny primary county (tests/model_instances.py): school A has 600 pupils in 10 classrooms of 45 (450 places);
expansion EA adds 4 classrooms to A for 5 M yuan. With catchments fixed and 4 M yuan, EA cannot be built, so
600 − 450 = 150 pupils stay over A's places in every plan; the LP builds 4/5 of EA (144 places) and reads 6.
"""

from __future__ import annotations

import pytest
from model_instances import tiny_primary

from planner.model import lagrange
from planner.model.backend import run
from planner.model.bottom_lines import (
    LeastLimits,
    collect_least,
    hold_least,
    least_limits,
    limits_cost,
    release_least,
    start_least_child,
)
from planner.model.build import build_model
from planner.model.optimise import add_baseline_cuts, optimise, raised_floor, unavoidable_floor
from planner.model.regions import model_arrays
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
