"""Prepare :class:`~planner.model.inputs.ModelInputs` from a county and plain tables.

The caller (:mod:`planner.pipeline`) supplies what other layers compute — the assessed
school parts and teacher categories (assessment engine), travel times (network) and
thresholds (standards) — as plain tables, so this module depends on none of them and is
a pure function of its arguments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.county import County
from planner.model.inputs import SCHOOL_INDICATORS, TEACHER_INDICATORS, ModelInputs
from planner.scenario import Scenario

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
    county: County, scenario: Scenario, travel: pd.DataFrame, units: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demand and allowed arcs (current school + nearest within the caps)."""
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
    tt = tt[[u in teaches[s] for u, s in zip(tt["unit_id"], tt["stage"], strict=True)]]
    cap = np.array([getattr(caps[s], a) for s, a in zip(tt["stage"], tt["area_type"], strict=True)], dtype=float)
    boarding = tt["unit_id"].map(units["boarding"]).fillna(False).to_numpy(dtype=bool)
    cap = np.where(boarding, np.maximum(cap, dist.boarding_max_min), cap)
    tt = tt.assign(cap_min=cap, within_cap=tt["time_min"].to_numpy() <= cap)
    near = tt[tt["within_cap"]].sort_values(["settlement_id", "stage", "time_min", "unit_id"])
    near = near.groupby(["settlement_id", "stage"], sort=False).head(dist.candidates_per_settlement)
    # today's school is always allowed, even beyond the cap (penalised in the model, reported in
    # the plan), so that today's catchments are a valid starting plan
    current = tt[tt["unit_id"] == tt["current_unit"]]
    arcs = pd.concat([near, current], ignore_index=True)
    arcs = arcs.drop_duplicates(["settlement_id", "stage", "unit_id"]).sort_values(
        ["settlement_id", "stage", "time_min", "unit_id"]
    )
    missing = demand.merge(arcs[["settlement_id", "stage"]].drop_duplicates(), how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    if len(missing):
        first = missing.iloc[0]
        raise ValueError(
            f"settlement {first['settlement_id']} has no travel time to its current {first['stage']} school "
            f"{first['current_unit']}"
        )
    cols = ["settlement_id", "stage", "unit_id", "time_min", "distance_m", "cap_min", "within_cap"]
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
        settlements (see :func:`planner.pipeline.plan_county`).
    target_year : int, optional
        The year of ``county``'s pupils in a horizon plan.
    """
    units = _units(county)
    demand, arcs = _arcs(county, scenario, travel, units)
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
        units=units,
        parts=_parts(county, parts),
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


__all__ = ["SCHOOL_INDICATORS", "prepare_inputs"]
