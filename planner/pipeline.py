"""From a county and a scenario to a Plan: glue between the layers.

Reads the standards, the assessment engine's school parts and teacher categories, the
travel times, prepares the model instance, optimises, applies the plan to the county and
assesses the after-state with the same engine that assessed the baseline.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.adjacency import attach_catchment_graph
from planner.assess import assess_parts, school_parts, teacher_categories
from planner.binding import free_places, what_binds
from planner.county import County
from planner.horizon import county_in_year, enrolment_flags, peak_investments, school_projection, township_places
from planner.model.extract import assignments, closed_units, hires, pair_flows, projects
from planner.model.feeder import add_catchment_outputs
from planner.model.inputs import INDICATORS, ModelInputs
from planner.model.optimise import Solution, optimise
from planner.model.prepare import prepare_inputs
from planner.plan import Plan, apply_plan
from planner.projection import project_enrolment, pupils_by_year
from planner.scenario import Scenario
from planner.standards import INDICATORS_BY_KEY, Standards, load_standards

log = logging.getLogger(__name__)


def standard_frame(standards: Standards) -> pd.DataFrame:
    """Per-pupil resource standard by (stage, indicator) for the model."""
    rows = [
        {"stage": s, "indicator": k, "per_pupil": standards.threshold(s, k) / INDICATORS_BY_KEY[k].per_pupils}
        for s in ("primary", "junior")
        for k in INDICATORS
    ]
    return pd.DataFrame(rows).set_index(["stage", "indicator"])


def limits_of(standards: Standards) -> dict[str, Any]:
    """School rule, CV thresholds, class and school size, staffing norm for the model."""
    g = standards.guarantee
    return {
        "rule_floor": standards.school_rule.floor_share,
        "rule_min_met": standards.school_rule.min_met,
        "cv_max": {s: standards.cv_max[s] for s in ("primary", "junior")},
        "class_limit": {s: g.class_size_max[s] for s in ("primary", "junior")},
        "size_limit": {"single": g.school_size_max.single_stage, "nine_year": g.school_size_max.nine_year},
        "staffing_norm": {s: g.staffing_pupils_per_post[s] for s in ("primary", "junior")},
    }


def model_parts(parts: pd.DataFrame) -> pd.DataFrame:
    """The engine's school parts (:func:`planner.assess.school_parts`) in the model's shape.

    Index (school_id, stage); special schools left out.
    """
    p = parts[parts["kind"] != "special"]
    out = pd.DataFrame(
        {
            "unit_id": p["school_id"].to_numpy(),
            "stage": p["stage"].to_numpy(),
            "pupils": p["pupils"].to_numpy(dtype=float),
            "included": p["included"].to_numpy(dtype=bool),
            "teachers": p["teachers"].to_numpy(dtype=int),
            "above_required": p["teachers_above_required"].to_numpy(dtype=float),
            "backbone": p["backbone_teachers"].to_numpy(dtype=float),
            "pe_art": p["pe_art_teachers"].to_numpy(dtype=float),
        }
    )
    return out.set_index(["unit_id", "stage"])


def _new_schools(county: County, sol: Solution) -> pd.DataFrame:
    """Rows for the schools the plan builds, in the schools table's shape."""
    ctx = sol.built.ctx
    opts = {o.option_id: o for o in county.parameters.new_school_options}
    sites = county.candidate_sites
    rows = []
    for (site, option), z in sorted(ctx.vars["build"].items()):
        if (z.varValue or 0) < 0.5:
            continue
        o = opts[option]
        s = sites.loc[site]
        rows.append(
            {
                "school_id": site, "name_zh": f"{s['name_zh']}新建学校", "township_id": s["township_id"],
                "kind": o.stage, "lon": s["lon"], "lat": s["lat"], "geometry": s.geometry, "classrooms": o.classes,
                "floor_area_m2": o.floor_area_m2, "sports_area_m2": o.sports_area_m2,
                "equipment_value_yuan": o.equipment_value_yuan, "multimedia_rooms": o.multimedia_rooms,
                "music_rooms": o.music_rooms, "art_rooms": o.art_rooms,
            }
        )  # fmt: skip
    cols = ["school_id", "name_zh", "township_id", "kind", "lon", "lat", "geometry", "classrooms", "floor_area_m2",
            "sports_area_m2", "equipment_value_yuan", "multimedia_rooms", "music_rooms", "art_rooms"]  # fmt: skip
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=county.crs)


#: kinds of the exchange list (DOMAIN.md §1.2, §3)
EXCHANGE_KINDS = {"rotation": "轮岗", "return": "回流", "redeployment": "调配", "itinerant": "走教"}
#: kinds that count as 交流轮岗 for the 10% / 20% policy (both legs of a 双向交流)
ROTATION_KINDS = ("rotation", "return")
ITINERANT_SUBJECTS = ("pe", "music", "art", "it")


def exchange_list(county: County, flows: pd.DataFrame, standards: Standards, *, term_years: int = 3) -> pd.DataFrame:
    """Name the teachers who move: for each flow, the longest-serving teachers of its type.

    Deterministic: candidates of the flow's type (indicator flags, eligibility and subject)
    at the sending school sorted by years at the school (longest first), then teacher_id.
    Columns: teacher_id, subject, backbone_level, from_school_id, to_school_id, kind
    (``rotation`` 轮岗 / ``return`` 回流 / ``redeployment`` 调配), term_years, and stage,
    category, years_at_school, time_min, within_cap.
    """
    cats = teacher_categories(county.teachers, standards)
    cats["years_at_school"] = county.teachers["years_at_school"]
    cats["subject"] = county.teachers["subject"].astype(str)
    cats["backbone_level"] = county.teachers["backbone_level"].astype(str)
    taken: set[str] = set()
    rows = []
    has_subject = "subject" in flows.columns
    for f in flows.sort_values(["from_unit", "to_unit", "type_id"]).itertuples(index=False):
        pool = cats[
            (cats["school_id"] == f.from_unit)
            & (cats["stage"] == f.stage)
            & (cats["above_required"].astype(int) == f.above_required)
            & (cats["backbone"].astype(int) == f.backbone)
            & (cats["pe_art"].astype(int) == f.pe_art)
            & (cats["eligible"] == f.eligible)
            & ~cats.index.isin(list(taken))
        ]
        if has_subject and f.subject:
            pool = pool[pool["subject"] == f.subject]
        pool = pool.assign(_tid=pool.index).sort_values(["years_at_school", "_tid"], ascending=[False, True])
        chosen = pool.head(int(f.count))
        if len(chosen) < f.count:
            raise RuntimeError(f"not enough teachers of type {f.type_id} at {f.from_unit} for the plan")
        kind = str(getattr(f, "kind", "rotation" if f.eligible else "redeployment"))
        for tid, c in chosen.iterrows():
            taken.add(str(tid))
            rows.append(
                {"teacher_id": tid, "subject": c["subject"], "backbone_level": c["backbone_level"],
                 "from_school_id": f.from_unit, "to_school_id": f.to_unit, "kind": kind,
                 "term_years": term_years if kind in ROTATION_KINDS else None, "stage": f.stage,
                 "category": c["category"], "years_at_school": int(c["years_at_school"]), "time_min": f.time_min,
                 "within_cap": f.within_cap}
            )  # fmt: skip
    cols = ["teacher_id", "subject", "backbone_level", "from_school_id", "to_school_id", "kind", "term_years", "stage",
            "category", "years_at_school", "time_min", "within_cap"]  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    out["term_years"] = out["term_years"].astype("Int64")
    return out


def itinerant_list(
    county: County, moved: pd.DataFrame, school_times: pd.DataFrame, max_travel_min: float, term_years: int
) -> pd.DataFrame:
    """走教: a PE, music, art or IT teacher serves a nearby school that has none (after the plan).

    For every public school part with pupils and no teacher of one of these subjects after
    the moves in ``moved``, the nearest other school within ``max_travel_min`` with a teacher
    of that subject and stage who is not moved by the plan and does not already 走教 lends one
    (longest-serving first). The teacher stays on the home school's staff: 走教 changes no
    indicator (the standard counts 专任教师 where they are employed), it only fills the
    subject's lessons. Rows as :func:`exchange_list`, kind ``itinerant``.
    """
    t = county.teachers.copy()
    t["subject"] = t["subject"].astype(str)
    moved_ids = set(moved["teacher_id"])
    dest = moved.set_index("teacher_id")["to_school_id"]
    t["school_after"] = [dest.get(i, s) for i, s in zip(t.index, t["school_id"], strict=True)]
    have = t.groupby(["school_after", "stage", "subject"]).size()
    s = county.schools
    public = s[(s["ownership"] == "public") & (s["kind"] != "special")]
    parts = [(sid, stage) for sid, r in public.iterrows() for stage in ("primary", "junior")
             if int(r[f"pupils_{stage}"]) > 0]  # fmt: skip
    times = school_times.sort_values(["to_unit", "time_min", "from_unit"])
    near = {str(b): list(zip(g["from_unit"], g["time_min"], strict=True)) for b, g in times.groupby("to_unit")}
    lent: set[str] = set()
    rows = []
    for b, stage in sorted(parts):
        for subject in ITINERANT_SUBJECTS:
            if have.get((b, stage, subject), 0) > 0:
                continue
            for a, minutes in near.get(b, []):
                if a == b or minutes > max_travel_min:
                    continue
                pool = t[(t["school_after"] == a) & (t["school_id"] == a) & (t["stage"] == stage)
                         & (t["subject"] == subject) & ~t.index.isin(list(moved_ids | lent))]  # fmt: skip
                if not len(pool):
                    continue
                pick = pool.assign(_tid=pool.index).sort_values(["years_at_school", "_tid"], ascending=[False, True])
                tid = str(pick.index[0])
                lent.add(tid)
                c = pick.iloc[0]
                rows.append(
                    {"teacher_id": tid, "subject": subject, "backbone_level": str(c["backbone_level"]),
                     "from_school_id": a, "to_school_id": b, "kind": "itinerant", "term_years": term_years,
                     "stage": stage, "category": "", "years_at_school": int(c["years_at_school"]),
                     "time_min": float(minutes), "within_cap": True}
                )  # fmt: skip
                break
    out = pd.DataFrame(rows, columns=list(moved.columns))
    out["term_years"] = out["term_years"].astype("Int64")
    return out


def rotation_policy(ex: pd.DataFrame, eligible_pool: int, scenario: Scenario, standards: Standards) -> pd.DataFrame:
    """The rotation shares of the plan against the national floor and the scenario's targets.

    Rotated teachers are both legs of a 双向交流 (kinds ``rotation`` and ``return``);
    backbone teachers are those of category ``backbone`` (county level or higher). Rows:
    check (national / scenario), item, value, requirement, met, count, of.
    """
    rot = ex[ex["kind"].isin(ROTATION_KINDS)] if len(ex) else ex
    moved = len(rot)
    backbone = int((rot["category"] == "backbone").sum()) if moved else 0
    share = moved / eligible_pool if eligible_pool else 0.0
    bshare = backbone / moved if moved else float("nan")
    ro, g = scenario.rotation, standards.guarantee
    rows = []
    for check, zh, s_min, b_min in (("national", "国家标准", g.rotation_min_share, g.rotation_backbone_min_share),
                                    ("scenario", f"方案目标 ({scenario.name})", ro.min_share_of_eligible,
                                     ro.min_backbone_share)):  # fmt: skip
        rows.append({"check": check, "check_zh": zh, "item": "rotation_share",
                     "item_zh": "交流轮岗教师占符合条件教师比例", "value": share, "requirement": s_min,
                     "met": share >= s_min - 1e-12, "count": moved,
                     "of": eligible_pool})  # fmt: skip
        rows.append({"check": check, "check_zh": zh, "item": "rotation_backbone_share",
                     "item_zh": "骨干教师占交流轮岗教师比例", "value": bshare, "requirement": b_min,
                     "met": moved > 0 and bshare >= b_min - 1e-12, "count": backbone, "of": moved})  # fmt: skip
    return pd.DataFrame(rows)


def model_inputs(
    county: County,
    scenario: Scenario,
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    standards: Standards | None = None,
    parts: pd.DataFrame | None = None,
    demand_by_year: pd.DataFrame | None = None,
    target_year: int | None = None,
) -> ModelInputs:
    """The optimiser's instance for ``county`` under ``scenario``.

    Parameters
    ----------
    travel, school_times : DataFrame
        As for :func:`plan_county`.
    standards : Standards, optional
        Default: the national standards.
    parts : DataFrame, optional
        :func:`model_parts` rows; default: the county's school parts today.
    demand_by_year, target_year : optional
        A horizon plan's pupils per settlement and year, and the year the plan is judged on.
    """
    std = standards or load_standards()
    return prepare_inputs(
        county,
        scenario,
        standard=standard_frame(std),
        limits=limits_of(std),
        parts=model_parts(school_parts(county, std)) if parts is None else parts,
        teacher_flags=teacher_categories(county.teachers, std)[
            ["school_id", "stage", "above_required", "backbone", "pe_art"]
        ],
        travel=travel,
        school_times=school_times,
        demand_by_year=demand_by_year,
        target_year=target_year,
    )


def plan_county(
    county: County,
    scenario: Scenario,
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    *,
    standards: Standards | None = None,
    distance_method: str = "network",
    before: Any = None,
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
    inp = attach_catchment_graph(inp, county) if scenario.catchment_rules.contiguity else inp
    sol = optimise(inp, scenario)
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
    proj = projects(ctx).rename(columns={"unit_id": "school_id"})
    flows = pair_flows(ctx, scenario.rotation.max_travel_min)
    ex = exchange_list(county, flows, std, term_years=scenario.rotation.term_years)
    hired = hires(ctx).rename(columns={"unit_id": "school_id"})
    new = _new_schools(county, sol)
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
        extra, more = _horizon_tables(base_county, after_county, projection, proj, std, h)
        notes.extend(more)
    add_catchment_outputs(extra, notes, ctx, assign, after_county, scenario)  # feeder table, rule notes
    if closed:
        after_county, stranded = _drop_closed(after_county, closed)
        if len(stranded):
            notes.append(f"{len(stranded)} teachers of closed schools are left for the bureau to place (待统筹安排)")
    rotation = _rotation_table(ex)
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
    extra["unmet"] = what_binds(after, assign, inp.arcs, proj, hired, costs, county, max_hires, unavailable, places)
    r = sol.result
    return Plan(
        scenario_name=scenario.name,
        assignments=assign,
        projects=proj,
        flows=flows.rename(columns={"from_unit": "from_school_id", "to_unit": "to_school_id"}),
        exchange_list=ex,
        hires=hired,
        costs=costs,
        solver={
            "status": r.status,
            "description": r.describe(),
            "gap": r.gap,
            "bound": r.bound,
            "objective": r.objective,
            "solver": r.solver,
            "solve_s": round(sol.solve_s, 3),
            "build_s": round(sol.built.build_s, 3),
            "cv_rounds": sol.rounds,
            "variables": len(sol.built.prob.variables()),
            "constraints": sol.built.ctx.n_constraints,
        },
        objective_terms=sol.objective_terms,
        before=before,
        after=after,
        after_county=after_county,
        distance_method=distance_method,
        notes=notes,
        extra_tables=extra,
    )


def _horizon_tables(
    base: County, after: County, projection: pd.DataFrame, proj: pd.DataFrame, std: Standards, h: Any
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Projection tables and notes of a horizon plan (planner/horizon.py)."""
    lim = limits_of(std)
    years = list(range(h.base_year, h.last_year + 1))
    sp = school_projection(after.settlements, after.schools, projection, years)
    flags = enrolment_flags(sp, lim["size_limit"], h.first_year)
    places = township_places(sp, after.schools, lim["class_limit"])
    peaks = peak_investments(proj, sp, after.schools, lim["class_limit"], h.target_year)
    tot = projection.groupby(["year", "stage"])["pupils"].sum()
    notes = [
        f"规划期 {h.first_year}-{h.last_year}，目标年 {h.target_year}: the after-assessment uses the projected "
        f"{h.target_year} pupils; the before-assessment is the base year {h.base_year} (today's pupils). "
        f"Capacity and school size are required in every year of the horizon.",
        f"Projected public pupils {h.base_year} → {h.target_year}: primary {tot[(h.base_year, 'primary')]:,.0f} → "
        f"{tot[(h.target_year, 'primary')]:,.0f}, junior {tot[(h.base_year, 'junior')]:,.0f} → "
        f"{tot[(h.target_year, 'junior')]:,.0f} (births {h.projection.births_trend_per_year:+.1%}/yr, rural "
        f"migration {h.projection.migration_rural_per_year:.1%}/yr).",
    ]
    n_peak = int(peaks["peak_only"].sum()) if len(peaks) else 0
    if n_peak:
        notes.append(f"{n_peak} investments serve only a passing enrolment peak (仅服务入学高峰), see peak_investments")
    return {"projection": sp, "projection_flags": flags, "township_places": places, "peak_investments": peaks}, notes


def _rotation_table(ex: pd.DataFrame) -> pd.DataFrame:
    rot = ex[ex["kind"].isin(ROTATION_KINDS)]
    if not len(rot):
        return pd.DataFrame(columns=["from_school_id", "to_school_id", "category", "count"])
    return rot.groupby(["from_school_id", "to_school_id", "category"]).size().rename("count").reset_index()


def _drop_closed(county: County, closed: list[str]) -> tuple[County, pd.DataFrame]:
    from dataclasses import replace

    stranded = county.teachers[county.teachers["school_id"].isin(closed)]
    return (
        replace(
            county,
            schools=county.schools.drop(index=closed),
            teachers=county.teachers.drop(index=stranded.index),
        ),
        stranded,
    )


__all__ = [
    "EXCHANGE_KINDS",
    "ROTATION_KINDS",
    "exchange_list",
    "itinerant_list",
    "limits_of",
    "model_parts",
    "plan_county",
    "rotation_policy",
    "standard_frame",
]
