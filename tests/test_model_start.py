"""The LP-guided fix-and-optimise start (planner/model/start.py::lp_guided_start).

Checks on tiny instances, with the real solvers: the start plan satisfies every constraint,
bound and integrality of the full model; LP bound ≤ optimum ≤ start objective; the
optimum is the same with the start heuristic on and off; the start keeps the rotation
policy met.
"""

from __future__ import annotations

import pytest
from model_instances import tiny_primary, two_school_teachers, violations

from planner.model.build import build_model
from planner.model.optimise import assignment_groups, optimise, solve
from planner.model.start import lp_guided_start
from planner.model.teachers import rotation_start
from planner.scenario import Scenario, scenario_from_dict


def _scenario(solver: str, start: bool, **levers: bool) -> Scenario:
    on = {"catchments": True, "new_schools": True, "expansions": True, "resources": True, "rotation": False,
          "hires": False} | levers  # fmt: skip
    return scenario_from_dict(
        {
            "name": "start",
            "levers": on,
            "solver": {
                "name": solver,
                "gap_rel": 0.0,
                "time_limit_s": 60,
                "cv_iterations": 0,
                "start_heuristic": start,
            },
        }
    )


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("budget", [0.0, 30_000_000.0, 200_000_000.0])
def test_start_is_a_feasible_plan_between_lp_bound_and_start(solver: str, budget: float) -> None:
    inp = tiny_primary(capital_budget_yuan=budget)
    sc = _scenario(solver, start=True)
    built = build_model(inp, sc)
    st = lp_guided_start(built, sc.solver, 30.0, assignments=assignment_groups(built))
    assert st.lp_bound is not None and st.objective is not None
    assert violations(built.prob) == []
    # the start's objective, recomputed from the variables' values
    value = built.prob.objective.value()
    assert value == pytest.approx(st.objective, rel=1e-6, abs=1e-6)
    opt = optimise(inp, _scenario(solver, start=False))
    assert opt.result.status == "optimal"
    assert st.lp_bound <= opt.result.objective + 1e-6 * abs(opt.result.objective)
    assert opt.result.objective <= st.objective + 1e-6 * abs(st.objective)


@pytest.mark.parametrize("budget", [0.0, 30_000_000.0, 200_000_000.0])
def test_optimum_is_the_same_with_the_start_on_and_off(budget: float) -> None:
    inp = tiny_primary(capital_budget_yuan=budget)
    on = optimise(inp, _scenario("highs", start=True))
    off = optimise(inp, _scenario("highs", start=False))
    assert on.start is not None and off.start is None
    assert on.result.status == off.result.status == "optimal"
    assert on.result.objective == pytest.approx(off.result.objective, rel=1e-7, abs=1e-6)


def test_start_meets_the_rotation_policy_when_it_can() -> None:
    inp = two_school_teachers()
    sc = _scenario("highs", start=True, catchments=False, new_schools=False, expansions=False, resources=False,
                   rotation=True)  # fmt: skip
    built = build_model(inp, sc)
    assert rotation_start(built.ctx) > 0
    st = lp_guided_start(built, sc.solver, 30.0, assignments=assignment_groups(built))
    assert st.objective is not None
    assert violations(built.prob) == []
    shorts = {k: v.varValue for k, v in built.ctx.vars["rotation_short"].items()}
    assert shorts and all(s == pytest.approx(0.0, abs=1e-9) for s in shorts.values())


def _guide(budget: float, *forced: tuple[str, str, str]) -> dict[str, float]:
    """The optimal plan's values at ``budget`` with the catchment binaries ``forced`` to 1."""
    sc = _scenario("highs", start=True)
    built = build_model(tiny_primary(capital_budget_yuan=budget), sc)
    for key in forced:
        built.ctx.vars["x"][key].lowBound = 1
    assert solve(built, sc.solver, warm=False).status == "optimal"
    return {v.name: float(v.varValue) for v in built.prob.variables()}


def _guided_start(guide: dict[str, float] | None):
    sc = _scenario("highs", start=True)
    built = build_model(tiny_primary(capital_budget_yuan=0.0), sc)
    groups = assignment_groups(built)
    st = lp_guided_start(built, sc.solver, 30.0, assignments=groups, guide=guide)
    assert st.objective is not None and violations(built.prob) == []
    assert built.ctx.capital_yuan.value() <= 1e-6
    return st, {key: round(v.varValue) for key, v in built.ctx.vars["x"].items()}, sum(len(g) for g in groups)


def test_a_guide_gives_its_catchments_to_the_start_and_never_a_worse_one() -> None:
    # the optimum without money (v3 stays at B) as the guide: its catchments are kept, and it is the start
    sc = _scenario("highs", start=True)
    plain = optimise(tiny_primary(capital_budget_yuan=0.0), _scenario("highs", start=False))
    assert plain.result.status == "optimal"
    at_optimum = {key: round(v.varValue) for key, v in plain.built.ctx.vars["x"].items()}
    st, at, n = _guided_start(_guide(0.0))
    assert st.guided == n and at == at_optimum
    assert st.objective == pytest.approx(plain.result.objective, rel=1e-6, abs=1e-6)
    # a guide of 200 M yuan that expands A for v3: without money A is over its places with v3, so its
    # catchments give a plan, a worse one, and the LP's rounding gives the start
    unguided, at_lp, _n = _guided_start(None)
    rich = _guide(200_000_000.0, ("v3", "primary", "A"))
    assert rich[plain.built.ctx.vars["x"][("v3", "primary", "A")].name] == 1
    st, at, _n = _guided_start(rich)
    assert st.guided == 0 and at == at_lp and at[("v3", "primary", "A")] == 0
    assert st.objective == pytest.approx(unguided.objective, rel=1e-6, abs=1e-6)
    # the guide changes where the search starts, not the optimum
    guided = optimise(tiny_primary(capital_budget_yuan=0.0), sc, guide_values=rich)
    assert guided.result.status == "optimal"
    assert guided.result.objective == pytest.approx(plain.result.objective, rel=1e-6, abs=1e-6)
