"""From a county and a scenario to a Plan (:func:`plan_county`).

Prepares the model instance (:mod:`planner.plan.instance`), optimises it
(:func:`planner.model.optimise.optimise`), reads the solution back
(:mod:`planner.plan.readback`), applies the plan to the county and assesses the after-state
with the same engine that assessed the baseline.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from planner.assess import Assessment, assess_parts, school_parts
from planner.binding import free_places, what_binds
from planner.county import County
from planner.model.backend import relative_gap
from planner.model.cheapest import min_cost_to_pass, named_parts
from planner.model.optimise import optimise
from planner.plan.cheapest import (
    area_binds,
    cheapest_notes,
    cvs_made_worse,
    no_money_fix,
    stages_table,
    stuck_pupils,
)
from planner.plan.horizon import county_in_year, horizon_tables
from planner.plan.instance import limits_of, model_inputs, model_parts
from planner.plan.plan import Plan, SolverRecord, apply_plan
from planner.plan.readback import (
    add_catchment_outputs,
    assignments,
    closed_units,
    drop_closed,
    exchange_list,
    hires,
    itinerant_list,
    new_schools,
    pair_flows,
    projects,
    rotation_policy,
    rotation_table,
)
from planner.plan.rezoning import rezoning_summary
from planner.plan.scope import scope_changes, scope_notes
from planner.projection import project_enrolment, pupils_by_year
from planner.scenario import Scenario
from planner.standards import Standards, load_standards

log = logging.getLogger(__name__)


def plan_county(
    county: County,
    scenario: Scenario,
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    standards: Standards | None = None,
    distance_method: str = "network",
    before: Assessment | None = None,
    start: Plan | None = None,
    guide: Plan | None = None,
) -> Plan:
    """Optimise a plan for ``county`` under ``scenario``.

    Parameters
    ----------
    travel : DataFrame
        settlement_id, stage, unit_id (school or candidate site), time_min, distance_m.
    school_times : DataFrame
        from_unit, to_unit, time_min between schools and sites (teacher rotation).
    distance_method : str
        ``network`` or ``straight_line``; carried into every output.
    before : Assessment, optional
        The county assessed before the plan (computed when not given).
    start : Plan, optional
        A plan of the same county and scenario under smaller budgets, feasible here: the solve
        starts from it (:func:`planner.model.optimise.optimise` ``start_values``).
    guide : Plan, optional
        A plan of the same county and scenario under larger budgets (not feasible here): the start
        heuristic keeps its catchments and re-decides the rest (``guide_values``).
    """
    std = standards or load_standards()
    base_parts = school_parts(county, std)
    if before is None:
        before = assess_parts(base_parts, std, county_name_zh=county.name_zh, synthetic=county.synthetic)
    h = scenario.horizon
    base_county = county
    parts_in = model_parts(base_parts)
    by_year = projection = None
    if h is not None:
        # horizon plan: the model plans for the target year's pupils, capacity holds every year
        projection = project_enrolment(county.settlements, h.projection, h.base_year, h.last_year)
        by_year = pupils_by_year(projection, h.years)
        county = county_in_year(county, projection, h.target_year)
        target = county.schools[["pupils_primary", "pupils_junior"]]
        parts_in = parts_in.assign(pupils=[float(target.at[u, f"pupils_{s}"]) for u, s in parts_in.index])
    inp = model_inputs(county, scenario, travel, school_times, standards=std, parts=parts_in,
                       demand_by_year=by_year, target_year=None if h is None else h.target_year)  # fmt: skip
    record = None
    if scenario.objective == "min_cost_to_pass":  # the cheapest passing plan, budgets lifted (model/cheapest.py)
        sol, record = min_cost_to_pass(inp, scenario)
        inp = replace(inp, capital_budget_yuan=record.lifted_capital_yuan,
                      recurrent_budget_yuan=record.lifted_recurrent_yuan)  # fmt: skip
    else:
        sol = optimise(inp, scenario, start_values=start.values if start is not None else None,
                       guide_values=guide.values if guide is not None else None)  # fmt: skip
    if not sol.result.has_solution:
        raise RuntimeError(f"the solver returned no plan ({sol.result.describe()})")
    ctx = sol.built.ctx
    assign = assignments(ctx).rename(columns={"unit_id": "school_id", "current_unit": "current_school_id"})
    within = inp.arcs.set_index(["settlement_id", "stage", "unit_id"])["within_cap"]
    keys = pd.MultiIndex.from_frame(assign[["settlement_id", "stage", "school_id"]])
    cap = within.reindex(keys)
    if cap.isna().any():  # every assignment is one of the model's arcs
        raise RuntimeError(f"assignment without an arc: {keys[cap.isna().to_numpy()][0]}")
    assign["within_cap"] = cap.astype(bool).to_numpy()
    # today's trip (today's school is always an arc) and the change, for the 就近入学 read-outs
    today = inp.arcs.set_index(["settlement_id", "stage", "unit_id"]).reindex(
        pd.MultiIndex.from_frame(assign[["settlement_id", "stage", "current_school_id"]])
    )
    assign["current_time_min"] = today["time_min"].to_numpy(dtype=float)
    assign["current_within_cap"] = today["within_cap"].astype(bool).to_numpy()
    assign["time_change_min"] = assign["time_min"] - assign["current_time_min"]
    proj = projects(ctx).rename(columns={"unit_id": "school_id"})
    flows = pair_flows(ctx, scenario.rotation.max_travel_min)
    ex = exchange_list(county, flows, std, term_years=scenario.rotation.term_years)
    hired = hires(ctx).rename(columns={"unit_id": "school_id"})
    new = new_schools(county, sol)
    # a horizon plan's after-county has the target year's pupils (schools compared with today's
    # classes, so classes are re-formed where pupils change)
    limit = limits_of(std)["class_limit"]
    after_county = apply_plan(replace(base_county, settlements=county.settlements), assign, proj, ex, hired, new, limit)
    if scenario.levers.itinerant:  # 走教 after the moves; it moves nobody, so after_county is unchanged
        ro = scenario.rotation
        ex = pd.concat([ex, itinerant_list(county, ex, school_times, ro.itinerant_max_min, ro.term_years)],
                       ignore_index=True)  # fmt: skip
    closed = closed_units(ctx)
    notes: list[str] = []
    extra: dict[str, pd.DataFrame] = {}
    if h is not None:
        extra, more = horizon_tables(base_county, after_county, projection, proj, std, h)
        notes.extend(more)
    add_catchment_outputs(extra, notes, ctx, assign, after_county, scenario)  # feeder table, rule notes
    extra["rezoning"] = rezoning_summary(assign, scenario.distance.rezoning_tolerance_min)  # 就近入学 read-out
    if closed:
        after_county, stranded = drop_closed(after_county, closed)
        if len(stranded):
            notes.append(f"{len(stranded)} teachers of closed schools are left for the bureau to place (待统筹安排)")
    rotation = rotation_table(ex)
    pool = int(base_parts.loc[(base_parts["ownership"] == "public") & (base_parts["kind"] != "special"),
                              "teachers_eligible"].sum())  # fmt: skip
    after = assess_parts(school_parts(after_county, std), std, rotation=rotation, eligible_teachers=pool,
                         county_name_zh=after_county.name_zh, synthetic=after_county.synthetic)  # fmt: skip
    capital = float(proj["cost_yuan"].sum())
    recurrent = (
        float(hired["cost_yuan_per_year"].sum())
        + int((ex["kind"] == "rotation").sum()) * county.parameters.unit_costs.rotation_allowance_yuan_per_year
    )
    costs = {
        "capital_yuan": capital,
        "capital_budget_yuan": inp.capital_budget_yuan,
        "recurrent_yuan_per_year": recurrent,
        "recurrent_budget_yuan_per_year": inp.recurrent_budget_yuan,
    }
    # why each standard left unmet stays unmet (budget, land, distance cap, staffing)
    unavailable = (set(county.candidate_sites.index) - set(new["school_id"])) | set(closed)
    max_hires = scenario.hires.max_total if scenario.levers.hires else 0
    places = free_places(after_county.schools, limit, limits_of(std)["size_limit"])
    extra["rotation_policy"] = rotation_policy(ex, pool, scenario, std)
    # teaching points the re-zoning takes across the 50-pupil line (the model keeps today's scope)
    extra["scope_changes"] = scope_changes(before.schools, after.schools)
    notes.extend(scope_notes(extra["scope_changes"], std.scope.teaching_point_min_pupils))
    extra["unmet"] = what_binds(after, assign, inp.arcs, proj, hired, costs, county, max_hires, unavailable, places)
    if record is not None:  # what no money can fix, listed first (the budgets were lifted: money never binds)
        named = set(named_parts(inp, scenario)) if scenario.cheapest.parts else None
        stuck = stuck_pupils(assign, inp.arcs, unavailable)
        floor = float(std.school_rule.floor_share)

        def area(sid: str, k: str, standard: float) -> tuple[list[str], str]:
            return area_binds(after_county.schools, county.expansion_options, proj, stuck, sid, k, standard, floor)

        extra["no_money_fix"] = no_money_fix(after, extra["unmet"], named, area)
        extra["cheapest_stages"] = stages_table(record, sol.result.describe(), capital, recurrent)
        worse = cvs_made_worse(before, after)
        notes[:0] = cheapest_notes(record, costs, extra["no_money_fix"], sol.result.describe(), worse)
        # the budget this plan asks for is what it spends (the lifted budgets were a device of the solve)
        costs = {**costs, "capital_budget_yuan": capital, "recurrent_budget_yuan_per_year": recurrent}
    r = sol.result
    return Plan(
        scenario_name=scenario.name,
        assignments=assign,
        projects=proj,
        flows=flows.rename(columns={"from_unit": "from_school_id", "to_unit": "to_school_id"}),
        exchange_list=ex,
        hires=hired,
        costs=costs,
        solver=SolverRecord(
            status=r.status,
            description=r.describe(),
            gap=r.gap,
            bound=r.bound,
            objective=r.objective,
            solver=r.solver,
            solve_s=round(sol.solve_s, 3),
            build_s=round(sol.built.build_s, 3),
            cv_rounds=sol.rounds,
            variables=len(sol.built.prob.variables()),
            constraints=sol.built.ctx.n_constraints,
            unavoidable=r.floor,
            gap_whole=relative_gap(r.objective, r.bound),
        ),
        objective_terms=sol.objective_terms,
        before=before,
        after=after,
        after_county=after_county,
        distance_method=distance_method,
        notes=notes,
        extra_tables=extra,
        values=sol.values(),
    )


__all__ = ["plan_county"]
