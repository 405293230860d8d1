"""The plan model's problem keeps its variable list as rows are added (model/context.py: PlanProblem).

Every solve, start, polish and judge asks the problem for its variables; PuLP collects them from every row on each
call. The kept list must be exactly what PuLP would collect: every variable of the objective and the rows, once,
sorted by name, also after CV cuts add rows with new variables and after the objective is replaced or grows.
"""

from __future__ import annotations

import numpy as np
import pulp
from model_instances import two_school_teachers

from planner.model.balance import add_cv_cut
from planner.model.build import build_model
from planner.model.context import PlanProblem
from planner.model.optimise import add_baseline_cuts
from planner.scenario import scenario_from_dict


def _collected(prob: pulp.LpProblem) -> list[str]:
    """The variables of the objective and every row, by name, found by walking them (not by the problem)."""
    names = {v.name for v in prob.objective} if prob.objective is not None else set()
    for row in prob.constraints.values():
        names.update(v.name for v in row)
    return sorted(names)


def test_the_kept_variable_list_is_what_every_row_and_the_objective_hold() -> None:
    sc = scenario_from_dict({"name": "t", "levers": {"catchments": True, "rotation": True, "hires": True}})
    built = build_model(two_school_teachers(), sc)
    prob = built.prob
    assert isinstance(prob, PlanProblem)
    assert [v.name for v in prob.variables()] == _collected(prob)
    n_before = len(prob.variables())

    # CV cuts add rows with new variables (slacks, the teacher and pupil copies)
    add_baseline_cuts(built)
    ctx = built.ctx
    assert add_cv_cut(ctx, "primary", "backbone", [("A", "primary"), ("B", "primary")], np.array([8.0, 2.0]),
                      np.array([400.0, 400.0]), np.ones(2), "kept", ceiling=0.3)  # fmt: skip
    names = [v.name for v in prob.variables()]
    assert len(names) > n_before
    assert names == _collected(prob)
    assert len(set(names)) == len(names)

    # the objective replaced by one with a variable no row holds, then grown in place by another
    lone = pulp.LpVariable("zz_lone", lowBound=0)
    prob.setObjective(prob.objective + 2.0 * lone)
    assert "zz_lone" in [v.name for v in prob.variables()]
    assert [v.name for v in prob.variables()] == _collected(prob)
    other = pulp.LpVariable("aa_other", lowBound=0)
    prob.objective += 3.0 * other
    names = [v.name for v in prob.variables()]
    assert names[0] == "aa_other"
    assert names == _collected(prob)

    # the problem still solves as PuLP's own does: the same objective from a plain LpProblem of the same rows
    plain = pulp.LpProblem("plain", pulp.LpMinimize)
    plain.setObjective(prob.objective)
    for name, row in prob.constraints.items():
        plain.addConstraint(row, name)
    assert [v.name for v in plain.variables()] == [v.name for v in prob.variables()]
    solver = pulp.HiGHS(msg=False)
    assert prob.solve(solver) == pulp.LpStatusOptimal
    kept = pulp.value(prob.objective)
    assert plain.solve(pulp.HiGHS(msg=False)) == pulp.LpStatusOptimal
    assert abs(pulp.value(plain.objective) - kept) <= 1e-6 * max(1.0, abs(kept))
