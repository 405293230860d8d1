"""The starting plan of the plan MILP, and the LP-guided start heuristic.

Every run's status, objective, bound and gap come from :func:`planner.model.backend.run`, the
project's one status rule (PuLP calls a time-limited answer "Optimal"; here it is
``feasible, gap X%``). The plan always starts
from the do-nothing plan — today's catchments, nothing built, nobody moved — which is
feasible by construction (with ``catchment_rules.contiguity`` on, today's catchments repaired to
keep the rule, :func:`planner.model.contiguity.contiguous_assignment`), so even a time-limited
run returns a plan; with
``solver.start_heuristic`` :func:`lp_guided_start` first looks for a better start by
fix-and-optimise around the LP relaxation and keeps it only when it beats that plan.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pulp

from planner.model.backend import SolverRun, run
from planner.model.balance import DECIDED_INTEGERS, settle_failing
from planner.model.build import BuiltModel
from planner.model.catchments import share_fix
from planner.model.contiguity import contiguous_fix
from planner.model.lagrange import model_duals
from planner.scenario import SolverSettings

log = logging.getLogger(__name__)


def mip_start(prob: pulp.LpProblem) -> None:
    """Start from the do-nothing plan: registered starting values, else 0."""
    for v in prob.variables():
        if v.cat == pulp.LpInteger and v.varValue is None:
            v.setInitialValue(0)


def register_start(built: BuiltModel, values: Mapping[str, float]) -> int:
    """Make ``values`` (by variable name) the model's registered start; returns the variables set.

    Variables the plan does not name (e.g. CV slacks of cuts it did not have) keep their own start.
    """
    n = 0
    for v in built.prob.variables():
        val = values.get(v.name)
        if val is not None:
            val = float(round(val)) if v.cat == pulp.LpInteger else float(val)
            # solver values may sit a rounding error outside a bound, which PuLP refuses as a start
            lo, up = v.lowBound, v.upBound
            val = max(val, lo) if lo is not None else val
            val = min(val, up) if up is not None else val
            v.setInitialValue(val)
            n += 1
    return n


def restore_values(built: BuiltModel, values: Mapping[str, float | None]) -> None:
    """Put ``values`` (by name) back on the model's variables."""
    for v in built.prob.variables():
        if v.name in values:
            v.varValue = values[v.name]


@dataclass(frozen=True)
class StartResult:
    """What the LP-guided start heuristic did.

    Attributes
    ----------
    lp_bound : float or None
        Objective of the LP relaxation (a valid lower bound of the MIP), None when not solved.
    fixed : int
        Integer variables fixed at their (integral) LP values in the sub-MIP.
    free : int
        Integer variables left free in the sub-MIP.
    objective : float or None
        Objective of the sub-MIP's plan (the full MIP's start), None when none was found.
    status : str
        Status of the sub-MIP (see :class:`~planner.model.backend.SolverRun`), or why it was skipped.
    seconds : float
        Wall time of LP and sub-MIP together.
    lp_duals : numpy.ndarray or None
        The LP relaxation's row duals in the model's row order (HiGHS), the multipliers of the
        Lagrangian bound (:mod:`planner.model.lagrange`); None when the solver gave none.
    guided : int
        Catchment binaries of the plan fixed at a guide's values (0: none, or the plan is not the
        restricted MIP's that kept them).
    """

    lp_bound: float | None
    fixed: int
    free: int
    objective: float | None
    status: str
    seconds: float
    lp_duals: np.ndarray | None = None
    guided: int = 0


def lp_guided_start(
    built: BuiltModel,
    settings: SolverSettings,
    time_limit_s: float,
    assignments: list[list[pulp.LpVariable]] | None = None,
    guide: Mapping[str, float] | None = None,
    floor: float | None = None,
) -> StartResult:
    """Find a good starting plan by fix-and-optimise around the LP relaxation.

    Solves the LP relaxation, then a restricted MIP whose plan becomes the full MIP's start
    (values set on every variable):

    1. with ``assignments`` (the catchment binaries, one list per settlement and stage):
       each settlement goes to the school with its largest LP value, all catchments are
       fixed so, and every other decision (builds, expansions, rooms, teachers, the
       school-rule binaries) is optimised for those catchments; with the contiguity rule on,
       the rounded catchments are first repaired so that they keep it
       (:func:`planner.model.contiguity.contiguous_fix`); with a ``guide`` (a plan of the same county
       under larger budgets), its catchments are fixed instead of the LP's rounding, which is tried only
       where the guide's catchments give no plan or one no better than the registered start;
    2. without them, or when step 1 finds no plan: every integer variable whose LP value is
       integral (within 1e-6) is fixed at it and the rest is optimised.

    A restricted MIP has the full model's constraints and only tighter bounds, so its plan
    is feasible for the full model. Its partial MIP start is the fixed values plus the
    registered start's teacher swaps, so the rotation policy stays within reach. The plan is
    kept only when its objective beats the registered start's (do-nothing plus swaps,
    evaluated with every integer fixed); otherwise, or when no plan is found, the registered
    start is restored, so the full solve is never worse off.

    A restricted MIP stops at ``settings.gap_rel`` of the whole objective, not of what the plan can change (the
    full MIP's rule): a good start early is what it is for. Held to the full MIP's rule it ran to its share of the
    time, and the cheapest-passing scenario's first stage left 45 parts failing instead of 24 (2026-12-03).

    Parameters
    ----------
    built : BuiltModel
        The model; its variables' starting values (``setInitialValue``) are the fallback.
    settings : SolverSettings
        Solver name and gap tolerance.
    time_limit_s : float
        Wall-clock budget for the LP and the restricted MIPs together.
    assignments : list of list of LpVariable, optional
        Catchment binaries grouped by settlement and stage (exactly one is 1 per group),
        nearest school first (ties go to the first).
    guide : mapping, optional
        Variable name -> value of a plan of the same instance under larger budgets (the scenario's
        plan, for its re-solve with less money, :func:`planner.plan.variants.marginal_budget`): its
        catchments are the restricted MIP's, and its other decisions are left to it (the plan itself is
        over the smaller budgets). Catchments the guide does not name are rounded from the LP. The LP's
        rounding alone is tried only where the guide's catchments give no plan or one no better than the
        registered start. The LP is still solved, for the bound and the duals.
    floor : float, optional
        The penalties no plan avoids (:func:`planner.model.optimise.unavoidable_floor`): with it, the
        restricted MIP on the guide's catchments stops at ``settings.gap_rel`` of what the plan can
        change above the LP bound, not of the whole objective.
    """
    t0 = time.perf_counter()
    prob: pulp.LpProblem = built.prob
    variables = prob.variables()
    ints = [v for v in variables if v.cat == pulp.LpInteger]
    registered = {v.name: v.varValue for v in variables}

    def restore() -> None:
        restore_values(built, registered)

    lp = run(prob, settings.name, mip=False, time_limit_s=time_limit_s, threads=settings.threads)
    if lp.status != "optimal":
        restore()
        return StartResult(None, 0, len(ints), None, f"LP {lp.status}", time.perf_counter() - t0)
    lp_value = {v.name: v.varValue for v in variables}
    duals = model_duals(prob)

    def restricted(
        fix: dict[str, float], budget: float, start: dict[str, float] | None = None, gap_abs: float | None = None
    ) -> SolverRun | None:
        if budget <= 1:
            return None
        # partial MIP start: the fixed values (or ``start``) plus the registered start's non-zero moves (the
        # teacher swaps that meet the rotation policy, indicator-neutral); the solver completes the rest
        start = fix if start is None else start
        for v in variables:
            reg = registered[v.name]
            v.varValue = start.get(v.name, reg if v.cat == pulp.LpInteger and reg else None)
        return solve_fixed(built, [v for v in ints if v.name in fix], fix, settings, budget, gap_abs)

    # keep back about one LP's time (model hand-over included) for evaluating the registered start
    sub: SolverRun | None = None
    fix: dict[str, float] = {}
    guided: dict[str, float] = {}
    # never start worse than the registered start: its objective, every integer fixed at it (the school rule's
    # binaries free: the do-nothing start sets every part failing, which is feasible, not its value); evaluated
    # once, when first asked, its values kept for the start that keeps it
    judged = _judgements(built)

    @functools.cache
    def reference() -> tuple[SolverRun | None, dict[str, float | None]]:
        held = {v.name: v.varValue for v in variables}
        budget = max(time_limit_s - (time.perf_counter() - t0), 5.0)  # all integers fixed: an LP after presolve
        ref = restricted({v.name: float(registered[v.name] or 0.0) for v in ints if v.name not in judged}, budget)
        evaluated = {v.name: v.varValue for v in variables}
        restore_values(built, held)
        return ref, evaluated

    # the catchments the restricted MIP keeps: a guide's, and the LP's rounding only where the guide's give no plan
    # or one no better than the registered start (catchments drawn around a project the smaller budget cannot buy).
    # Both were tried and the better kept until 2026-12-04: the guide's won at −10% and +10% on both counties, and
    # the LP's rounding took the 13 s the region sweeps need after a guided start (docs/performance.md)
    groups = assignments or []
    tries = [_guided(groups, guide)] if groups and guide is not None else []
    tries += [{}] if groups else []
    best: tuple[SolverRun, dict[str, float | None], dict[str, float], dict[str, float]] | None = None
    for attempt in tries:
        if best is not None:
            ref, _ = reference()
            if ref is None or not ref.has_solution or ref.objective is None or best[0].objective < ref.objective:
                break
            log.info("start heuristic: the guide's catchments give %.6g, no better than the registered start %.6g: "
                     "trying the LP's rounding", best[0].objective, ref.objective)  # fmt: skip
        fix = _rounded(groups, lp_value) | attempt
        # every school keeps its share of today's pupils, and with contiguity on the rounded catchments must
        # keep the rule, or the restricted MIP is infeasible
        fix = share_fix(built.ctx, fix, lp_value)
        fix = contiguous_fix(built.ctx, fix, lp_value)
        # a settlement the LP splits between schools is left to the restricted MIP (started at its rounded
        # school): rounding it alone can push a school over its size or class limit that the LP kept
        rounded = dict(fix)
        split = [g for g in groups if max((lp_value[v.name] or 0.0) for v in g) < 1 - 1e-3
                 and g[0].name not in attempt]  # fmt: skip
        for group in split:
            for v in group:
                fix.pop(v.name, None)
        kept_guide = {k: v for k, v in attempt.items() if fix.get(k) == v}  # as the repairs left them
        from_guide = f", {len(kept_guide)} catchment binaries from the guide" if kept_guide else ""
        log.info("start heuristic: %d of %d settlement catchments split by the LP left free%s", len(split),
                 len(groups), from_guide)  # fmt: skip
        # the guide's catchments to the solve's own tolerance on what the plan can change: a chain's smaller plan,
        # registered as the start, is within 1% of the whole objective from the first node and was handed back
        # unchanged with the larger budget's money unspent (确山, +10%: 151.559 M; the full MIP then found 151.461 M
        # in one run of two)
        tol = None
        if kept_guide and floor is not None and lp.objective is not None:
            tol = settings.gap_rel * max(lp.objective - floor, 0.0)
        sub = restricted(fix, time_limit_s - (time.perf_counter() - t0) - lp.seconds, rounded, tol)
        if sub is not None and sub.has_solution and sub.objective is not None:
            if best is None or sub.objective < best[0].objective - 1e-9 * max(1.0, abs(sub.objective)):
                best = (sub, {v.name: v.varValue for v in variables}, fix, kept_guide)
            if kept_guide:
                log.info("start heuristic: the guide's catchments give %.6g", sub.objective)
    if best is not None:
        sub, values, fix, guided = best
        restore_values(built, values)
    if sub is None or not sub.has_solution:
        if assignments:
            log.info("start heuristic: rounded catchments gave no plan (%s); fixing the LP's integral values instead",
                     "no time left" if sub is None else sub.status)  # fmt: skip
        fix = {
            v.name: float(round(lp_value[v.name]))
            for v in ints
            if lp_value[v.name] is not None and abs(lp_value[v.name] - round(lp_value[v.name])) <= 1e-6
        }
        sub = restricted(fix, time_limit_s - (time.perf_counter() - t0) - lp.seconds)
    if sub is None or not sub.has_solution:
        restore()
        status = "skipped (no time left)" if sub is None else f"restricted MIP {sub.status}"
        log.warning("start heuristic found no plan (%s): starting from the registered start", status)
        return StartResult(lp.objective, len(fix), len(ints) - len(fix), None, status, time.perf_counter() - t0, duals)
    found = {v.name: v.varValue for v in variables}
    ref, ref_values = reference()
    if ref is not None and ref.has_solution and ref.objective is not None:
        if sub.objective is None or ref.objective <= sub.objective:
            log.info("start heuristic: plan %.6g no better than the registered start %.6g; keeping that",
                     sub.objective, ref.objective)  # fmt: skip
            # its evaluation goes on the variables: the registered decisions, each part's judgement settled
            # (the do-nothing start's own values count every part failing)
            restore_values(built, ref_values)
            _round_integers(ints)
            return StartResult(lp.objective, len(fix), len(ints) - len(fix), ref.objective,
                               "registered start kept", time.perf_counter() - t0, duals)  # fmt: skip
    for v in variables:
        v.varValue = found[v.name]
    _round_integers(ints)
    settle_failing(built.ctx)
    log.info("start heuristic: LP bound %.6g, %d of %d integers fixed, start plan %.6g (%s)",
             lp.objective, len(fix), len(ints), sub.objective, sub.describe())  # fmt: skip
    seconds = time.perf_counter() - t0
    # ``guided`` is the kept plan's (empty unless the plan came from the catchment tries)
    return StartResult(lp.objective, len(fix), len(ints) - len(fix), sub.objective, sub.status, seconds, duals,
                       len(guided))  # fmt: skip


def _round_integers(ints: list[pulp.LpVariable]) -> None:
    """Each integer variable's value rounded to its integer (a solver hands them back within its tolerance)."""
    for v in ints:
        if v.varValue is not None:
            v.varValue = float(round(v.varValue))


def _rounded(assignments: list[list[pulp.LpVariable]], lp_value: Mapping[str, float | None]) -> dict[str, float]:
    """Each settlement and stage to the school with its largest LP value (ties to the first, the nearest)."""
    fix: dict[str, float] = {}
    for group in assignments:
        best = max(range(len(group)), key=lambda j: ((lp_value[group[j].name] or 0.0), -j))
        for j, v in enumerate(group):
            fix[v.name] = 1.0 if j == best else 0.0
    return fix


def _guided(assignments: list[list[pulp.LpVariable]], guide: Mapping[str, float]) -> dict[str, float]:
    """The guide's catchments, by variable name: each settlement and stage the guide sends to exactly one school
    of its group (a site the guide opens too: 确山 at −10%, the guide's catchments with its new schools' gave a
    start of 152.09 M, without them 188.19 M; where the site is not affordable, the LP's rounding wins)."""
    fix: dict[str, float] = {}
    for group in assignments:
        ones = [v for v in group if guide.get(v.name, 0.0) > 0.5]
        if len(ones) == 1:
            fix.update({v.name: 1.0 if v is ones[0] else 0.0 for v in group})
    return fix


def solve_fixed(
    built: BuiltModel,
    fixed: list[pulp.LpVariable],
    values: Mapping[str, float],
    settings: SolverSettings,
    time_limit_s: float,
    gap_abs: float | None = None,
    gap_rel: float | None = None,
) -> SolverRun:
    """Solve ``built.prob`` with each variable of ``fixed`` held at ``values[name]``, from the values on the variables.

    It stops at ``gap_rel`` (default ``settings.gap_rel``) of the whole objective, or with ``gap_abs`` at that
    absolute gap instead. The bounds are given back after the solve; the solution's values stay on the variables,
    each part's ``fail`` settled at whether it has a rule shortfall (:func:`settle_failing`: HiGHS hands back a
    column it presolved away at its start value, and the do-nothing start sets every part failing).
    """
    saved = [(v, v.lowBound, v.upBound) for v in fixed]
    for v in fixed:
        v.lowBound = v.upBound = values[v.name]
    if gap_rel is None:
        gap_rel = settings.gap_rel if gap_abs is None else 1e-6
    try:
        result = run(built.prob, settings.name, time_limit_s=time_limit_s, gap_rel=gap_rel, gap_abs=gap_abs,
                     threads=settings.threads, warm_start=True)  # fmt: skip
    finally:
        for v, lo, up in saved:
            v.lowBound, v.upBound = lo, up
    if result.has_solution:
        settle_failing(built.ctx)
    return result


def registered_plan(built: BuiltModel, settings: SolverSettings, time_limit_s: float) -> SolverRun:
    """The registered start (the do-nothing plan, or a budget chain's smaller plan) as a plan of its own.

    Every integer but the auxiliary ones (``cv_crossed``) and the school rule's (``fail``, ``miss``, ``unmet``) is
    fixed at its registered value and the rest is solved: the last resort when a loaded machine let no solve
    report a plan within its time, since the registered start is feasible by construction. (The do-nothing start
    sets every ``fail`` to 1; fixed there, the plan's objective counted each part that passes as failing.) It is
    an evaluation, so it is solved to optimality, not to the scenario's tolerance: at 1% of the whole objective a
    part's ``miss`` could rest on an indicator that leaves it failing where it passes (确山, strict distance: the
    objective counted 125 parts failing, the assessment 120 and 4 out of scope).
    """
    aux = _judgements(built)
    ints = [v for v in built.prob.variables() if v.cat == pulp.LpInteger and v.name not in aux]
    return solve_fixed(built, ints, {v.name: float(round(v.varValue or 0.0)) for v in ints}, settings,
                       time_limit_s, gap_rel=1e-6)  # fmt: skip


def _judgements(built: BuiltModel) -> set[str]:
    """Names of the integers a plan's decisions decide (:data:`planner.model.balance.DECIDED_INTEGERS`)."""
    return {v.name for g in DECIDED_INTEGERS for v in built.ctx.vars.get(g, {}).values()}


def least_guided_start(
    built: BuiltModel,
    settings: SolverSettings,
    start: StartResult | None,
    plan: Mapping[str, float | None],
    assignments: list[list[pulp.LpVariable]],
    time_limit_s: float,
    floor: float | None = None,
) -> StartResult | None:
    """Re-decide a plan within the bottom lines around its catchments.

    ``plan`` is the best plan of the MIP of the ``limits`` group alone (:class:`planner.model.bottom_lines.
    LeastPlan`, by variable name): it keeps the bottom lines at their least, and leaves everything else where
    that search put it. With its catchments fixed (``assignments``, as in :func:`lp_guided_start`), every other
    decision (projects, rooms, equipment, teachers, the school rule) is optimised by a restricted MIP started from
    the plan itself, which is feasible. Where the start heuristic's rounding of the LP's catchments left pupils
    over the bottom lines that its projects cannot relieve, this is the better start (确山 under the strict
    distance rule, the 2× county; docs/performance.md); which one the solve keeps is the caller's judgement
    (:func:`planner.model.optimise.from_least_plan`).

    The restricted MIP stops like the start heuristic's, at ``settings.gap_rel`` of the whole objective (or of
    what the plan can change above the LP bound of ``start``, with ``floor``). Returns its plan (on the variables)
    as a :class:`StartResult` with ``start``'s LP bound and duals, or None when it found none (the variables then
    hold what they held before).
    """
    t0 = time.perf_counter()
    variables = built.prob.variables()
    before = {v.name: v.varValue for v in variables}
    fix = {v.name: float(round(plan.get(v.name) or 0.0)) for group in assignments for v in group}
    if not fix or time_limit_s < 1.0:
        return None
    lp_bound = start.lp_bound if start is not None else None
    tol = None
    if floor is not None and lp_bound is not None and lp_bound > floor:
        tol = settings.gap_rel * (lp_bound - floor)
    for v in variables:  # the plan is feasible: the restricted MIP starts from all of it
        value = plan.get(v.name)
        v.varValue = None if value is None else (float(round(value)) if v.cat == pulp.LpInteger else float(value))
    sub = solve_fixed(built, [v for v in variables if v.name in fix], fix, settings, time_limit_s, tol)
    seconds = time.perf_counter() - t0
    if not sub.has_solution or sub.objective is None:
        log.info("start heuristic: the bottom lines' plan, re-decided around its catchments, gave no plan (%s)",
                 sub.status)  # fmt: skip
        restore_values(built, before)
        return None
    _round_integers([v for v in variables if v.cat == pulp.LpInteger])
    settle_failing(built.ctx)
    log.info("start heuristic: the bottom lines' plan, re-decided around its catchments: %.6g in %.1f s (%s)",
             sub.objective, seconds, sub.describe())  # fmt: skip
    ints = sum(1 for v in variables if v.cat == pulp.LpInteger)
    duals = start.lp_duals if start is not None else None
    return StartResult(lp_bound, len(fix), ints - len(fix), sub.objective, f"bottom lines' catchments: {sub.status}",
                       (start.seconds if start is not None else 0.0) + seconds, duals)  # fmt: skip
