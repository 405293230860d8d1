"""Solve the plan MILP with the scenario's solver settings.

The solver's real status, objective, bound and gap come from
:func:`planner.model.solve.run`, the project's one status rule (PuLP calls a
time-limited answer "Optimal"; here it is ``feasible, gap X%``). The plan always starts
from the do-nothing plan — today's catchments, nothing built, nobody moved — which is
feasible by construction, so even a time-limited run returns a plan.
"""

from __future__ import annotations

from typing import Any

import pulp

from planner.model.solve import SolverRun, run
from planner.scenario import SolverSettings

#: the result of a solve (kept under this name for the plan model)
SolveResult = SolverRun


def mip_start(prob: pulp.LpProblem) -> None:
    """Start from the do-nothing plan: registered starting values, else 0."""
    for v in prob.variables():
        if v.cat == pulp.LpInteger and v.varValue is None:
            v.setInitialValue(0)


def solve(built: Any, settings: SolverSettings, time_limit_s: float | None = None, warm: bool = True) -> SolverRun:
    """Solve ``built.prob`` (a :class:`~planner.model.build.BuiltModel`) under ``settings``."""
    prob: pulp.LpProblem = built.prob
    if warm:
        mip_start(prob)
    return run(
        prob,
        settings.name,
        time_limit_s=float(time_limit_s if time_limit_s is not None else settings.time_limit_s),
        gap_rel=settings.gap_rel,
        threads=settings.threads,
        warm_start=warm,
    )
