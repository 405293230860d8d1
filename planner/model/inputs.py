"""Model inputs: the plain tables the plan MILP is built from.

:class:`ModelInputs` holds everything the optimiser needs as pandas tables with fixed
column names, so the formulation (``planner/model/*.py``) never reads a County, a
travel-time object or a standards file directly. :func:`prepare_inputs` fills it from
those; tests build tiny instances by hand.

Conventions
-----------
*unit*: an existing school (``school_id``) or a candidate site (``site_id``) where a new
school may be built. *part*: a unit's primary or junior stage. Indicator keys are
``above_required``, ``backbone``, ``pe_art`` (teacher indicators, counted per part from the
teachers of that stage) and ``floor_area``, ``sports_area``, ``equipment``, ``multimedia`` (school
resources; a nine-year school's are split between its parts by pupils, so each part's
value is the school total divided by the school's pupils).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # the adjacency module needs geopandas and scipy; the model only reads the graph
    from planner.adjacency import CatchmentGraph

TEACHER_INDICATORS: tuple[str, ...] = ("above_required", "backbone", "pe_art")
SCHOOL_INDICATORS: tuple[str, ...] = ("floor_area", "sports_area", "equipment", "multimedia")
INDICATORS: tuple[str, ...] = TEACHER_INDICATORS + SCHOOL_INDICATORS


@dataclass(frozen=True)
class ModelInputs:
    """Tables of one plan instance.

    Attributes
    ----------
    standard : DataFrame
        Index (stage, indicator); column ``per_pupil``: resource required per pupil
        (e.g. 0.042 above_required teachers, 4.5 m²).
    rule_floor : float
        Share of its standard the one missed indicator must reach (0.85).
    rule_min_met : int
        Indicators a school must meet (6 of 7).
    cv_max : dict
        Stage -> CV threshold (0.50, 0.45).
    class_limit, size_limit : dict
        Stage -> pupils per class (45, 50); unit kind -> pupils per school
        (``single``: 2000, ``nine_year``: 2500).
    staffing_norm : dict
        Stage -> pupils per teacher post (19, 13.5).
    units : DataFrame
        Index unit_id. Columns: ``kind`` (school kind, or ``site``), ``is_new`` (candidate
        site), ``public``, ``nine_year``,
        ``boarding``, ``classrooms``, ``floor_area``, ``sports_area``, ``equipment``,
        ``multimedia``, ``music_rooms``, ``art_rooms``, ``land_cost_yuan`` (sites),
        ``site_stage`` (sites: primary/junior/nine_year), ``max_classes`` (sites),
        ``area_type`` (urban/town/rural of the school's settlement; ``new`` for sites;
        optional, default town: the side of a teacher exchange).
    parts : DataFrame
        Index (unit_id, stage). Columns: ``pupils`` (current), ``fixed_pupils`` (private
        schools keep their pupils; NaN for catchment schools), ``included`` (assessed),
        ``teachers`` (current full-time teachers of the stage), ``above_required``,
        ``backbone``, ``pe_art`` (current counts).
    demand : DataFrame
        Columns settlement_id, stage, pupils, current_unit.
    arcs : DataFrame
        Allowed assignments: settlement_id, stage, unit_id, time_min, distance_m.
        Always holds the current assignment.
    site_options : DataFrame
        site_id, option_id, stage, classes, floor_area, sports_area, equipment, multimedia,
        music_rooms, art_rooms, cost_yuan.
    expansions : DataFrame
        option_id, unit_id, added_classrooms, floor_area, sports_area, cost_yuan.
    teacher_types : DataFrame
        Current teachers grouped by kind: unit_id, stage, type_id, count, above_required,
        backbone, pe_art (0/1 flags), eligible (rotation eligibility, bool), and optionally
        group_id (the indicator group) and subject (``type_id`` = ``group_id:subject``).
    hire_types : DataFrame
        type_id, above_required, backbone, pe_art: the kinds of teacher that can be recruited
        (for either stage).
    unit_costs : dict
        ``multimedia_room_yuan``, ``music_room_yuan``, ``art_room_yuan``,
        ``equipment_yuan_per_yuan``, ``teacher_hire_yuan_per_year``,
        ``rotation_allowance_yuan_per_year``.
    capital_budget_yuan, recurrent_budget_yuan : float
        Budgets of the plan.
    school_times : DataFrame
        School-to-school travel: from_unit, to_unit, time_min (for pairing rotations).
    demand_by_year : DataFrame or None
        Horizon plans only (scenario ``horizon``): settlement_id, stage, year, pupils (whole
        pupils, projected) for every year of the horizon; ``demand`` then holds the target
        year. Capacity must hold in every year (planner/model/horizon.py).
    target_year : int or None
        The year ``demand`` stands for in a horizon plan.
    catchment_graph : CatchmentGraph or None
        The settlement adjacency graph (:class:`planner.adjacency.CatchmentGraph`) the contiguity
        rule reads; set by :func:`planner.plan.instance.model_inputs` when the rule is on.
    teaching_point_min_pupils : int
        A teaching point with fewer pupils is outside the assessment (the standard's scope).
    """

    standard: pd.DataFrame
    rule_floor: float
    rule_min_met: int
    cv_max: dict[str, float]
    class_limit: dict[str, float]
    size_limit: dict[str, float]
    staffing_norm: dict[str, float]
    units: pd.DataFrame
    parts: pd.DataFrame
    demand: pd.DataFrame
    arcs: pd.DataFrame
    site_options: pd.DataFrame
    expansions: pd.DataFrame
    teacher_types: pd.DataFrame
    hire_types: pd.DataFrame
    unit_costs: dict[str, float]
    capital_budget_yuan: float
    recurrent_budget_yuan: float
    school_times: pd.DataFrame
    demand_by_year: pd.DataFrame | None = None
    target_year: int | None = None
    catchment_graph: CatchmentGraph | None = None
    teaching_point_min_pupils: int = 50

    def std(self, stage: str, indicator: str) -> float:
        """Resource required per pupil for ``indicator`` at ``stage``."""
        cache = self.__dict__.get("_std_cache")
        if cache is None:
            cache = {key: float(v) for key, v in self.standard["per_pupil"].items()}
            object.__setattr__(self, "_std_cache", cache)
        return cache[(stage, indicator)]
