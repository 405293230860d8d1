"""The solve loop of the plan MILP: start, solve, tighten the CV with cutting planes.

Ties the solving modules together: :mod:`planner.model.start` (the starting plan and the
LP-guided start heuristic), :mod:`planner.model.regions` (region fix-and-optimise for large
models) and :mod:`planner.model.backend` (one run of CBC or HiGHS and what it proved).

The loop: build the model with tangent cuts at the baseline point — at the threshold for every
stage × indicator whose baseline CV exceeds it, and at the no-worse ceiling (the larger of the
threshold and the baseline CV) for every one; solve (start heuristic, regions or the full MIP),
then polish the plan (:mod:`planner.model.polish`); compute the true CV of the solution; where it
still exceeds its threshold or its ceiling (beyond 0.001), add the tangent cut at the new point and
re-solve, up to ``scenario.solver.cv_iterations`` rounds, whatever found the plan. The status
reported is the solver's real status of the last solve (:func:`planner.model.backend.classify`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pulp

from planner.model.backend import (
    SolverRun,
    changeable_gap,
    classify,
    on_changeable,
    proven_within,
    run,
    solver_label,
)
from planner.model.balance import (
    CV_MARGIN,
    DECIDED_INTEGERS,
    add_cv_cut,
    crosses,
    cv_point,
    hold_counts,
    settle_cv_terms,
    settle_failing,
)
from planner.model.bottom_lines import (
    LeastChild,
    LeastLimits,
    collect_least,
    hold_least,
    release_least,
    start_least_child,
)
from planner.model.build import OBJECTIVE_GROUPS, BuiltModel, build_model, set_objective
from planner.model.context import ModelContext
from planner.model.inputs import INDICATORS, SCHOOL_INDICATORS, TEACHER_INDICATORS, ModelInputs
from planner.model.lagrange import BoundChild, collect_region_bound, latest_region_bound, start_region_bound
from planner.model.polish import ctx_objective, polish, polish_resources
from planner.model.regions import REGION_UNITS, partition_units, region_fix_and_optimise, use_regions
from planner.model.start import (
    StartResult,
    least_guided_start,
    lp_guided_start,
    mip_start,
    register_start,
    registered_plan,
    restore_values,
)
from planner.scenario import Scenario, SolverSettings

log = logging.getLogger(__name__)

CV_TOLERANCE = 1e-3
#: share of the time limit kept for the CV rounds after the full MIP
CV_RESERVE_SHARE = 0.25
#: most of the time limit one resource polish may take
POLISH_SHARE = 0.15
#: most seconds the school rule's binaries may take to settle at a plan when no time is left for the polish
SETTLE_S = 5.0

#: the repair of a CV pushed over its threshold (:func:`repair_crossings`): at most this many cut-and-polish steps,
#: with at least this share of the time limit even when the limit has passed
REPAIR_STEPS = 4
REPAIR_SHARE = 0.1
#: how far past its limit a settle after the limit may run, as a share of the limit (the repair of a CV pushed over
#: has its own share, :data:`REPAIR_SHARE`, and its settles keep to it): a 2× county's 120 s solve took 148.7 s
#: when each settle had its own 5 s whatever the clock said
OVERRUN_SHARE = 0.1
#: most of the time limit the LP of the unavoidable penalties may take (:func:`unavoidable_floor`)
FLOOR_SHARE = 0.1
#: most of the time limit the region sweep before the full MIP may take (``solver.region_sweep``)
SWEEP_SHARE = 0.2
#: the same after a guided start (a plan of other budgets' catchments): there the sweeps are what re-decides them,
#: and at a 40 s limit a fifth, or 0.4, left the county seat too little to improve (确山, −10%: 155 parts passing,
#: against 158)
GUIDED_SWEEP_SHARE = 0.5
#: the same where the start's bottom lines are most of what it pays (:func:`bottom_lines_dominate`): the sweeps'
#: region sub-MIPs are what repairs them, the full MIP from such a start does not (确山 under strict distance: the
#: county seat's region takes 539 M to 160–200 M in 6.5–10 s, its share of a fifth was 8 s, and the full MIP from
#: 539 M reached 194 M in 44 s); the sweeps stop by their own rules long before it where they repair quickly
FAR_SWEEP_SHARE = 0.4
#: least share of the time limit for re-deciding the bottom lines' MIP's plan around its catchments
#: (:func:`from_least_plan`; on the 2× county a tenth, 12 s, stopped it at 4.8% from its bound and the solve ended at
#: 6.77e8; a fifth reached 0.07% and 6.52e8)
LEAST_START_SHARE = 0.2
#: the plan of the bottom lines' MIP beside the start heuristic is tried only where the start's excess on the bottom
#: lines is more than this share of what it pays above their least (:func:`bottom_lines_dominate`)
LEAST_KEEP_SHARE = 0.5
#: most sweeps before the full MIP (each over the same regions; they stop at the first that improves nothing)
SWEEPS_BEFORE_MIP = 3
#: a sweep before the full MIP that recovers less than this share of the start's distance to the LP bound is the last
SWEEP_MIN_GAIN = 0.01
#: the sweeps run when the start's plan lies further than this share of its room above the floor from the LP bound
#: (0.5 until the sweeps' plan was judged on its true CVs and the cuts settled: docs/performance.md)
SWEEP_WHEN_FAR = 0.4


@dataclass
class Solution:
    """A solved model with its solve history."""

    built: BuiltModel
    result: SolverRun
    rounds: list[dict[str, object]] = field(default_factory=list)
    cv: pd.DataFrame | None = None
    solve_s: float = 0.0
    start: StartResult | None = None

    def values(self) -> dict[str, float]:
        """Variable name -> value at the solution (a start for :func:`optimise` under a larger budget)."""
        return {v.name: float(v.varValue) for v in self.built.prob.variables() if v.varValue is not None}

    @property
    def objective_terms(self) -> dict[str, float]:
        """Value of each objective group at the solution."""
        return {g: self.built.ctx.objective[g].value() for g in OBJECTIVE_GROUPS}


def model_cv(state: pd.DataFrame, inp: ModelInputs) -> pd.DataFrame:
    """True enrolment-weighted CV per stage × indicator of the assessed parts of ``state``."""
    rows = []
    for stage in sorted(set(state["stage"])):
        part = state[(state["stage"] == stage) & state["included"] & (state["pupils"] > 0)]
        for k in INDICATORS:
            cv = cv_point(part[k].to_numpy(dtype=float), part["pupils"].to_numpy(dtype=float))
            rows.append({"stage": stage, "indicator": k, "cv": cv, "threshold": inp.cv_max[stage]})
    return pd.DataFrame(rows)


def baseline_state(inp: ModelInputs) -> pd.DataFrame:
    """Part state with no decision taken (current catchments, resources, teachers)."""
    rows = []
    units = inp.units
    for (unit, stage), row in inp.parts.iterrows():
        rec = {"unit_id": unit, "stage": stage, "included": bool(row["included"]), "pupils": float(row["pupils"])}
        for k in TEACHER_INDICATORS:
            rec[k] = float(row[k])
        for k in SCHOOL_INDICATORS:
            rec[f"school_{k}"] = float(units.loc[unit, k]) if not bool(units.loc[unit, "is_new"]) else 0.0
        rows.append(rec)
    return split_by_pupils(pd.DataFrame(rows))


def cv_ceilings(cv: pd.DataFrame) -> dict[tuple[str, str], float]:
    """The no-worse rule per (stage, indicator): the larger of the threshold (less the margin) and the CV before
    the plan."""
    return {
        (r.stage, r.indicator): max(float(r.threshold) - CV_MARGIN, float(r.cv)) for r in cv.itertuples(index=False)
    }


def _add_cuts(
    built: BuiltModel,
    state: pd.DataFrame,
    cv: pd.DataFrame,
    tag: str,
    ceilings: dict[tuple[str, str], float],
    *,
    every_ceiling: bool = False,
) -> int:
    """Tangent cuts at ``state``: the threshold where its CV is over it, the ceiling where over that.

    ``every_ceiling`` adds the ceiling's cut for every stage × indicator (at the baseline, where
    each holds): a first outer approximation, so that the solver sees the no-worse rule from the
    start instead of after a round.
    """
    n = 0
    for r in cv.itertuples(index=False):
        ceiling = ceilings[(r.stage, r.indicator)]
        soft = r.cv > r.threshold - CV_MARGIN + CV_TOLERANCE
        hard = every_ceiling or r.cv > ceiling + CV_TOLERANCE
        if not (soft or hard):
            continue
        # every assessed part, those with no pupils at the point too: a teacher indicator's cut counts the
        # pupils a plan may move to them (a new school); the school indicators' cut skips them
        part = state[(state["stage"] == r.stage) & state["included"]]
        args = (
            built.ctx,
            r.stage,
            r.indicator,
            list(zip(part["unit_id"], part["stage"], strict=True)),
            part[r.indicator].to_numpy(dtype=float),
            part["pupils"].to_numpy(dtype=float),
            part["share"].to_numpy(dtype=float),
        )
        if soft:
            n += int(add_cv_cut(*args, tag))
        if hard:
            n += int(add_cv_cut(*args, f"worse_{tag}", ceiling=ceiling))
    return n


def add_baseline_cuts(built: BuiltModel) -> tuple[dict[tuple[str, str], float], int]:
    """The CV cuts every solve starts with (at the baseline point: the threshold where its CV is over it, the
    no-worse ceiling for every stage × indicator); returns the ceilings and the number of cuts added."""
    inp = built.ctx.inp
    base = baseline_state(inp)
    base_cv = model_cv(base, inp)
    ceilings = cv_ceilings(base_cv)
    cuts = _add_cuts(built, base, base_cv, "base", ceilings, every_ceiling=True)
    if cuts:
        set_objective(built.ctx)
    return ceilings, cuts


def with_bound(result: SolverRun, bound: float) -> SolverRun:
    """``result`` with the better of its own bound and ``bound`` (another proven lower bound, e.g. the LP's).

    Cuts added after the LP only raise the model's optimum, so the LP relaxation's value stays a valid
    lower bound; status and gap are re-derived by the shared rule (:func:`planner.model.backend.classify`).
    """
    if result.bound is not None and result.bound >= bound:
        return result
    status, gap = classify(result.status == "optimal", result.has_solution, result.objective, bound, result.gap_rel)
    return replace(result, bound=bound, gap=gap, status=status)


def start_only(start: StartResult, gap_rel: float, solver: str) -> SolverRun:
    """The start heuristic's plan as the answer (``solver.full_mip: false``), judged against the LP bound."""
    status, gap = classify(False, True, start.objective, start.lp_bound, gap_rel)
    return SolverRun(status, start.objective, start.lp_bound, gap, start.seconds, f"{solver} (start only)", True,
                       gap_rel)  # fmt: skip


def assignment_groups(built: BuiltModel) -> list[list[pulp.LpVariable]]:
    """The catchment binaries grouped by (settlement, stage), in the order they were built (nearest first)."""
    groups: dict[tuple[str, str], list[pulp.LpVariable]] = {}
    for (sid, stage, _unit), v in built.ctx.vars["x"].items():
        groups.setdefault((sid, stage), []).append(v)
    return list(groups.values())


def _polished(
    built: BuiltModel,
    scenario: Scenario,
    result: SolverRun,
    deadline: float,
    proven: bool = False,
    stop: float | None = None,
) -> SolverRun:
    """``result`` after the resource polish (:mod:`planner.model.polish`), status re-derived against its bound.

    ``proven``: a bound already proves the plan within the tolerance on what the plan can change; then only the
    purchases neighbourhood runs (the knapsack, seconds), not the teachers one (确山, combined: 11.7 s for nothing
    after a plan proven within 0.18%, in each of the README run's three solves).

    The school rule is first judged at the plan by arithmetic (:func:`planner.model.balance.settle_failing`): a
    solve stopped at its limit can hand back its start, in which a part that passes still fails at the start's
    value or misses the wrong indicator (确山, a fifth of the budget cut, 3 s: 159 parts failing in the objective,
    152 by the assessment). Where the polish had no time, improved nothing or stopped at its limit, the plan's
    other free values are still settled by a solve with every decision fixed (at most :data:`SETTLE_S`, and not
    past ``stop`` — the solve's own end, :data:`OVERRUN_SHARE` past its limit — by more than a second of HiGHS's).
    """
    lv = scenario.levers
    if not result.has_solution:
        return result
    # the school rule judged at the plan first, by arithmetic (milliseconds, whatever the machine's load): the
    # objective's failing count is then the assessment's even when no sub-MIP below has time to run
    # (the plan's own objective after it, where that is below the run's: a solve can report the right objective
    # beside a presolved-away column left at its start value, so the values, not the difference, are what counts)
    settle_failing(built.ctx)
    settled = ctx_objective(built)
    if result.objective is not None and settled < result.objective - 1e-7 * max(1.0, abs(result.objective)):
        result = at_objective(result, settled)
    limit = min(deadline - time.perf_counter(), max(POLISH_SHARE * scenario.solver.time_limit_s, 5.0))
    sub = None
    if limit >= 1 and (lv.resources or lv.expansions or lv.rotation or lv.hires):
        sub = polish_resources(built, scenario.solver, limit) if proven else polish(built, scenario.solver, limit)
    if sub is None or sub.status != "optimal":  # every other integer fixed: an LP after presolve
        settle_s = SETTLE_S if stop is None else min(SETTLE_S, max(stop - time.perf_counter(), 1.0))
        sub = polish_resources(built, scenario.solver, settle_s, DECIDED_INTEGERS) or sub
    if sub is None or result.objective is None or sub.objective is None or sub.objective >= result.objective:
        return result
    return at_objective(result, sub.objective)


def optimise(
    inp: ModelInputs,
    scenario: Scenario,
    start_values: Mapping[str, float] | None = None,
    prepare: Callable[[BuiltModel], None] | None = None,
    guide_values: Mapping[str, float] | None = None,
) -> Solution:
    """Build, solve and tighten the CV; returns the last solution.

    Parameters
    ----------
    inp : ModelInputs
        The instance.
    scenario : Scenario
        Levers, weights and solver settings.
    start_values : mapping, optional
        Variable name -> value of a plan to start from (:meth:`Solution.values` of a plan of the
        same instance under a smaller budget, which is feasible here): it replaces the do-nothing
        plan as the registered start, so the start heuristic and the full MIP never do worse.
    prepare : callable, optional
        Called with the built model before the first CV cut and the solve: constraints, bounds and a
        start of a caller's own (the stages of :mod:`planner.model.cheapest`).
    guide_values : mapping, optional
        Variable name -> value of a plan of the same instance under larger budgets, not feasible here: the start
        heuristic keeps its catchments and re-decides the rest (:func:`planner.model.start.lp_guided_start`).
    """
    built = build_model(inp, scenario)
    if start_values is not None:
        register_start(built, start_values)
        log.info("budget chain: at most %d parts failing and %d school-indicators unmet (the smaller budget's)",
                 *hold_counts(built.ctx, start_values))  # fmt: skip
    if prepare is not None:
        prepare(built)
    ceilings, cuts = add_baseline_cuts(built)
    log.info("model built in %.2fs: %d variables, %d constraints, %d CV cuts",
             built.build_s, len(built.prob.variables()), built.ctx.n_constraints, cuts)  # fmt: skip
    t0 = time.perf_counter()
    deadline = t0 + scenario.solver.time_limit_s
    # no settle after the limit runs past this (the repair of a CV pushed over has its own share)
    stop = deadline + OVERRUN_SHARE * scenario.solver.time_limit_s
    rounds: list[dict[str, object]] = []
    # what no plan can change, so that every gap is measured on the rest (and HiGHS stops on that gap)
    floor = unavoidable_floor(built, scenario.solver, max(FLOOR_SHARE * scenario.solver.time_limit_s, 1.0))
    # the bottom lines alone as a MIP on the core the start heuristic leaves idle (planner/model/bottom_lines.py)
    least_child = None
    if (scenario.solver.bottom_lines_first and scenario.solver.name == "highs" and scenario.solver.start_heuristic
            and floor is not None):  # fmt: skip
        least_child = start_least_child(built.ctx, scenario.solver.time_limit_s * scenario.solver.start_share)
    start = None
    if scenario.solver.start_heuristic:
        start = lp_guided_start(
            built,
            scenario.solver,
            scenario.solver.time_limit_s * scenario.solver.start_share,
            assignments=assignment_groups(built),
            guide=guide_values,
            floor=floor,
        )
    least = None
    want_least = False
    if least_child is not None:
        least = collect_least(least_child)
        # its plan is wanted only where the start heuristic ran out of time with a plan whose excess on the bottom
        # lines is most of what it can change (the 2× county). On 确山 under strict distance the start's restricted
        # MIP is proven on its rounded catchments and the region sweeps guided by the row below repair them
        # (539 M → 159.6 M); the child's plan tried there scored 201–203 M on its true CVs and the solve ended at
        # 161–182 M (docs/performance.md)
        want_least = ran_short(start) and bottom_lines_dominate(built, start, least, floor)
    raised = raised_floor(floor, least, rounds, "beside the start heuristic")
    # a bound region by region, in a second process alongside whatever finds the plan (planner/model/lagrange.py)
    bound_child = region_bound_child(built, scenario.solver, start, deadline, raised,
                                     least_known=least is not None and least.proved)  # fmt: skip
    # what only the MIP proved, as a row every plan meets, guides the region sweeps (or the region heuristic)
    # below; it is taken out before the full MIP (docs/performance.md: with it, one run's full MIP ended on a
    # plan that broke a balance)
    held = least is not None and raised is not None and floor is not None and raised > floor
    if held:
        hold_least(built.ctx, least)
    floor = raised

    if want_least and least_child is not None:
        # the bottom lines' plan re-decided, where it beats the start, before the sweeps or the region heuristic
        start, added = from_least_plan(built, scenario, start, least_child, floor, ceilings, rounds)
        cuts += added

    def outside_bound() -> float | None:
        # the bound by regions so far: the full MIP stops as soon as it proves the MIP's plan within the tolerance
        latest = latest_region_bound(bound_child) if bound_child is not None else None
        return None if latest is None else latest.bound

    # the full MIP always gets at least a fifth of the time limit, so that it reports a proven bound even
    # when the start heuristic ran over its share (slow model hand-over on a loaded machine)
    remaining = max(deadline - time.perf_counter(), 0.2 * scenario.solver.time_limit_s)
    # start only: when the heuristic found its own plan (its values are on the variables); else the full MIP
    quick = (not scenario.solver.full_mip and start is not None and start.objective is not None
             and start.status != "registered start kept")  # fmt: skip
    # region fix-and-optimise in place of the full MIP for large models (solver.decompose; docs/performance.md)
    regions = None
    cut_at_start = False
    if not quick and use_regions(scenario.solver.decompose, len(built.prob.variables()), scenario.solver.name):
        regions = region_fix_and_optimise(built, scenario.solver, remaining, lp_bound=start.lp_bound if start else None,
                                          floor=floor)  # fmt: skip
        rounds.extend({"phase": "regions", "round": s["sweep"], "objective": s["objective"], "improved": s["improved"],
                       "seconds": s["seconds"], "regions": len(regions.regions)} for s in regions.sweeps)  # fmt: skip
        quick = True  # its plan is the answer: no full MIP (the CV rounds below still re-solve where a CV breaks)
    elif (not quick and scenario.solver.region_sweep and scenario.solver.name == "highs"
          and (rounding_hurt(start, floor) or (guided(start) and start_values is None))):  # fmt: skip
        # the start's CV cuts go in first, so the regions' sub-MIPs see the balance at least as the start left it
        cuts += _cuts_at_plan(built, "start", ceilings)
        cut_at_start = True
        earlier = {v.name: v.varValue for v in built.prob.variables()}
        share = SWEEP_SHARE
        if guided(start):
            share = GUIDED_SWEEP_SHARE
        elif bottom_lines_dominate(built, start, least, floor):
            share = FAR_SWEEP_SHARE
        sweep_rounds = region_sweep(built, scenario.solver, start, share * scenario.solver.time_limit_s, floor=floor,
                                    judge=true_judge(built, scenario, ceilings))  # fmt: skip
        rounds.extend(sweep_rounds)
        if any(r["improved"] for r in sweep_rounds):
            # judged on true CVs, then the swept plan's cuts only if it is kept: cuts at a point hold its pupils
            # and misjudge a plan that moved them (with them in, the start's plan read 0.5 M more on 确山)
            judged = judge_sweep(built, scenario, ceilings, earlier)
            rounds.append(judged)
            if judged["kept"] == "sweep":
                cuts += _cuts_at_plan(built, "sweep", ceilings)
        if (least_child is not None and not want_least
                and bottom_lines_dominate(built, start, least, floor, objective=ctx_objective(built))):  # fmt: skip
            # the sweeps left the bottom lines most of what the plan pays (确山 under strict distance on a fresh
            # machine: the county seat's region stopped at its share with nothing, 539 M kept, the solve 214.8 M):
            # the bottom lines' plan, read before the child stopped, re-decided is the full MIP's better start
            start, added = from_least_plan(built, scenario, start, least_child, floor, ceilings, rounds,
                                           after="sweeps")  # fmt: skip
            cuts += added
    if held:
        release_least(built.ctx)
    before_mip: Candidate | None = None
    if regions is not None:
        result = regions.result
    elif quick:
        result = start_only(start, scenario.solver.gap_rel, solver_label(scenario.solver.name))
    else:
        start_plan = {v.name: v.varValue for v in built.prob.variables()}
        if start is not None and start.objective is not None and not cut_at_start:
            # the start's plan is a point the full MIP will pass near: its CV cuts go in before the solve
            cuts += _cuts_at_plan(built, "start", ceilings)
        # the plan the full MIP starts from stays a candidate, judged on its true CVs like every plan after it,
        # where a solve made it (a start registered but not completed by one has its slacks at 0, not a plan's)
        if start is not None and start.objective is not None:
            before_mip = candidate(built, scenario, ceilings)
        # keep a share of the time for the CV rounds (a plan that breaks a CV is re-solved with cuts at its point)
        reserve = CV_RESERVE_SHARE * scenario.solver.time_limit_s if scenario.solver.cv_iterations else 0.0
        main = max(deadline - time.perf_counter() - reserve, 0.2 * scenario.solver.time_limit_s)
        # the reserve is the full MIP's too while its best plan needs no CV round (its cuts read its CVs as
        # they are): the search goes on into it, and stops at the first better plan that would need one
        result = solve(built, scenario.solver, time_limit_s=main, warm=True, floor=floor, outside_bound=outside_bound,
                       overtime_s=max(deadline - time.perf_counter() - main, 0.0),
                       keep_going=cuts_hold(built, scenario, ceilings))  # fmt: skip
        if not result.has_solution and start is not None and start.objective is not None:
            # stopped before it reported any plan (a loaded machine): the start's plan is still a plan
            log.warning("the full MIP reported no plan in %.0f s: keeping the start heuristic's", main)
            restore_values(built, start_plan)
            result = start_only(start, scenario.solver.gap_rel, solver_label(scenario.solver.name))
        elif not result.has_solution:
            # nor did the start heuristic (a loaded machine): the registered start is a plan, evaluated on its own
            restore_values(built, start_plan)
            limit = max(10.0, 0.25 * scenario.solver.time_limit_s)
            log.warning("no solve reported a plan in its time: evaluating the registered start (at most %.0f s)", limit)
            evaluated = registered_plan(built, scenario.solver, limit)
            # its "optimal" is the evaluation's, with every decision fixed: no bound on the county's plan (the
            # LP's or the regions', where one finished, are added below)
            result = at_objective(replace(evaluated, bound=None), evaluated.objective)
    proven = proven_by(result, [result.bound, outside_bound()], floor, scenario.solver.gap_rel)
    result = _polished(built, scenario, result, deadline, proven=proven, stop=stop)
    # cuts added by the CV rounds only raise the model's optimum, so every solve's proven bound stays a bound
    # on the last model (and on the plan's true score): the best of them is kept, not the last round's own
    bounds = [result.bound] if result.bound is not None else []
    # the CV rounds run whatever found the plan (start heuristic, regions or the full MIP): a plan whose
    # true CV breaks a threshold or the no-worse rule gets the tangent cuts at its point and a re-solve.
    # With catchments on, a cut holds pupils at its point, so it can misjudge plans that move pupils
    # elsewhere: each round's plan is scored on its true CVs, and the best one is kept
    cv = None
    best: tuple[float, dict[str, float | None], SolverRun, pd.DataFrame] | None = None
    if before_mip is not None and result.has_solution:
        # a plan found after it that breaks a balance the cuts did not see, and that no round or repair mends,
        # does not replace it (确山, strict distance, the row of the least left in: 179.2 M against 159.5 M)
        # (reported like every round's plan: at the model's objective there, which no proven bound exceeds, raised
        # to its true score where that is higher)
        best = (before_mip.score, before_mip.values, at_objective(result, before_mip.objective), before_mip.cv)
    for it in range(scenario.solver.cv_iterations + 1):
        if not result.has_solution:
            break
        state = part_state(built.ctx)
        cv = model_cv(state, inp)
        excess = cv["cv"] - cv["threshold"]
        worse = cv["cv"] - [ceilings[(r.stage, r.indicator)] for r in cv.itertuples(index=False)]
        score = true_score(built, scenario, cv, ceilings)
        shown = on_changeable(result, floor)  # each round's status and gap by the rule of the final one
        rounds.append({"round": it, "status": shown.status, "gap": shown.gap, "objective": result.objective,
                       "max_cv_excess": float(excess.max()), "max_cv_worse": float(worse.max()),
                       "true_score": score, "cuts": cuts})  # fmt: skip
        if best is None or score < best[0] - 1e-9 * max(1.0, abs(score)):
            best = (score, {v.name: v.varValue for v in built.prob.variables()}, result, cv)
        if it == scenario.solver.cv_iterations:
            break
        if proven_at_true_cvs(result, score, [*bounds, outside_bound()], floor, scenario.solver.gap_rel):
            log.info("CV rounds: the plan is proven within the tolerance at its true CVs; no further round")
            break
        added = _add_cuts(built, state, cv, f"r{it}", ceilings)
        remaining = deadline - time.perf_counter()
        if not added or remaining < 1:
            break
        cuts += added
        set_objective(built.ctx)
        # first the polish at the plan's own pupils, where the new cuts are exact (the plan, its cut slacks
        # set, is its start), then the full MIP with the time left
        here = replace(result, objective=ctx_objective(built))
        result = _polished(built, scenario, here, deadline, stop=stop)
        left = deadline - time.perf_counter()
        if left >= 1:
            again = solve(built, scenario.solver, time_limit_s=left, warm=True, floor=floor,
                          outside_bound=outside_bound)  # fmt: skip
            if again.bound is not None:
                bounds.append(again.bound)
            proven = proven_by(again, [again.bound, outside_bound()], floor, scenario.solver.gap_rel)
            result = _polished(built, scenario, again, deadline, proven=proven, stop=stop)
    if best is not None and crossings(built.ctx, best[3], ceilings):
        best = repair_crossings(built, scenario, ceilings, best, deadline, rounds)
        result, cv = best[2], best[3]  # the variables already hold it: no second restore below
    if best is not None and best[2] is not result:
        log.info("CV rounds: keeping an earlier plan (true score %.6g)", best[0])
        restore_values(built, best[1])
        settle_cv_terms(built.ctx)  # the cuts of later rounds, at this plan
        _score, _values, result, cv = best
    if best is not None:
        result = at_true_cvs(result, best[0])
    if start is not None and start.lp_bound is not None:
        bounds.append(start.lp_bound)
    if bound_child is not None:
        lagrangian = collect_region_bound(bound_child)
        if lagrangian is not None:
            bounds.append(lagrangian.bound)
            rounds.append({"phase": "region_bound", "bound": lagrangian.bound, "lp_bound": lagrangian.lp_bound,
                           "blocks": len(lagrangian.blocks), "blocks_solved": lagrangian.solved_blocks,
                           "blocks_proved": sum(b.proved for b in lagrangian.blocks),
                           "rows_dualized": lagrangian.dualized_rows,
                           "rows_kept_in_blocks": lagrangian.restricted_rows, "complete": lagrangian.complete,
                           "seconds": lagrangian.seconds})  # fmt: skip
            log.info("region bound %.9g (%d of %d blocks solved%s)", lagrangian.bound, lagrangian.solved_blocks,
                     len(lagrangian.blocks), "" if lagrangian.complete else ", stopped at the time limit")  # fmt: skip
            floor = raised_floor(floor, lagrangian.least_limits, rounds, "after the bound's blocks")
            if lagrangian.least_limits is not None:
                bounds.append(lagrangian.least_limits.bound)  # every other group is non-negative
    if least is not None:
        bounds.append(least.bound)  # every other group is non-negative
    if bounds and result.has_solution:
        result = with_bound(result, max(bounds))
    result = on_changeable(result, floor)
    return Solution(built=built, result=result, rounds=rounds, cv=cv, solve_s=time.perf_counter() - t0, start=start)


def crossings(ctx: ModelContext, cv: pd.DataFrame, ceilings: dict[tuple[str, str], float]) -> list[tuple[str, str]]:
    """The (stage, indicator) pairs a plan pushes over their threshold: within it before the plan, above it in
    ``cv`` (the plan's true CVs, :func:`model_cv`)."""
    return [
        (r.stage, r.indicator)
        for r in cv.itertuples(index=False)
        if float(r.cv) > float(r.threshold) and crosses(ctx, r.stage, ceilings[(r.stage, r.indicator)])
    ]


def repair_crossings(
    built: BuiltModel,
    scenario: Scenario,
    ceilings: dict[tuple[str, str], float],
    best: tuple[float, dict[str, float | None], SolverRun, pd.DataFrame],
    deadline: float,
    rounds: list[dict[str, Any]],
) -> tuple[float, dict[str, float | None], SolverRun, pd.DataFrame]:
    """Bring back under its threshold a CV the kept plan pushed over, by cuts at its point and the polish.

    The teacher-CV cuts under-estimate a CV between their tangents, so a solve can cross a threshold the model
    does not see. With the plan's catchments and buildings fixed (pupils fixed), each step adds the cuts at
    the current plan, where they are exact and the crossing now costs ``weights.cv_crossed``, and polishes
    (purchases, then teachers); up to :data:`REPAIR_STEPS` steps, stopping when no CV is pushed over or the
    polish finds nothing better. The steps get what is left of the time limit, and at least
    :data:`REPAIR_SHARE` of it: a plan that fails the county on a balance is worth a few seconds past the
    limit, its settles included (capped at the solve's own end instead, 西平's −10% re-solve started its repair
    after that end, had only a settle, and kept a junior backbone CV over its threshold). Returns the best plan by
    true score (``best`` when no step improved it); the variables hold it.
    """
    ctx, inp = built.ctx, built.ctx.inp
    restore_values(built, best[1])
    settle_cv_terms(ctx)
    end = max(deadline, time.perf_counter() + REPAIR_SHARE * scenario.solver.time_limit_s)
    result, cv = best[2], best[3]
    for step in range(REPAIR_STEPS):
        state = part_state(ctx)
        if not _add_cuts(built, state, cv, f"fix{step}", ceilings):
            break
        set_objective(ctx)
        settle_cv_terms(ctx)
        here = replace(result, objective=ctx_objective(built))
        result = _polished(built, scenario, here, end, stop=end)
        cv = model_cv(part_state(ctx), inp)
        score = true_score(built, scenario, cv, ceilings)
        over = crossings(ctx, cv, ceilings)
        rounds.append({"phase": "repair_crossing", "step": step, "objective": result.objective, "true_score": score,
                       "pushed_over": [f"{s}/{k}" for s, k in over]})  # fmt: skip
        log.info("repairing a CV pushed over its threshold, step %d: true score %.9g, still over: %s", step, score,
                 over or "none")  # fmt: skip
        if score < best[0] - 1e-9 * max(1.0, abs(score)):
            best = (score, {v.name: v.varValue for v in built.prob.variables()}, result, cv)
        if not over or result is here or time.perf_counter() >= end:
            break
    restore_values(built, best[1])
    settle_cv_terms(ctx)
    return best


def _cuts_at_plan(built: BuiltModel, tag: str, ceilings: dict[tuple[str, str], float]) -> int:
    """The CV cuts at the plan on the variables (:func:`_add_cuts`), the objective re-set and the cuts' own
    auxiliaries settled at the plan; returns the cuts added."""
    state = part_state(built.ctx)
    added = _add_cuts(built, state, model_cv(state, built.ctx.inp), tag, ceilings)
    if added:
        set_objective(built.ctx)
        settle_cv_terms(built.ctx)
    return added


def judge_sweep(
    built: BuiltModel, scenario: Scenario, ceilings: dict[tuple[str, str], float], earlier: Mapping[str, float | None]
) -> dict[str, object]:
    """Keep the region sweeps' plan only if its true score (:func:`true_score`) beats the plan they started from.

    A region's sub-MIP judges the balance by the CV cuts the model has, taken at other plans; with catchments
    on, moving pupils can raise a CV those cuts do not see. On 确山's close-small-schools scenario the sweeps
    took the start from 151.88 M to 151.47 M by the model's count, and the cuts at the swept plan then read
    171.5 M: a CV pushed 1 point over its ceiling. ``earlier``: the variables' values before the sweeps (their
    CV cuts settled). The variables end on the plan kept; returns the record for the solve's rounds.
    """
    swept = {v.name: v.varValue for v in built.prob.variables()}
    swept_score = plan_score(built, scenario, ceilings)
    back_to(built, earlier)  # the sweep's own cuts' auxiliaries settled at the earlier plan
    earlier_score = plan_score(built, scenario, ceilings)
    keep = swept_score < earlier_score - 1e-9 * max(1.0, abs(earlier_score))
    if keep:
        restore_values(built, swept)
    else:
        log.info("region sweep: its plan scores %.6g on its true CVs against the start's %.6g: keeping the start's",
                 swept_score, earlier_score)  # fmt: skip
    return {"phase": "region_sweep_judged", "kept": "sweep" if keep else "start",
            "sweep_true_score": swept_score, "start_true_score": earlier_score}  # fmt: skip


def rounding_hurt(start: StartResult | None, floor: float | None) -> bool:
    """Whether the start heuristic's plan lies far from the LP bound: more than :data:`SWEEP_WHEN_FAR` of what it
    pays above ``floor`` (the penalties no plan avoids; 0 when unknown) lies above the LP bound too.

    Then rounding the LP's catchments did the harm the region sweeps repair (确山 with a fifth of the budget cut:
    87%; the 2× county: 99%; contiguous catchments: 43%, where the sweeps take the gap from 28.5% to 4.8%);
    nearer (the combined plan: 24–34%) the full MIP's time is worth more than the sweeps'
    (with sweeps, the cheapest-passing scenario's first stage passed one part fewer and ended at a gap of 25%
    against 4%). The registered start (the do-nothing plan, or a budget chain's smaller plan) is judged the same
    way when the heuristic kept it; true when no plan was evaluated at all.
    """
    if start is None or start.lp_bound is None:
        return False
    if start.objective is None:
        return True
    room = start.objective - (floor if floor is not None else 0.0)
    return room > 0 and start.objective - start.lp_bound > SWEEP_WHEN_FAR * room


def guided(start: StartResult | None) -> bool:
    """Whether the start heuristic's plan kept a guide's catchments (:func:`planner.model.start.lp_guided_start`).

    With a guide of larger budgets (no registered start: the guide is not feasible here) the full MIP is preceded
    by the region sweeps: catchments chosen for other budgets are what they re-decide (确山, −10%: the guided start
    152.09 M, swept to 151.77 M in 17 s; the LP's rounding 152.49 M, swept to 151.98 M). A guide that is the chain's
    smaller plan is a good start as it is (确山, +10%: the sweeps took 15.5 s for 0.004 M; docs/performance.md).
    """
    return start is not None and start.objective is not None and start.guided > 0


def region_sweep(
    built: BuiltModel,
    settings: SolverSettings,
    start: StartResult | None,
    time_limit_s: float,
    region_units: int | None = None,
    floor: float | None = None,
    judge: Callable[[np.ndarray], float] | None = None,
) -> list[dict[str, object]]:
    """Sweeps of the region fix-and-optimise over the plan on the variables (the start's), before the full MIP.

    Rounding the LP's catchments can leave pupils over the bottom lines that whole projects within the budget
    cannot relieve (a budget cut by a fifth left 确山's start 14.6 M above the floor, and the full MIP did not
    move it in two minutes); a region's sub-MIP re-decides its schools, projects and catchments together and
    repairs that in seconds (to 3.8 M), while a start already good costs only the sweep's seconds. The
    variables keep the better plan. At most :data:`SWEEPS_BEFORE_MIP` sweeps, stopping at the first that improves
    nothing or at ``time_limit_s``. Returns the sweeps' rounds (``phase: region_sweep``) for the solve record;
    none when there is no LP bound to judge it by, the county is one region (the sweep would be the full MIP
    itself) or the plan cannot be evaluated. ``region_units``: units a region (default
    :data:`planner.model.regions.REGION_UNITS`); ``floor``: the penalties no plan avoids, on which each region's
    sub-MIP measures its gap (:func:`planner.model.regions.region_fix_and_optimise`); ``judge``: a plan's true score
    from its values (:func:`true_judge`), which a region's plan must not raise. A sweep that recovers less than
    :data:`SWEEP_MIN_GAIN` of the start's distance to the LP bound ends them: the full MIP's time is worth more
    (确山, strict distance: a second sweep of 8 s for nothing, and the plan 12.03% from its bound against 3.00%).
    """
    if start is None or start.lp_bound is None or time_limit_s < 1:
        return []
    regions = partition_units(built.ctx.inp, region_units or REGION_UNITS)
    if len(regions) < 2:
        return []
    try:
        objective = start.objective if start.objective is not None else ctx_objective(built)
        min_gain = SWEEP_MIN_GAIN * max(objective - start.lp_bound, 0.0)
        swept = region_fix_and_optimise(built, settings, time_limit_s, lp_bound=start.lp_bound, regions=regions,
                                        max_sweeps=SWEEPS_BEFORE_MIP, merge=False, floor=floor, judge=judge,
                                        min_gain=min_gain)  # fmt: skip
    except RuntimeError as err:  # the plan on the variables could not be evaluated with its integers fixed
        log.warning("region sweep skipped: %s", err)
        return []
    log.info("region sweep: %.6g -> %.6g in %.1f s", swept.start_objective, swept.result.objective, swept.seconds)
    return [{"phase": "region_sweep", "round": s["sweep"], "objective": s["objective"], "improved": s["improved"],
             "seconds": s["seconds"], "regions": len(swept.regions)} for s in swept.sweeps]  # fmt: skip


def region_bound_child(
    built: BuiltModel,
    settings: SolverSettings,
    start: StartResult | None,
    deadline: float,
    floor: float | None,
    least_known: bool = False,
) -> BoundChild | None:
    """Start the Lagrangian bound by regions (:mod:`planner.model.lagrange`) until ``deadline``, or None.

    After its blocks the child solves the bottom lines alone (the floor) unless ``least_known`` (proven already).

    Only with HiGHS (``solver.region_bound``), where the county has two regions or more (with one, the
    bound would be the full MIP again) and at least a few seconds are left. Its multipliers are the start
    heuristic's LP duals, else the child solves the LP itself. Each block's MIP may stop at a tenth of the
    solve's gap tolerance on what the plan can change (the start's objective above ``floor``), shared
    between the blocks.
    """
    left = deadline - time.perf_counter()
    if not settings.region_bound or settings.name != "highs" or left < 5:
        return None
    regions = partition_units(built.ctx.inp)
    if len(regions) < 2:
        return None
    duals = start.lp_duals if start is not None else None
    gap_abs = 0.0
    if start is not None and start.objective is not None and floor is not None and start.objective > floor:
        gap_abs = 0.1 * settings.gap_rel * (start.objective - floor) / (len(regions) + 1)
    return start_region_bound(built.ctx, regions, duals, left, gap_abs, with_least=not least_known)


def unavoidable_floor(built: BuiltModel, settings: SolverSettings, time_limit_s: float) -> float | None:
    """A proven lower bound on the ``limits`` group in every plan: the penalties no plan can avoid.

    The LP relaxation of the model with the ``limits`` group alone as its objective (pupils the county
    cannot keep within classroom capacity, the school-size limit or the travel cap even with fractional
    decisions). Every other group is non-negative, so it bounds the whole objective too; cuts added later
    only shrink the model, so it stays a bound. The variables keep their values. None when the LP does
    not solve to optimality within ``time_limit_s``.
    """
    ctx = built.ctx
    limits = ctx.objective["limits"]
    if limits.is_constant():
        return float(limits.const)
    prob = built.prob
    values = {v.name: v.varValue for v in prob.variables()}
    prob.setObjective(limits.expr())
    try:
        lp = run(prob, settings.name, mip=False, time_limit_s=time_limit_s, threads=settings.threads)
    finally:
        set_objective(ctx)
        restore_values(built, values)
    if lp.status != "optimal" or lp.objective is None:
        log.info("no floor under the objective: the LP of the bottom lines ended %s", lp.status)
        return None
    log.info("penalties no plan avoids: at least %.6g (LP of the bottom lines, %.1f s)", lp.objective, lp.seconds)
    return float(lp.objective)


def ran_short(start: StartResult | None) -> bool:
    """Whether the start heuristic ended without a plan of its own, or with one its restricted MIP did not prove
    within its tolerance (stopped at its share of the time: the 2× county's, 31% from its bound)."""
    return start is None or start.objective is None or start.status != "optimal"


def bottom_lines_dominate(
    built: BuiltModel,
    start: StartResult | None,
    least: LeastLimits | None,
    floor: float | None,
    objective: float | None = None,
) -> bool:
    """Whether the plan on the variables (the start heuristic's) pays more on the bottom lines, above the best bound
    of their least so far (``least``, else ``floor``), than :data:`LEAST_KEEP_SHARE` of all it pays above that
    bound; true when the start has no plan of its own (the 2× county: 2.9e8 of 3.2e8; 确山 under strict distance:
    318 M of 322 M; its contiguous redraw: 0.4 M of 3.3 M). ``objective``: the plan's objective where it is no
    longer the start's (after the region sweeps)."""
    if start is None or start.objective is None:
        return True
    bound = least.bound if least is not None else (floor if floor is not None else 0.0)
    excess = float(built.ctx.objective["limits"].value() or 0.0) - bound
    pays = start.objective if objective is None else objective
    return excess > LEAST_KEEP_SHARE * max(pays - bound, 0.0)


def pays_above_least(
    built: BuiltModel, settings: SolverSettings, start: StartResult | None, least: float, floor: float | None
) -> bool:
    """Whether the plan on the variables pays more on the bottom lines than ``least`` by more than the solve's
    tolerance on what it can change above ``floor``; true when there is no plan of a solve's yet (``start`` has
    none)."""
    if start is None or start.objective is None:
        return True
    held = float(built.ctx.objective["limits"].value() or 0.0)
    room = max(ctx_objective(built) - (floor if floor is not None else 0.0), 0.0)
    return held - least > settings.gap_rel * room


def from_least_plan(
    built: BuiltModel,
    scenario: Scenario,
    start: StartResult | None,
    child: LeastChild,
    floor: float | None,
    ceilings: dict[tuple[str, str], float],
    rounds: list[dict[str, object]],
    after: str = "start",
) -> tuple[StartResult | None, int]:
    """The plan on the variables, or the bottom lines' MIP's best plan re-decided around its catchments where the
    plan pays more on the bottom lines (:func:`pays_above_least`), whichever scores better on its true CVs.

    Called after the start heuristic where it ran short (:func:`ran_short`) and the bottom lines are most of what its
    plan pays (:func:`bottom_lines_dominate`), before the region sweeps or the region heuristic: there (the 2×
    county) the sweeps do not reach the least and this does. Not on 确山 under the strict distance rule, where the
    sweeps guided by the row of the least take the start's 539 M to the least's bottom lines: tried there, the
    MIP's plan (its catchments chosen for the bottom lines alone) scored 201 M on its true CVs and the solve ended
    at 161 M against 158.7 M (docs/performance.md). Tried there too, ``after="sweeps"``, where the sweeps left the
    bottom lines most of what the plan pays (their county seat's region stopped at its share with nothing).

    The re-decision (:func:`planner.model.start.least_guided_start`) gets :data:`LEAST_START_SHARE` of the limit.
    The CV cuts at the bottom lines' plan go in first: its catchments fix every part's pupils, where the cuts are
    exact. The cuts stay, like the start's (:func:`_cuts_at_plan`). The variables end on the plan kept; the
    judgement goes into ``rounds`` (``phase: least_start``). Returns the start kept and the cuts added.
    """
    settings = scenario.solver
    plan = child.plan
    if plan is None:
        return start, 0
    if not pays_above_least(built, settings, start, plan.value, floor):
        log.info("start: the plan so far pays %.6g on the bottom lines, their MIP's plan %.6g: kept",
                 built.ctx.objective["limits"].value(), plan.value)  # fmt: skip
        return start, 0
    t = time.perf_counter()
    variables = built.prob.variables()
    earlier = {v.name: v.varValue for v in variables}
    has_plan = start is not None and start.objective is not None
    here = plan_score(built, scenario, ceilings) if has_plan else None
    values = {v.name: float(x) for v, x in zip(child.variables, plan.x, strict=True)}
    restore_values(built, values)
    added = _cuts_at_plan(built, "least", ceilings)
    values = {v.name: v.varValue for v in built.prob.variables()}  # the cuts' auxiliaries settled at the plan
    limit = LEAST_START_SHARE * settings.time_limit_s
    found = least_guided_start(built, settings, start, values, assignment_groups(built), limit, floor)
    score = plan_score(built, scenario, ceilings) if found else None
    keep = score is not None and (here is None or score < here - 1e-9 * max(1.0, abs(here)))
    rounds.append({"phase": "least_start", "after": after, "kept": "least" if keep else "plan",
                   "least_plan_limits": plan.value,
                   "plan_true_score": here, "least_true_score": score, "seconds": time.perf_counter() - t})  # fmt: skip
    if keep:
        log.info("start: the bottom lines' plan re-decided scores %.6g on its true CVs, the plan so far %s", score,
                 "none" if here is None else f"{here:.6g}")  # fmt: skip
        return found, added
    log.info("start: keeping the plan so far (true score %s; the bottom lines' plan re-decided: %s)",
             "none" if here is None else f"{here:.6g}", "none" if score is None else f"{score:.6g}")  # fmt: skip
    back_to(built, earlier)
    return start, added


def raised_floor(
    floor: float | None, least: LeastLimits | None, rounds: list[dict[str, object]], where: str = ""
) -> float | None:
    """The floor of what the plan can change: the higher of ``floor`` (the LP's, or a least proven before) and the
    bottom lines' least proven by their own MIP (``least``, :func:`planner.model.bottom_lines.least_limits`),
    recorded in ``rounds`` with ``where`` it was solved.

    Both bound the penalties every plan pays; the higher leaves only what a plan can still change in the gap's
    denominator (确山 under the strict distance rule: 150.1 M by the LP, 155.7 M by the MIP).
    """
    if least is None:
        return floor
    rounds.append({"phase": "least_limits", "where": where, "bound": least.bound, "value": least.value,
                   "proved": least.proved, "floor_before": floor, "seconds": least.seconds})  # fmt: skip
    if floor is None or least.bound <= floor:
        return floor
    log.info("penalties no plan avoids: at least %.9g (the bottom lines' MIP %s; before, %.9g)", least.bound, where,
             floor)  # fmt: skip
    return least.bound


def proven_at_true_cvs(
    result: SolverRun, score: float, bounds: list[float | None], floor: float | None, gap_rel: float
) -> bool:
    """Whether the CV rounds can stop: the plan's true score is no worse than the model's objective at it, and the
    best of ``bounds`` proves that objective within ``gap_rel`` of what the plan can change (the reported rule).

    A round re-solves a plan whose true CVs cost more than its cuts said; a plan that is proven and whose cuts
    are exact at it (or err on the safe side) has nothing left for a round to find within the tolerance.
    """
    if result.objective is None or score > result.objective + 1e-9 * max(1.0, abs(score)):
        return False
    return proven_by(result, bounds, floor, gap_rel)


def proven_by(result: SolverRun, bounds: list[float | None], floor: float | None, gap_rel: float) -> bool:
    """Whether the best of ``bounds`` (None: not known) proves ``result``'s objective within ``gap_rel`` of what the
    plan can change (:func:`planner.model.backend.proven_within`, the reported rule)."""
    known = [b for b in bounds if b is not None]
    return result.objective is not None and bool(known) and proven_within(result.objective, max(known), gap_rel, floor)


@dataclass(frozen=True)
class Candidate:
    """A plan kept aside: its true score (:func:`true_score`), the model's objective at it (the cuts then in the
    model), the values of every variable, its CVs by formula."""

    score: float
    objective: float
    values: dict[str, float | None]
    cv: pd.DataFrame


def candidate(built: BuiltModel, scenario: Scenario, ceilings: dict[tuple[str, str], float]) -> Candidate:
    """The plan on the variables as a :class:`Candidate`, scored on its true CVs."""
    cv = model_cv(part_state(built.ctx), built.ctx.inp)
    values = {v.name: v.varValue for v in built.prob.variables()}
    return Candidate(true_score(built, scenario, cv, ceilings), ctx_objective(built), values, cv)


def at_true_cvs(result: SolverRun, score: float) -> SolverRun:
    """``result`` judged at its plan's true CVs (:func:`true_score`) where they cost more than its cuts said.

    The solver proves its objective against the cuts it was given; a plan whose true CV breaks a cut's point
    scores worse than the solver reported, and its gap is measured from that true score (西平 once read
    "optimal, gap 0.02%" with the true score 10% of what the plan can change above the bound).
    """
    if result.objective is None or score <= result.objective + 1e-9 * max(1.0, abs(score)):
        return result
    return at_objective(result, score)


def at_objective(result: SolverRun, objective: float | None) -> SolverRun:
    """``result`` for a plan scoring ``objective`` (its own after a polish or a settle, or its true score) against
    the same bound: status and gap re-derived by the shared rule, never the solver's own word for another plan."""
    status, gap = classify(False, result.has_solution, objective, result.bound, result.gap_rel)
    return replace(result, objective=objective, status=status, gap=gap)


def true_score(
    built: BuiltModel, scenario: Scenario, cv: pd.DataFrame, ceilings: dict[tuple[str, str], float]
) -> float:
    """The objective at the current values with the CV terms at the true CVs instead of the cuts' slacks.

    ``cv``: the plan's true CVs (:func:`model_cv`); ``ceilings``: the no-worse ceilings (:func:`cv_ceilings`). A CV
    within its threshold before the plan is charged ``weights.cv_crossed`` where its true CV is above the
    threshold (as an inspector reads it; the margin below it costs ``cv_worse`` only).
    """
    ctx, w = built.ctx, scenario.weights
    total = sum(ctx.objective[g].value() for g in OBJECTIVE_GROUPS)
    total -= 100 * w.cv * sum(v.varValue or 0.0 for v in ctx.vars.get("cv_excess", {}).values())
    total -= 100 * w.cv_worse * sum(v.varValue or 0.0 for v in ctx.vars.get("cv_worse", {}).values())
    total -= w.cv_crossed * sum(v.varValue or 0.0 for v in ctx.vars.get("cv_crossed", {}).values())
    for r in cv.itertuples(index=False):
        total += 100 * w.cv * max(float(r.cv) - float(r.threshold), 0.0)
        total += 100 * w.cv_worse * max(float(r.cv) - ceilings[(r.stage, r.indicator)], 0.0)
    total += w.cv_crossed * len(crossings(ctx, cv, ceilings))
    return float(total)


def plan_score(built: BuiltModel, scenario: Scenario, ceilings: dict[tuple[str, str], float]) -> float:
    """The true score (:func:`true_score`) of the plan on the variables, at its CVs by formula (:func:`model_cv`)."""
    return true_score(built, scenario, model_cv(part_state(built.ctx), built.ctx.inp), ceilings)


def back_to(built: BuiltModel, earlier: Mapping[str, float | None]) -> None:
    """Put the plan ``earlier`` (every variable's value, taken before CV cuts went in) back on the variables: the
    cuts' own auxiliaries added since start from 0 and are settled at that plan with the rest."""
    for v in built.prob.variables():
        if v.name not in earlier:
            v.varValue = 0.0
    restore_values(built, earlier)
    settle_cv_terms(built.ctx)


def true_judge(
    built: BuiltModel, scenario: Scenario, ceilings: dict[tuple[str, str], float]
) -> Callable[[np.ndarray], float]:
    """The true score (:func:`true_score`) of a plan given as its values in the order of ``built.prob.variables()``;
    the variables are left holding that plan (the caller puts back the one it keeps)."""
    variables = built.prob.variables()

    def judge(values: np.ndarray) -> float:
        for v, val in zip(variables, values, strict=True):
            v.varValue = float(val)
        return plan_score(built, scenario, ceilings)

    return judge


def cuts_hold(
    built: BuiltModel, scenario: Scenario, ceilings: dict[tuple[str, str], float]
) -> Callable[[float, np.ndarray], bool]:
    """The overtime test of the full MIP: whether a plan (its objective, its values in the order of
    ``built.prob.variables()``) needs no CV round.

    True where its true score (:func:`true_score`) is no higher than its objective: the CV cuts in the model
    charge its CVs at least as they are, so a round of cuts at its point would change nothing the search does
    not already see. Leaves the variables holding that plan, as :func:`true_judge` does.
    """
    judge = true_judge(built, scenario, ceilings)

    def holds(objective: float, values: np.ndarray) -> bool:
        return judge(values) <= objective + 1e-7 * max(1.0, abs(objective))

    return holds


def part_state(ctx: ModelContext) -> pd.DataFrame:
    """Pupils and indicator resources per part at the solution (model-side values)."""
    rows = []
    for (unit, stage), row in ctx.inp.parts.iterrows():
        rec = {"unit_id": unit, "stage": stage, "included": bool(row["included"])}
        rec["pupils"] = ctx.pupils[(unit, stage)].value()
        for k in TEACHER_INDICATORS:
            rec[k] = ctx.resource[(unit, stage, k)].value()
        for k in SCHOOL_INDICATORS:
            rec[f"school_{k}"] = ctx.resource[(unit, "", k)].value()
        rows.append(rec)
    return split_by_pupils(pd.DataFrame(rows))


def split_by_pupils(df: pd.DataFrame) -> pd.DataFrame:
    """Each part's share of its school's pupils and of the ``school_<indicator>`` totals.

    The model's form of :func:`planner.assess.split_school_resources` (same rule: a school
    total is split between its parts in proportion to their pupils).
    """
    school_pupils = df.groupby("unit_id")["pupils"].transform("sum")
    df["share"] = np.where(school_pupils > 0, df["pupils"] / school_pupils.where(school_pupils > 0, 1), 0.0)
    for k in SCHOOL_INDICATORS:
        df[k] = df[f"school_{k}"] * df["share"]
    return df


def solve(
    built: BuiltModel,
    settings: SolverSettings,
    time_limit_s: float | None = None,
    warm: bool = True,
    floor: float | None = None,
    outside_bound: Callable[[], float | None] | None = None,
    overtime_s: float = 0.0,
    keep_going: Callable[[float, np.ndarray], bool] | None = None,
) -> SolverRun:
    """Solve ``built.prob`` (a :class:`~planner.model.build.BuiltModel`) under ``settings``.

    With ``floor`` (:func:`unavoidable_floor`) the solver stops on the gap of what the plan can change: an
    absolute gap of ``gap_rel`` × (the start's objective − floor) instead of ``gap_rel`` of the whole
    objective, which a large constant would satisfy long before the plan is good. ``outside_bound``: a
    bound proved beside the search (the bound by regions so far, or None); the search stops as soon as it
    proves the best plan within the same rule (HiGHS in a child only), and the caller reports that bound.
    ``overtime_s``, ``keep_going``: the search may go on that long past its limit while its best plan passes
    ``keep_going(objective, values)`` (:func:`planner.model.backend.run`; HiGHS in a child only).
    """
    prob: pulp.LpProblem = built.prob
    if warm:
        mip_start(prob)
    gap_rel, gap_abs = changeable_gap(settings.gap_rel, ctx_objective(built), floor)

    def proven(objective: float) -> bool:
        bound = outside_bound() if outside_bound is not None else None
        # the rule of the reported status, at this plan (not the start's, a wider tolerance)
        return bound is not None and proven_within(objective, bound, settings.gap_rel, floor)

    result = run(
        prob,
        settings.name,
        time_limit_s=float(time_limit_s if time_limit_s is not None else settings.time_limit_s),
        gap_rel=gap_rel,
        gap_abs=gap_abs,
        threads=settings.threads,
        warm_start=warm,
        proven=proven if outside_bound is not None else None,
        overtime_s=overtime_s,
        keep_going=keep_going,
    )
    result = replace(result, gap_rel=settings.gap_rel)
    if result.has_solution:
        settle_failing(built.ctx)
    return result
