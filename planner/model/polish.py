"""Polish: with the catchments and buildings fixed, purchases (then teachers too) re-optimised exactly.

Once the catchments, the new schools and the teacher moves of a plan are fixed, every school's
pupils and teachers are known, and what remains — equipment (yuan), multimedia rooms, music and art
rooms and expansions, against the capital left — is a small knapsack over schools: which schools can
be passed with the money, and which room or purchase does it (DESIGN.md, "What the first plans
taught"). Solved exactly in seconds, it lifts every school a cheap purchase can pass, which a
time-limited full MIP may leave on the table (a school failing for want of one 39,000-yuan room
while the budget goes to shortfalls that pass nothing).

A second, larger neighbourhood frees the teacher moves as well (pupils are still fixed, so the
school rule and the CVs are nearly linear there).

Each sub-problem has the full model's constraints with tighter bounds (integer decisions outside the
resources lever fixed at the plan's values), so its plan is a plan of the full model; it starts from
the plan itself, so it is never worse, and the plan is kept when it finds nothing better.
"""

from __future__ import annotations

import logging
import time

import pulp

from planner.model.backend import SolverRun, run
from planner.model.balance import DECIDED_INTEGERS, settle_failing
from planner.model.build import OBJECTIVE_GROUPS, BuiltModel
from planner.scenario import SolverSettings

log = logging.getLogger(__name__)

#: the neighbourhoods, smallest first: integer variable groups each leaves free (all others fixed)
_PURCHASES: tuple[str, ...] = (
    "equipment_buy",
    "multimedia",
    "music_room",
    "art_room",
    "expand",
    *DECIDED_INTEGERS,
)
NEIGHBOURHOODS: dict[str, tuple[str, ...]] = {
    # the knapsack: purchases (equipment_buy: a school's equipment lot, bought or not) and expansions for the
    # plan's pupils and teachers
    "purchases": _PURCHASES,
    # and who teaches where: rotation, redeployment and recruits too (pupils are still fixed)
    "teachers": (*_PURCHASES, "out", "redeploy", "in", "hire"),
}


def polish_resources(
    built: BuiltModel, settings: SolverSettings, time_limit_s: float, free_groups: tuple[str, ...] | None = None
) -> SolverRun | None:
    """Re-optimise the plan's purchases with every other integer decision fixed at the plan's values.

    The model's variables must hold a plan (``varValue``); on return they hold the better of that
    plan and the polished one.

    Parameters
    ----------
    built : BuiltModel
        The model, its variables at a plan.
    settings : SolverSettings
        Solver name, threads and gap.
    time_limit_s : float
        Wall-clock limit of the sub-MIP.
    free_groups : tuple of str, optional
        Integer variable groups left free (default: the ``purchases`` neighbourhood).

    Returns
    -------
    SolverRun or None
        The sub-MIP's run when it found a plan at least as good as the given one, else None (the
        given plan is restored).
    """
    if time_limit_s < 1:
        return None
    ctx = built.ctx
    prob = built.prob
    variables = prob.variables()
    plan = {v.name: v.varValue for v in variables}
    groups = NEIGHBOURHOODS["purchases"] if free_groups is None else free_groups
    free = {v.name for g in groups for v in ctx.vars.get(g, {}).values()}
    fixed = [v for v in variables if v.cat == pulp.LpInteger and v.name not in free and plan[v.name] is not None]
    saved = [(v, v.lowBound, v.upBound) for v in fixed]
    before = ctx_objective(built)
    t0 = time.perf_counter()
    for v in fixed:
        v.lowBound = v.upBound = float(round(plan[v.name]))
    try:
        sub = run(prob, settings.name, time_limit_s=time_limit_s, gap_rel=1e-6, threads=settings.threads,
                  warm_start=True)  # fmt: skip
    finally:
        for v, lo, up in saved:
            v.lowBound, v.upBound = lo, up
    if not sub.has_solution or sub.objective is None or sub.objective > before + 1e-6 * max(1.0, abs(before)):
        for v in variables:
            v.varValue = plan[v.name]
        log.info("polish (%s): nothing better (%s) in %.1fs", ",".join(groups[:3]), sub.describe(),
                 time.perf_counter() - t0)  # fmt: skip
        return None
    settle_failing(ctx)
    log.info("polish (%d groups free): objective %.6g -> %.6g (%s) in %.1fs, %d integers fixed",
             len(groups), before, sub.objective, sub.describe(), time.perf_counter() - t0, len(fixed))  # fmt: skip
    return sub


def polish(built: BuiltModel, settings: SolverSettings, time_limit_s: float) -> SolverRun | None:
    """Each neighbourhood of :data:`NEIGHBOURHOODS` in turn, within ``time_limit_s`` together.

    Returns the last improving sub-MIP run (None when none improved); the variables hold the best plan.
    """
    t0 = time.perf_counter()
    best = None
    names = list(NEIGHBOURHOODS)
    for i, name in enumerate(names):
        left = time_limit_s - (time.perf_counter() - t0)
        sub = polish_resources(built, settings, left / (len(names) - i), NEIGHBOURHOODS[name])
        if sub is not None:
            best = sub
    return best


def ctx_objective(built: BuiltModel) -> float:
    """The model's objective at the variables' current values (a variable without a value counts 0)."""
    return sum(built.ctx.objective[g].value() for g in OBJECTIVE_GROUPS)
