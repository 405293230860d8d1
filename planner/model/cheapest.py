"""The cheapest passing plan (``objective: min_cost_to_pass``): two lexicographic solves.

The question a finance bureau asks first is "what does passing cost?". A budget sweep answers it
only as well as its grid and its time-limited solves; this module answers it directly
(issue #17, item 3).

Stage 1 — what money can fix at all
    The model with both budgets lifted to :func:`lifted_budgets` (everything the model could buy,
    so no budget constraint binds), solved by :func:`planner.model.optimise.optimise` in the
    inspectors' order (bottom lines, schools failing, CVs over their threshold) with the
    shortfall-below-full-standard and guarantee-item weights at 0 (they do not decide a pass).
    The parts that still fail are what no money can fix within the scenario's rules (land, the
    travel cap, the hires cap and staffing norm, the rotation pool, the bottom lines); the CVs still
    over their threshold likewise.

Stage 2 — the cheapest plan that does as well
    The same model with ``fail[u,s] = 0`` for every part stage 1 passed; the bottom lines and policy
    rules (the ``limits`` group) leave the objective and are held item by item (:func:`hold_items`)
    at the larger of their values in today's plan and stage 1's (``cheapest.bottom_lines: today``)
    or at stage 1's (``best``), their weighted total as a constraint too; both budgets at stage 1's
    total cost (stage 1's plan is feasible, so the optimum is not cut off); the objective
    ``capital + recurrent`` in 万元 (10,000 yuan), the cost as the balance objective states it.
    The CV terms stay in the objective at a weight where 0.01 of CV outweighs stage 1's whole
    cost, so a CV stage 1 brought within its threshold stays there (they are cutting-plane
    slacks, so a soft term: a hard one would cut off plans once pupils move); a CV stage 1 left over
    is held by the no-worse rule, not pursued. Travel, re-zoning and teacher moves keep a thousandth
    of their weight, as tie-breakers worth a few thousand yuan. It starts from stage 1's plan;
    status and gap are the solver's own, measured on the cost (the CV slacks are 0 at a passing
    plan), so a time-limited answer reads "feasible, gap X%".

With ``cheapest.parts`` stage 1 is skipped: the named parts weigh more than all the money, the others
are free, the bottom lines are held at today's and no CV is pursued (:func:`named_parts_record`).

Time: stage 1 gets :data:`STAGE1_SHARE` of the scenario's ``solver.time_limit_s``, stage 2 the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd
import pulp

from planner.errors import ScenarioError
from planner.model.backend import run
from planner.model.build import BuiltModel, set_objective
from planner.model.context import Lin
from planner.model.inputs import INDICATORS, ModelInputs
from planner.model.optimise import CV_TOLERANCE, Solution, optimise
from planner.model.start import register_start, restore_values
from planner.scenario import Scenario, SolverSettings

log = logging.getLogger(__name__)

#: stage 1's status in a solve whose parts to pass are named (``cheapest.parts``)
SKIPPED = "skipped"
#: share of the scenario's time limit stage 1 may use (stage 2 gets the rest)
STAGE1_SHARE = 0.4
#: stage 2's weights on travel, re-zoning and teacher moves, relative to the balance objective's
DISRUPTION_SCALE = 1e-3
#: slack on the bottom lines held from stage 1 (objective units; 200,000 is one pupil)
BOTTOM_SLACK = 1e-3
#: stage 2's weight (万元 per 1.0 of CV) on a CV stage 1 left over its threshold: kept from growing by the
#: no-worse rule, not pursued (money stage 1 could not make pass it would otherwise buy fractions of a CV)
CV_HELD_WEIGHT = 1.0


@dataclass(frozen=True)
class CheapestRecord:
    """What the two stages found.

    Attributes
    ----------
    lifted_capital_yuan, lifted_recurrent_yuan : float
        Stage 1's budgets (:func:`lifted_budgets`).
    stage1_status, stage1_description : str
        Stage 1's solver status and its line for people (a time-limited stage 1 may leave a part
        failing that money could pass: then its description says "feasible, gap ...").
    stage1_capital_yuan, stage1_recurrent_yuan : float
        What stage 1's plan costs (the upper bound stage 2 starts from).
    failing_parts : tuple of (unit, stage)
        Assessed parts stage 1 could not pass: what no money can fix.
    cv_over : tuple of (stage, indicator)
        CVs stage 1 could not bring within their threshold.
    bottom_lines : float
        Stage 1's bottom-line and policy penalties (objective units; 200,000 a pupil at the default weight).
    bottom_lines_today, bottom_lines_held : float or None
        The registered start's (today's) bottom lines, and the level stage 2 held them at
        (``cheapest.bottom_lines``: ``today`` the larger of the two, ``best`` stage 1's).
    """

    lifted_capital_yuan: float
    lifted_recurrent_yuan: float
    stage1_status: str
    stage1_description: str
    stage1_capital_yuan: float
    stage1_recurrent_yuan: float
    failing_parts: tuple[tuple[str, str], ...]
    cv_over: tuple[tuple[str, str], ...]
    bottom_lines: float
    bottom_lines_today: float | None = None
    bottom_lines_held: float | None = None


def lifted_budgets(inp: ModelInputs, scenario: Scenario) -> tuple[float, float]:
    """Capital and recurrent budgets no plan of the model can exhaust: (capital yuan, recurrent yuan/yr).

    Capital: the dearest option at every candidate site with its land, every expansion option, and at
    every public unit the equipment the model may buy (twice the largest school's full standard), a
    multimedia set for every classroom it can have and six music and six art rooms. Recurrent: the
    scenario's hires cap at the annual salary, and a rotation allowance for every teacher.
    """
    cost = inp.unit_costs
    units = inp.units
    sites = units[units["is_new"].astype(bool)]
    opts = inp.site_options
    site_cost = float(opts["cost_yuan"].max()) if len(opts) else 0.0
    capital = float(len(sites)) * site_cost + float(sites["land_cost_yuan"].sum())
    exp = inp.expansions
    capital += float(exp["cost_yuan"].sum()) if len(exp) else 0.0
    eq_std = max(inp.std(s, "equipment") for s in inp.class_limit)
    eq_most = 2 * max(inp.size_limit.values()) * eq_std * cost["equipment_yuan_per_yuan"]
    most_classes = float(opts["classes"].max()) if len(opts) else 0.0
    for unit, row in units[units["public"].astype(bool)].iterrows():
        added = float(exp.loc[exp["unit_id"] == unit, "added_classrooms"].sum()) if len(exp) else 0.0
        rooms = float(row["classrooms"]) + added + (most_classes if bool(row["is_new"]) else 0.0)
        rooms_yuan = rooms * cost["multimedia_room_yuan"] + 6 * (cost["music_room_yuan"] + cost["art_room_yuan"])
        capital += eq_most + rooms_yuan
    hires = scenario.hires.max_total if scenario.levers.hires else 0
    tt = inp.teacher_types
    teachers = float(tt["count"].sum()) if len(tt) else float(inp.parts["teachers"].sum())
    recurrent = hires * cost["teacher_hire_yuan_per_year"] + teachers * cost["rotation_allowance_yuan_per_year"]
    return capital, recurrent


def _weights(scenario: Scenario, **update: float) -> Scenario:
    return scenario.model_copy(update={"weights": scenario.weights.model_copy(update=update)})


def _time(scenario: Scenario, seconds: float) -> Scenario:
    return scenario.model_copy(update={"solver": scenario.solver.model_copy(update={"time_limit_s": seconds})})


def _snapshot_bottom_lines(store: dict[str, Lin]) -> Callable[[BuiltModel], None]:
    """A hook that keeps a copy of the ``limits`` group as built (bottom lines and policy, before any CV cut)."""

    def hook(built: BuiltModel) -> None:
        copy = Lin()
        copy.add_lin(built.ctx.objective["limits"])
        store["bottom"] = copy

    return hook


def _spent(sol: Solution) -> tuple[float, float]:
    ctx = sol.built.ctx
    return ctx.capital_yuan.value(), ctx.recurrent_yuan.value()


def stage_one(inp: ModelInputs, scenario: Scenario) -> tuple[Solution, CheapestRecord]:
    """Stage 1: the plan with the budgets lifted, in the inspectors' order; what stays failing."""
    cap, rec = lifted_budgets(inp, scenario)
    lifted = replace(inp, capital_budget_yuan=cap, recurrent_budget_yuan=rec)
    sc = _time(_weights(scenario, full_standard=0.0, guarantee=0.0), STAGE1_SHARE * scenario.solver.time_limit_s)
    store: dict[str, Lin] = {}
    sol = optimise(lifted, sc, prepare=_snapshot_bottom_lines(store))
    if not sol.result.has_solution:
        raise RuntimeError(f"min_cost_to_pass: stage 1 found no plan ({sol.result.describe()})")
    ctx = sol.built.ctx
    failing = tuple(sorted(k for k, v in ctx.vars.get("fail", {}).items() if (v.varValue or 0.0) > 0.5))
    over: tuple[tuple[str, str], ...] = ()
    if sol.cv is not None:
        bad = sol.cv[sol.cv["cv"] > sol.cv["threshold"] + CV_TOLERANCE]
        over = tuple(sorted(zip(bad["stage"], bad["indicator"], strict=True)))
    capital, recurrent = _spent(sol)
    record = CheapestRecord(
        lifted_capital_yuan=cap, lifted_recurrent_yuan=rec, stage1_status=sol.result.status,
        stage1_description=sol.result.describe(), stage1_capital_yuan=capital, stage1_recurrent_yuan=recurrent,
        failing_parts=failing, cv_over=over, bottom_lines=store["bottom"].value(),
    )  # fmt: skip
    log.info("min_cost_to_pass stage 1 (%s): %d parts failing, %d CVs over, %.0f yuan + %.0f yuan/yr",
             record.stage1_description, len(failing), len(over), capital, recurrent)  # fmt: skip
    return sol, record


def stage_two_scenario(scenario: Scenario, stage1_cost_yuan: float, share: float = 1 - STAGE1_SHARE) -> Scenario:
    """Stage 2's weights (cost in 万元, CV terms above stage 1's whole cost, no shortfall terms) and time."""
    w = scenario.weights
    heavy = max(w.cv, stage1_cost_yuan / 1e4)
    sc = _weights(
        scenario, failing_school=0.0, guarantee=0.0, school_rule=0.0, full_standard=0.0, cost_per_10k_yuan=1.0,
        cv=heavy, cv_worse=max(w.cv_worse, heavy), travel_per_pupil_min=w.travel_per_pupil_min * DISRUPTION_SCALE,
        rezoned_pupil=w.rezoned_pupil * DISRUPTION_SCALE, moved_teacher=w.moved_teacher * DISRUPTION_SCALE,
    )  # fmt: skip
    return _time(sc, share * scenario.solver.time_limit_s)


def start_bottom_lines(
    built: BuiltModel, settings: SolverSettings, time_limit_s: float
) -> tuple[float, dict[str, float]] | None:
    """The bottom-line and policy penalties of the model's registered start (today's catchments, nothing bought).

    An LP: every integer variable fixed at its starting value, the ``limits`` group as the objective (the
    continuous overflows take their least values). Returns the total and the value of every variable of the
    group, by name; bounds, objective and values are restored. None when the LP does not solve to optimality
    within ``time_limit_s``.
    """
    ctx, prob = built.ctx, built.prob
    bottom = ctx.objective["limits"]
    if bottom.is_constant():
        return float(bottom.const), {}
    values = {v.name: v.varValue for v in prob.variables()}
    bounds = {}
    for v in prob.variables():
        if v.cat == pulp.LpInteger:
            bounds[v.name] = (v, v.lowBound, v.upBound)
            v.lowBound = v.upBound = round(v.varValue or 0.0)
    prob.setObjective(bottom.expr())
    try:
        lp = run(prob, settings.name, mip=False, time_limit_s=time_limit_s, threads=settings.threads)
        at = {v.name: float(v.varValue or 0.0) for v in bottom.terms}
    finally:
        for v, lo, up in bounds.values():
            v.lowBound, v.upBound = lo, up
        set_objective(ctx)
        restore_values(built, values)
    if lp.status != "optimal" or lp.objective is None:
        log.warning("min_cost_to_pass: the bottom lines of the start did not solve (%s)", lp.status)
        return None
    return float(lp.objective), at


def hold_items(bottom: Lin, *references: dict[str, float]) -> int:
    """Each bottom-line item no worse than in the worst of ``references`` (plans' values by variable name).

    Every variable with a positive coefficient in the ``limits`` group (an overflow, a pupil count beyond
    the cap, an assignment binary beyond it, a policy shortfall, a teaching point across the scope line)
    gets the largest of its values in the reference plans as its upper bound, so no item can be traded for
    another (a sum constraint let pupils be moved into teaching points across the assessment's line to pass
    schools cheaply). Every reference plan keeps every bound. Returns the bounds tightened.
    """
    n = 0
    for var, coef in bottom.terms.items():
        if coef <= 0:
            continue
        values = [r[var.name] for r in references if var.name in r]
        if not values:
            continue
        top = max(values)
        up = float(round(top)) if var.cat == pulp.LpInteger else top + 1e-6 * max(1.0, abs(top))
        if var.upBound is None or up < var.upBound:
            var.upBound = up
            n += 1
    return n


def _stage_two_hook(
    record: CheapestRecord, start: dict[str, float], scenario: Scenario, store: dict[str, float | None]
) -> Callable[[BuiltModel], None]:
    """Fix what stage 1 settled: passing parts pass, bottom lines held; start from stage 1's plan.

    ``store`` receives ``today`` (the start's bottom lines, when asked for) and ``held`` (the level held).
    """
    failing = set(record.failing_parts)

    def hook(built: BuiltModel) -> None:
        ctx = built.ctx
        held: float | None = record.bottom_lines if record.stage1_status != SKIPPED else None
        references = [start] if record.stage1_status != SKIPPED else []
        if scenario.cheapest.bottom_lines == "today" or held is None:
            found = start_bottom_lines(built, scenario.solver, max(0.05 * scenario.solver.time_limit_s, 5.0))
            today = found[0] if found is not None else None
            # stage 1 started from today's plan, so its bottom lines are no worse (max: rounding, a time-limited run)
            if found is not None:
                held = today if held is None else max(held, found[0])
                references.append(found[1])
            store["today"] = today
        store["held"] = held
        bottom = ctx.objective["limits"]
        tightened = hold_items(bottom, *references)
        log.info("min_cost_to_pass: bottom lines held at %s in total (today %s, stage 1 %.6g), %d items bounded",
                 held, store.get("today"), record.bottom_lines, tightened)  # fmt: skip
        register_start(built, start)
        for key in record.cv_over:  # the threshold's slack, made before any cut, so every cut reuses it
            if key not in ctx.vars.get("cv_excess", {}):
                ctx.objective["cv"].add(ctx.var("cv_excess", key), CV_HELD_WEIGHT)
        # parts named by cheapest.parts: passing one outweighs every yuan the model could spend (a part the
        # scenario's rules do not let pass stays failing, and is listed); parts stage 1 passed: they pass
        named_weight = (record.lifted_capital_yuan + record.lifted_recurrent_yuan) / 1e4
        for key, fail in ctx.vars.get("fail", {}).items():
            if key in failing:
                continue
            if record.stage1_status == SKIPPED:
                ctx.objective["failing"].add(fail, named_weight)
            else:
                fail.upBound = 0
                fail.setInitialValue(0.0)
        if not bottom.is_constant() and held is not None:
            ctx.constrain(bottom, "<=", held + BOTTOM_SLACK * max(1.0, held), "cheapest_bottom_lines")
        ctx.objective["limits"] = Lin()  # CV no-worse slacks added later still go here, at their weight
        set_objective(ctx)

    return hook


def min_cost_to_pass(inp: ModelInputs, scenario: Scenario) -> tuple[Solution, CheapestRecord]:
    """The cheapest plan passing every part that can pass and keeping every CV stage 1 kept within its threshold.

    Parameters
    ----------
    inp : ModelInputs
        The instance (its budgets are ignored: both are lifted, see the module docstring).
    scenario : Scenario
        Levers, rules and solver settings; ``solver.time_limit_s`` is shared by the two stages.

    Returns
    -------
    solution : Solution
        Stage 2's solution (its ``result`` status and gap are measured on the cost); its model's
        budgets are stage 1's total cost.
    record : CheapestRecord
        What stage 1 found: the parts no money can fix, the CVs over, the lifted budgets.
    """
    if scenario.cheapest.parts:  # the parts to pass are given: no stage 1
        record = named_parts_record(inp, scenario)
        total = record.lifted_capital_yuan + record.lifted_recurrent_yuan
        inp2 = replace(inp, capital_budget_yuan=record.lifted_capital_yuan,
                       recurrent_budget_yuan=record.lifted_recurrent_yuan)  # fmt: skip
        start: dict[str, float] = {}
        sc2 = stage_two_scenario(scenario, total, share=1.0)
    else:
        sol1, record = stage_one(inp, scenario)
        total = record.stage1_capital_yuan + record.stage1_recurrent_yuan
        # the plan costs at most stage 1's total in capital and in recurrent money; a yuan of rounding room
        inp2 = replace(inp, capital_budget_yuan=total + 1.0, recurrent_budget_yuan=total + 1.0)
        start = sol1.values()
        sc2 = stage_two_scenario(scenario, total)
    store: dict[str, float | None] = {}
    sol2 = optimise(inp2, sc2, prepare=_stage_two_hook(record, start, sc2, store))
    record = replace(record, bottom_lines_today=store.get("today"), bottom_lines_held=store.get("held"))
    if not sol2.result.has_solution:
        raise RuntimeError(f"min_cost_to_pass: stage 2 found no plan ({sol2.result.describe()})")
    capital, recurrent = _spent(sol2)
    log.info("min_cost_to_pass stage 2 (%s): %.0f yuan capital + %.0f yuan/yr recurrent (stage 1: %.0f)",
             sol2.result.describe(), capital, recurrent, total)  # fmt: skip
    return sol2, record


def named_parts(inp: ModelInputs, scenario: Scenario) -> tuple[tuple[str, str], ...]:
    """The assessed parts ``cheapest.parts`` names (``id``: every assessed part of the school; ``id:stage``: one).

    Raises
    ------
    ScenarioError
        When a name is not an assessed part of the instance.
    """
    assessed = [key for key, row in inp.parts.iterrows() if bool(row["included"])]
    out: list[tuple[str, str]] = []
    for name in scenario.cheapest.parts:
        sid, _, stage = name.partition(":")
        hit = [k for k in assessed if k[0] == sid and (not stage or k[1] == stage)]
        if not hit:
            raise ScenarioError(
                f"scenario {scenario.name}, key cheapest.parts: {name!r} is not an assessed school part "
                "(special-education schools and small teaching points are not assessed)"
            )
        out += [k for k in hit if k not in out]
    return tuple(sorted(out))


def named_parts_record(inp: ModelInputs, scenario: Scenario) -> CheapestRecord:
    """The record of a solve whose parts to pass are named (``cheapest.parts``): stage 1 skipped, no CV pursued.

    ``failing_parts`` holds the parts not named (free to fail); the named ones are passed first, then cheapest.
    """
    must = set(named_parts(inp, scenario))
    cap, rec = lifted_budgets(inp, scenario)
    others = tuple(sorted(k for k, row in inp.parts.iterrows() if bool(row["included"]) and k not in must))
    stages = sorted({s for _u, s in inp.parts.index})
    return CheapestRecord(
        lifted_capital_yuan=cap, lifted_recurrent_yuan=rec, stage1_status=SKIPPED,
        stage1_description="not run: cheapest.parts names the parts to pass", stage1_capital_yuan=0.0,
        stage1_recurrent_yuan=0.0, failing_parts=others, cv_over=tuple((s, k) for s in stages for k in INDICATORS),
        bottom_lines=0.0,
    )  # fmt: skip


def failing_parts_table(record: CheapestRecord) -> pd.DataFrame:
    """Stage 1's parts no money can fix, as (unit_id, stage) rows."""
    return pd.DataFrame(list(record.failing_parts), columns=["unit_id", "stage"])


__all__ = [
    "STAGE1_SHARE",
    "CheapestRecord",
    "failing_parts_table",
    "lifted_budgets",
    "min_cost_to_pass",
    "stage_one",
    "stage_two_scenario",
]
