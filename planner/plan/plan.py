"""The Plan: decisions, costs, solver honesty, and the county after the plan.

:func:`apply_plan` turns the model's decisions into the county as it would be after the
plan (new schools, enrolment, classes, rooms, equipment, moved and recruited teachers,
new catchments), so that the assessment engine — not the model — computes every number
of the after-assessment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.assess import Assessment
from planner.county import County
from planner.rundir import write_csv

#: minimum areas of music and art rooms (DOMAIN.md §1.2), used for rooms the plan adds
MUSIC_ROOM_M2 = 96.0
ART_ROOM_M2 = 90.0


@dataclass(frozen=True)
class SolverRecord:
    """What the solver proved for a plan, and what the solve took.

    Attributes
    ----------
    status : str
        The solver's own status (:func:`planner.model.backend.classify`): ``optimal``,
        ``feasible``, ``infeasible``, ...
    description : str
        The status in words (``feasible, gap 2.1% (not proven within 1.00%)``).
    gap, bound, objective : float or None
        Relative gap, proven bound and objective of the last solve.
    solver : str
        Solver name and version (and how it was used: ``(start only)``, ``(regions)``).
    solve_s, build_s : float
        Seconds of solving (all rounds) and of building the model.
    cv_rounds : list of dict
        One record per solve round (CV cutting planes, region sweeps).
    variables, constraints : int
        Size of the model.
    unavoidable : float or None
        Proven lower bound on the penalties no plan avoids (pupils beyond the bottom lines even with
        fractional decisions): left out of ``gap``, which is measured on the objective above it.
    gap_whole : float or None
        The gap measured on the whole objective, constant included (for comparison with the solver's log).
    """

    status: str
    description: str
    gap: float | None
    bound: float | None
    objective: float | None
    solver: str
    solve_s: float
    build_s: float
    cv_rounds: list[dict[str, object]]
    variables: int
    constraints: int
    unavoidable: float | None = None
    gap_whole: float | None = None


@dataclass(frozen=True)
class Plan:
    """A plan for one county under one scenario.

    Attributes
    ----------
    scenario_name : str
    assignments : DataFrame
        settlement_id, stage, school_id, current_school_id, pupils, time_min,
        distance_m, changed, within_cap.
    projects : DataFrame
        kind, school_id, item, quantity, unit, cost_yuan, serves, detail_zh.
    flows : DataFrame
        Teacher moves: from_school_id, to_school_id, stage, category, count, time_min,
        within_cap, eligible (rotation) or not (redeployment to a new school).
    exchange_list : DataFrame
        One row per teacher moved: teacher_id, from_school_id, to_school_id, stage,
        category, years_at_school.
    hires : DataFrame
        school_id, stage, type_id, pe_art, count, cost_yuan_per_year.
    costs : dict
        capital_yuan, recurrent_yuan_per_year and the budgets.
    solver : SolverRecord
        Status (the solver's own), gap, bound, objective, solver name, seconds, build
        seconds, CV rounds, model size.
    objective_terms : dict
        Value of each objective group.
    before, after : Assessment
        Assessments of the county before and after the plan.
    after_county : County
        The county with the plan applied.
    distance_method : str
        ``network`` or ``straight_line`` (labelled in every output that uses it).
    notes : list of str
        Plain-language notes for the summary and the manifest.
    extra_tables : dict of DataFrame
        Further plan tables added by optional features (projection, feeder links, ...),
        saved next to the core tables under their key as file stem.
    values : dict
        The MILP's variable values at the plan, by variable name: a start for the same
        scenario under a larger budget (:func:`planner.plan.variants.solve_variants`).
    """

    scenario_name: str
    assignments: pd.DataFrame
    projects: pd.DataFrame
    flows: pd.DataFrame
    exchange_list: pd.DataFrame
    hires: pd.DataFrame
    costs: dict[str, float]
    solver: SolverRecord
    objective_terms: dict[str, float]
    before: Assessment
    after: Assessment
    after_county: County
    distance_method: str = "network"
    notes: list[str] = field(default_factory=list)
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The plan's tables by file stem."""
        return {
            "assignments": self.assignments,
            "projects": self.projects,
            "teacher_flows": self.flows,
            "exchange_list": self.exchange_list,
            "hires": self.hires,
            **self.extra_tables,
        }

    def save(self, out_dir: Path) -> list[Path]:
        """Write the plan tables as CSV (UTF-8 with BOM, for Excel) into ``out_dir``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.tables().items():
            paths.append(write_csv(df, out_dir / f"{name}.csv"))
        return paths


def _classes_needed(pupils: float, limit: float) -> int:
    return math.ceil(pupils / limit - 1e-9) if pupils > 0 else 0


def apply_plan(
    county: County,
    assignments: pd.DataFrame,
    projects: pd.DataFrame,
    exchange_list: pd.DataFrame,
    hires: pd.DataFrame,
    new_schools: pd.DataFrame,
    class_limit: dict[str, float],
) -> County:
    """The county after the plan.

    Parameters
    ----------
    county : County
        Before the plan.
    assignments : DataFrame
        settlement_id, stage, school_id (new catchment school).
    projects : DataFrame
        kind (expansion, equipment, multimedia, music_room, art_room), school_id,
        quantity, plus ``added_classrooms``, ``added_floor_area_m2``,
        ``added_sports_area_m2`` for expansions.
    exchange_list : DataFrame
        teacher_id, to_school_id.
    hires : DataFrame
        school_id, stage, pe_art, count.
    new_schools : DataFrame
        Opened sites: school_id, name_zh, township_id, kind (primary/junior/nine_year),
        lon, lat, geometry, classrooms, floor_area_m2, sports_area_m2,
        equipment_value_yuan, multimedia_rooms, music_rooms, art_rooms.
    class_limit : dict
        Stage -> class-size limit, used to form classes.

    Notes
    -----
    Classes after the plan: a school whose pupils and classrooms are unchanged keeps its
    classes; otherwise each stage forms ⌈pupils / limit⌉ classes, but never more than its
    classrooms allow (when a school is still short of classrooms its classes stay larger
    than the limit, and the assessment reports it). Staff change by teachers moved and
    recruited.
    """
    schools = county.schools.copy()
    settlements = county.settlements.copy()
    teachers = county.teachers.copy()

    # --- new schools
    if len(new_schools):
        nearest = []
        for geom in new_schools.geometry:
            d = settlements.geometry.distance(geom)
            nearest.append(str(d.idxmin()))
        add = new_schools.copy()
        add["settlement_id"] = nearest
        add["ownership"] = "public"
        add["is_boarding"] = False
        for col in ("boarding_places", "pupils_primary", "pupils_junior", "classes_primary", "classes_junior",
                    "staff_total"):  # fmt: skip
            add[col] = 0
        add["music_rooms_area_m2"] = add["music_rooms"] * MUSIC_ROOM_M2
        add["art_rooms_area_m2"] = add["art_rooms"] * ART_ROOM_M2
        add = gpd.GeoDataFrame(add[list(schools.columns)], geometry="geometry", crs=schools.crs)
        add.index = add["school_id"]
        schools = pd.concat([schools, add])
        schools.index.name = "school_id"

    before_rooms = schools["classrooms"].copy()
    # --- projects
    for p in projects.itertuples(index=False):
        sid = p.school_id
        if sid not in schools.index or p.kind == "new_school":
            continue
        if p.kind == "expansion":
            schools.loc[sid, "classrooms"] += int(p.added_classrooms)
            schools.loc[sid, "floor_area_m2"] += float(p.added_floor_area_m2)
            schools.loc[sid, "sports_area_m2"] += float(p.added_sports_area_m2)
        elif p.kind == "equipment":
            schools.loc[sid, "equipment_value_yuan"] += float(p.quantity)
        elif p.kind == "multimedia":
            schools.loc[sid, "multimedia_rooms"] += int(p.quantity)
        elif p.kind == "music_room":
            schools.loc[sid, "music_rooms"] += int(p.quantity)
            schools.loc[sid, "music_rooms_area_m2"] += int(p.quantity) * MUSIC_ROOM_M2
        elif p.kind == "art_room":
            schools.loc[sid, "art_rooms"] += int(p.quantity)
            schools.loc[sid, "art_rooms_area_m2"] += int(p.quantity) * ART_ROOM_M2

    # --- catchments and enrolment
    catch = schools["ownership"].eq("public") & schools["kind"].ne("special")
    for stage in ("primary", "junior"):
        col = f"school_{stage}_id"
        a = assignments[assignments["stage"] == stage].set_index("settlement_id")["school_id"]
        settlements.loc[a.index, col] = a.to_numpy()
        pupils = settlements.groupby(col)[f"pupils_{stage}"].sum()
        new_pupils = schools.index.to_series().map(pupils).fillna(0).astype(int)
        schools.loc[catch, f"pupils_{stage}"] = new_pupils[catch].to_numpy()

    # --- classes
    old = county.schools
    for sid in schools.index:
        row = schools.loc[sid]
        unchanged = (
            sid in old.index
            and int(row["classrooms"]) == int(before_rooms.get(sid, -1))
            and int(row["pupils_primary"]) == int(old.loc[sid, "pupils_primary"])
            and int(row["pupils_junior"]) == int(old.loc[sid, "pupils_junior"])
        )
        if unchanged:
            continue
        need = {s: _classes_needed(float(row[f"pupils_{s}"]), class_limit[s]) for s in ("primary", "junior")}
        rooms = int(row["classrooms"])
        total_need = need["primary"] + need["junior"]
        for s in ("primary", "junior"):
            if total_need <= rooms or need[s] == 0:
                classes = need[s]
            else:
                share = rooms * need[s] / total_need
                before = int(old.loc[sid, f"classes_{s}"]) if sid in old.index else 0
                classes = max(1, min(need[s], max(math.floor(share), before)))
            schools.loc[sid, f"classes_{s}"] = classes

    # --- teachers
    if len(exchange_list):
        moves = exchange_list.set_index("teacher_id")["to_school_id"]
        teachers.loc[moves.index, "school_id"] = moves.to_numpy()
        teachers.loc[moves.index, "years_at_school"] = 0
    if len(hires):
        rows = []
        for h in hires.itertuples(index=False):
            for n in range(int(h.count)):
                rows.append(
                    {"teacher_id": f"NEW-{h.school_id}-{h.stage[0].upper()}{'P' if h.pe_art else 'Q'}{n + 1:02d}",
                     "school_id": h.school_id, "stage": h.stage, "education": "bachelor", "backbone_level": "none",
                     "subject": "pe" if h.pe_art else "other", "years_at_school": 0}
                )  # fmt: skip
        new = pd.DataFrame(rows)
        new.index = pd.Index(new["teacher_id"], name=teachers.index.name)
        teachers = pd.concat([teachers, new[list(teachers.columns)]])
    counts_before = county.teachers.groupby("school_id").size()
    counts_after = teachers.groupby("school_id").size()
    delta = counts_after.sub(counts_before, fill_value=0).astype(int)
    for sid, d in delta.items():
        if d and sid in schools.index:
            schools.loc[sid, "staff_total"] = max(
                int(schools.loc[sid, "staff_total"]) + int(d), int(counts_after.get(sid, 0))
            )
    for col in ("pupils_primary", "pupils_junior", "classes_primary", "classes_junior", "classrooms",
                "staff_total", "multimedia_rooms", "music_rooms", "art_rooms", "boarding_places"):  # fmt: skip
        schools[col] = schools[col].astype(np.int64)
    return replace(county, schools=schools, settlements=settlements, teachers=teachers)
