"""The model instance: :class:`~planner.model.inputs.ModelInputs` of a county under a scenario.

:func:`model_inputs` gathers what other layers compute — the assessed school parts and
teacher categories (assessment engine), the thresholds (standards), the travel times
(network) and, with the contiguity rule on, the settlement adjacency graph — and
:func:`prepare_inputs` turns them, as plain tables, into the instance (a pure function of its
arguments; tests call it with tables made by hand).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planner.adjacency import catchment_graph
from planner.assess import school_parts, teacher_categories
from planner.county import County
from planner.model.inputs import INDICATORS, TEACHER_INDICATORS, ModelInputs
from planner.model.places import closable_schools
from planner.scenario import Scenario
from planner.standards import INDICATORS_BY_KEY, Standards, load_standards

_STAGE_OF_KIND = {
    "primary": ("primary",),
    "teaching_point": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
}
_SITE_STAGES = {"primary": ("primary",), "junior": ("junior",), "nine_year": ("primary", "junior")}


def _units(county: County) -> pd.DataFrame:
    s = county.schools[county.schools["kind"] != "special"]
    units = pd.DataFrame(
        {
            "unit_id": s.index,
            "kind": s["kind"].to_numpy(),
            "is_new": False,
            "public": (s["ownership"] == "public").to_numpy(),
            "nine_year": (s["kind"] == "nine_year").to_numpy(),
            "boarding": s["is_boarding"].to_numpy(dtype=bool),
            "classrooms": s["classrooms"].to_numpy(dtype=float),
            "floor_area": s["floor_area_m2"].to_numpy(dtype=float),
            "sports_area": s["sports_area_m2"].to_numpy(dtype=float),
            "equipment": s["equipment_value_yuan"].to_numpy(dtype=float),
            "multimedia": s["multimedia_rooms"].to_numpy(dtype=float),
            "music_rooms": s["music_rooms"].to_numpy(dtype=float),
            "art_rooms": s["art_rooms"].to_numpy(dtype=float),
            "land_cost_yuan": 0.0,
            "site_stage": "",
            "max_classes": 0.0,
            "area_type": s["settlement_id"].map(county.settlements["area_type"]).fillna("rural").to_numpy(),
        }
    )
    c = county.candidate_sites
    sites = pd.DataFrame(
        {
            "unit_id": c.index,
            "kind": "site",
            "is_new": True,
            "public": True,
            "nine_year": (c["stage"] == "nine_year").to_numpy(),
            "boarding": False,
            "classrooms": 0.0,
            "floor_area": 0.0,
            "sports_area": 0.0,
            "equipment": 0.0,
            "multimedia": 0.0,
            "music_rooms": 0.0,
            "art_rooms": 0.0,
            "land_cost_yuan": c["land_cost_yuan"].to_numpy(dtype=float),
            "site_stage": c["stage"].to_numpy(),
            "max_classes": c["max_classes"].to_numpy(dtype=float),
            "area_type": "new",
        }
    )
    out = pd.concat([units, sites], ignore_index=True)
    return out.set_index("unit_id", drop=False)


def _parts(county: County, parts: pd.DataFrame) -> pd.DataFrame:
    """Existing parts from the assessment engine's table, plus empty parts for sites."""
    existing = parts.copy()
    private = county.schools["ownership"].reindex(existing.index.get_level_values(0)).to_numpy() == "private"
    existing["fixed_pupils"] = np.where(private, existing["pupils"].to_numpy(dtype=float), np.nan)
    rows = []
    for site, row in county.candidate_sites.iterrows():
        for stage in _SITE_STAGES[row["stage"]]:
            rows.append({"unit_id": site, "stage": stage, "pupils": 0.0, "fixed_pupils": np.nan, "included": True,
                         "teachers": 0, **dict.fromkeys(TEACHER_INDICATORS, 0.0)})  # fmt: skip
    sites = pd.DataFrame(rows)
    if len(sites):
        sites = sites.set_index(["unit_id", "stage"])
        existing = pd.concat([existing, sites[existing.columns]])
    return existing


def _teacher_types(county: County, flags: pd.DataFrame, eligible_years: int) -> pd.DataFrame:
    """Current teachers grouped by school, stage, indicator flags, eligibility and subject.

    ``group_id`` is the indicator type (stage × above-required × backbone × PE/art ×
    eligible); ``type_id`` adds the subject (``p-QbP-e:music``), so a move is exact both
    for the indicators and for the subjects a school keeps.
    """
    t = flags.copy()
    t["eligible"] = county.teachers.loc[t.index, "years_at_school"].to_numpy() >= eligible_years
    t["subject"] = county.teachers.loc[t.index, "subject"].astype(str).to_numpy()
    for k in TEACHER_INDICATORS:
        t[k] = t[k].astype(int)
    t["group_id"] = (
        t["stage"].str[0]
        + "-"
        + t["above_required"].map({1: "Q", 0: "q"})
        + t["backbone"].map({1: "B", 0: "b"})
        + t["pe_art"].map({1: "P", 0: "p"})
        + t["eligible"].map({True: "-e", False: "-n"})
    )
    t["type_id"] = t["group_id"] + ":" + t["subject"]
    keys = ["school_id", "stage", "type_id", "group_id", "subject", "above_required", "backbone", "pe_art", "eligible"]
    grouped = t.groupby(keys, sort=True).size().rename("count").reset_index().rename(columns={"school_id": "unit_id"})
    cols = ["unit_id", "stage", "type_id", "count", "above_required", "backbone", "pe_art", "eligible", "group_id",
            "subject"]  # fmt: skip
    return grouped[cols]


def _fill_current(
    demand: pd.DataFrame, travel: pd.DataFrame, teaches: dict[str, set[str]], county: County
) -> pd.DataFrame:
    """Give settlements with pupils but no catchment school today (only in projected years:
    children born or moved there) the nearest existing public school of the stage as their
    'current' school, so that every demand row has a starting assignment."""
    cur = demand["current_unit"].fillna("").astype(str)
    empty = cur.eq("") | cur.eq("nan")
    if not empty.any():
        return demand
    demand = demand.copy()
    existing = set(county.schools.index)
    for i in demand.index[empty]:
        sid, stage = demand.at[i, "settlement_id"], demand.at[i, "stage"]
        t = travel[(travel["settlement_id"] == sid) & (travel["stage"] == stage)]
        t = t[[u in teaches[stage] and u in existing for u in t["unit_id"]]]
        if not len(t):
            raise ValueError(f"settlement {sid} has {stage} pupils but no school of that stage within reach")
        demand.at[i, "current_unit"] = str(t.sort_values(["time_min", "unit_id"]).iloc[0]["unit_id"])
    return demand


def _arcs(
    county: County,
    scenario: Scenario,
    travel: pd.DataFrame,
    units: pd.DataFrame,
    closable: set[str] | frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demand and allowed arcs: today's school plus the nearby schools of the 就近入学 rule.

    For a settlement and stage with today's school c (time t_c) and cap T (its area type's day cap):

    - *eligible* units: public schools and candidate sites of the stage within T; a boarding school
      within ``boarding_max_min`` too, but only where no existing public day school of the stage is
      within T (a boarding school takes far settlements only where no day school is near);
    - allowed: the ``candidates_per_settlement`` nearest eligible units no farther than
      max(t_c, t_n) + ``rezoning_tolerance_min`` (t_n: the nearest eligible unit, a candidate site
      counting as a school), plus c itself even beyond the cap (keeping it is always allowed). While c
      is within the cap, t_n ≤ t_c, so no re-zoned trip grows by more than the tolerance; a
      settlement beyond the cap may go to any eligible unit;
    - when c is in ``closable`` (the closures lever may close it): also the eligible units within the
      tolerance of the nearest eligible existing school other than c, flagged ``if_closed`` — the
      model allows them only if c closes (planner/model/catchments.py).

    Returns the demand table and the arcs (settlement_id, stage, unit_id, time_min, distance_m,
    cap_min, within_cap, if_closed). ``cap_min`` is the cap judged for the bottom line: the day cap,
    and ``boarding_max_min`` at a boarding school (so keeping today's boarding school within its
    allowance is within the cap).
    """
    st = county.settlements
    demand_rows = []
    for stage in ("primary", "junior"):
        d = pd.DataFrame(
            {
                "settlement_id": st.index,
                "stage": stage,
                "pupils": st[f"pupils_{stage}"].to_numpy(dtype=int),
                "current_unit": st[f"school_{stage}_id"].to_numpy(),
                "area_type": st["area_type"].to_numpy(),
            }
        )
        demand_rows.append(d[d["pupils"] > 0])
    demand = pd.concat(demand_rows, ignore_index=True)

    teaches: dict[str, set[str]] = {"primary": set(), "junior": set()}
    schools = county.schools
    for sid, row in schools.iterrows():
        if row["ownership"] == "public" and row["kind"] in _STAGE_OF_KIND:
            for s in _STAGE_OF_KIND[row["kind"]]:
                teaches[s].add(sid)
    for site, row in county.candidate_sites.iterrows():
        for s in _SITE_STAGES[row["stage"]]:
            teaches[s].add(site)

    demand = _fill_current(demand, travel, teaches, county)
    dist = scenario.distance
    caps = {"primary": dist.primary_max_min, "junior": dist.junior_max_min}
    tt = travel.merge(demand[["settlement_id", "stage", "area_type", "current_unit"]], on=["settlement_id", "stage"])
    tt = tt[[u in teaches[s] for u, s in zip(tt["unit_id"], tt["stage"], strict=True)]].reset_index(drop=True)
    keys = [tt["settlement_id"], tt["stage"]]
    time_min = tt["time_min"].to_numpy(dtype=float)
    day_cap = np.array([getattr(caps[s], a) for s, a in zip(tt["stage"], tt["area_type"], strict=True)], dtype=float)
    boarding = tt["unit_id"].map(units["boarding"]).fillna(False).to_numpy(dtype=bool)
    existing = ~tt["unit_id"].map(units["is_new"]).fillna(True).to_numpy(dtype=bool)
    current = (tt["unit_id"] == tt["current_unit"]).to_numpy()
    board_cap = np.maximum(day_cap, dist.boarding_max_min)
    cap = np.where(boarding, board_cap, day_cap)
    # a boarding school's allowance beyond the day cap only where no public day school is within it
    day_near = pd.Series(~boarding & existing & (time_min <= day_cap)).groupby(keys).transform("any").to_numpy()
    eligible = time_min <= np.where(boarding & ~day_near, board_cap, day_cap)
    tol = np.inf if dist.rezoning_tolerance_min is None else float(dist.rezoning_tolerance_min)
    t_today = pd.Series(np.where(current, time_min, -np.inf)).groupby(keys).transform("max").to_numpy()
    t_near = pd.Series(np.where(eligible, time_min, np.inf)).groupby(keys).transform("min").to_numpy()
    allowed = eligible & (time_min <= np.maximum(t_today, t_near) + tol)
    # a closable school's settlements: if it closes, the schools within the tolerance of the nearest other one
    closing = tt["current_unit"].isin(closable).to_numpy()
    other = eligible & existing & ~current
    t_other = pd.Series(np.where(other, time_min, np.inf)).groupby(keys).transform("min").to_numpy()
    fallback = closing & eligible & ~current & ~allowed & (time_min <= t_other + tol)
    tt = tt.assign(cap_min=cap, within_cap=time_min <= cap, if_closed=fallback)
    order = ["settlement_id", "stage", "time_min", "unit_id"]
    k = dist.candidates_per_settlement
    near = tt[allowed].sort_values(order).groupby(["settlement_id", "stage"], sort=False).head(k)
    spare = tt[fallback].sort_values(order).groupby(["settlement_id", "stage"], sort=False).head(k)
    # today's school is always allowed, even beyond the cap (penalised in the model, reported in
    # the plan), so that today's catchments are a valid starting plan
    arcs = pd.concat([near, spare, tt[current]], ignore_index=True)
    arcs = arcs.drop_duplicates(["settlement_id", "stage", "unit_id"]).sort_values(order)
    missing = demand.merge(arcs[["settlement_id", "stage"]].drop_duplicates(), how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    if len(missing):
        first = missing.iloc[0]
        raise ValueError(
            f"settlement {first['settlement_id']} has no travel time to its current {first['stage']} school "
            f"{first['current_unit']}"
        )
    cols = ["settlement_id", "stage", "unit_id", "time_min", "distance_m", "cap_min", "within_cap", "if_closed"]
    return demand.drop(columns="area_type"), arcs[cols].reset_index(drop=True)


def prepare_inputs(
    county: County,
    scenario: Scenario,
    *,
    standard: pd.DataFrame,
    limits: dict[str, object],
    parts: pd.DataFrame,
    teacher_flags: pd.DataFrame,
    travel: pd.DataFrame,
    school_times: pd.DataFrame,
    demand_by_year: pd.DataFrame | None = None,
    target_year: int | None = None,
) -> ModelInputs:
    """Assemble the model instance.

    Parameters
    ----------
    county : County
    scenario : Scenario
    standard : DataFrame
        Index (stage, indicator) with ``per_pupil`` (indicator keys of
        :mod:`planner.model.inputs`).
    limits : dict
        ``rule_floor``, ``rule_min_met``, ``cv_max`` (stage -> float), ``class_limit``,
        ``size_limit`` (``single``/``nine_year``), ``staffing_norm``.
    parts : DataFrame
        Index (school_id, stage) of existing schools' parts: ``pupils``, ``included``,
        ``teachers``, ``above_required``, ``backbone``, ``pe_art``.
    teacher_flags : DataFrame
        Index teacher_id: ``school_id``, ``stage``, ``above_required``, ``backbone``,
        ``pe_art`` (0/1), as the assessment engine classifies them.
    travel : DataFrame
        settlement_id, stage, unit_id (school or site), time_min, distance_m (sparse).
    school_times : DataFrame
        from_unit, to_unit, time_min.
    demand_by_year : DataFrame, optional
        Horizon plans: settlement_id, stage, year, pupils (projected whole pupils) for every
        year of the horizon. ``county`` then carries the target year's pupils in its
        settlements (see :func:`planner.plan.pipeline.plan_county`).
    target_year : int, optional
        The year of ``county``'s pupils in a horizon plan.
    """
    units = _units(county)
    model_parts = _parts(county, parts)
    closable = set(closable_schools(units, model_parts, scenario.closures)) if scenario.levers.closures else set()
    demand, arcs = _arcs(county, scenario, travel, units, closable)
    b = county.parameters.budget
    capital = scenario.budget.capital_yuan if scenario.budget.capital_yuan is not None else b.capital_yuan
    recurrent = (
        scenario.budget.recurrent_yuan_per_year
        if scenario.budget.recurrent_yuan_per_year is not None
        else b.recurrent_yuan_per_year
    )
    uc = county.parameters.unit_costs
    opts = pd.DataFrame(
        [
            {"site_id": "", "option_id": o.option_id, "stage": o.stage, "classes": o.classes,
             "floor_area": o.floor_area_m2, "sports_area": o.sports_area_m2, "equipment": o.equipment_value_yuan,
             "multimedia": o.multimedia_rooms, "music_rooms": o.music_rooms, "art_rooms": o.art_rooms,
             "cost_yuan": o.cost_yuan}
            for o in county.parameters.new_school_options
        ],
        columns=["site_id", "option_id", "stage", "classes", "floor_area", "sports_area", "equipment", "multimedia",
                 "music_rooms", "art_rooms", "cost_yuan"],
    )  # fmt: skip
    ex = county.expansion_options
    expansions = pd.DataFrame(
        {
            "option_id": ex["option_id"].to_numpy(),
            "unit_id": ex["school_id"].to_numpy(),
            "added_classrooms": ex["added_classrooms"].to_numpy(dtype=float),
            "floor_area": ex["added_floor_area_m2"].to_numpy(dtype=float),
            "sports_area": ex["added_sports_area_m2"].to_numpy(dtype=float),
            "cost_yuan": ex["cost_yuan"].to_numpy(dtype=float),
        }
    )
    return ModelInputs(
        standard=standard,
        rule_floor=float(limits["rule_floor"]),
        rule_min_met=int(limits["rule_min_met"]),
        cv_max=dict(limits["cv_max"]),
        class_limit=dict(limits["class_limit"]),
        size_limit=dict(limits["size_limit"]),
        staffing_norm=dict(limits["staffing_norm"]),
        teaching_point_min_pupils=int(limits["teaching_point_min_pupils"]),
        units=units,
        parts=model_parts,
        demand=demand,
        arcs=arcs,
        site_options=opts,
        expansions=expansions,
        teacher_types=_teacher_types(county, teacher_flags, scenario.rotation.eligible_years),
        hire_types=pd.DataFrame(
            [
                {"type_id": "hire-Q", "above_required": 1, "backbone": 0, "pe_art": 0},
                {"type_id": "hire-QP", "above_required": 1, "backbone": 0, "pe_art": 1},
            ]
        ),
        unit_costs={
            "multimedia_room_yuan": uc.multimedia_room_yuan,
            "music_room_yuan": uc.music_room_yuan,
            "art_room_yuan": uc.art_room_yuan,
            "equipment_yuan_per_yuan": uc.equipment_yuan_per_yuan,
            "teacher_hire_yuan_per_year": uc.teacher_hire_yuan_per_year,
            "rotation_allowance_yuan_per_year": uc.rotation_allowance_yuan_per_year,
        },
        capital_budget_yuan=float(capital) * scenario.budget.scale,
        recurrent_budget_yuan=float(recurrent) * scenario.budget.scale,
        school_times=school_times,
        demand_by_year=None if demand_by_year is None else _by_year(demand_by_year, demand, county),
        target_year=target_year,
    )


def _by_year(by_year: pd.DataFrame, demand: pd.DataFrame, county: County) -> pd.DataFrame:
    """Projected pupils per settlement, stage and year, with each row's current unit.

    Rows with pupils only. The current unit is the target year's (``demand``), else the
    settlement's catchment school today; empty when it has neither.
    """
    d = by_year[by_year["pupils"] > 0][["settlement_id", "stage", "year", "pupils"]]
    cur = demand[["settlement_id", "stage", "current_unit"]]
    out = d.merge(cur, on=["settlement_id", "stage"], how="left")
    st = county.settlements
    today = {
        (sid, stage): str(st.at[sid, f"school_{stage}_id"] or "")
        for sid, stage in zip(out["settlement_id"], out["stage"], strict=True)
        if sid in st.index
    }
    fallback = [today.get((a, b), "") for a, b in zip(out["settlement_id"], out["stage"], strict=True)]
    out["current_unit"] = out["current_unit"].fillna(pd.Series(fallback, index=out.index)).replace("nan", "")
    out["pupils"] = out["pupils"].astype(float)
    return out.sort_values(["year", "stage", "settlement_id"], kind="stable").reset_index(drop=True)


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
        "teaching_point_min_pupils": standards.scope.teaching_point_min_pupils,
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
    inp = prepare_inputs(
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
    # the contiguity rule reads the settlement adjacency graph (planner/model/contiguity.py)
    return replace(inp, catchment_graph=catchment_graph(county)) if scenario.catchment_rules.contiguity else inp


__all__ = ["limits_of", "model_inputs", "model_parts", "prepare_inputs", "standard_frame"]
