"""Hand-made plan instances (ModelInputs) small enough to enumerate."""

from __future__ import annotations

import pandas as pd
import pulp

from planner.model.inputs import INDICATORS, ModelInputs

# per-pupil standards (national, DOMAIN.md §1.1)
STANDARD = {
    "primary": {"above_required": 0.042, "backbone": 0.010, "pe_art": 0.009, "floor_area": 4.5, "sports_area": 7.5,
                "equipment": 2000.0, "multimedia": 0.023},
    "junior": {"above_required": 0.053, "backbone": 0.010, "pe_art": 0.009, "floor_area": 5.8, "sports_area": 10.2,
               "equipment": 2500.0, "multimedia": 0.024},
}  # fmt: skip

UNIT_COSTS = {
    "multimedia_room_yuan": 39_000.0,
    "music_room_yuan": 150_000.0,
    "art_room_yuan": 120_000.0,
    "equipment_yuan_per_yuan": 1.0,
    "teacher_hire_yuan_per_year": 90_000.0,
    "rotation_allowance_yuan_per_year": 12_000.0,
}


def standard_frame() -> pd.DataFrame:
    rows = [{"stage": s, "indicator": k, "per_pupil": STANDARD[s][k]} for s in STANDARD for k in INDICATORS]
    return pd.DataFrame(rows).set_index(["stage", "indicator"])


def tiny_primary(capital_budget_yuan: float = 30_000_000.0, cv_max: float = 10.0) -> ModelInputs:
    """Five settlements, two primary schools (A crowded, B roomy), two candidate sites.

    Resources are generous except floor and sports area at A, so what the plan can buy
    (an expansion of A, a new school) and where pupils go decide the objective.
    """
    units = pd.DataFrame(
        [
            # A: 10 classrooms (450 places), short of floor area for its 600 pupils
            {"unit_id": "A", "kind": "primary", "is_new": False, "public": True, "nine_year": False, "boarding": False,
             "classrooms": 10, "floor_area": 2400.0, "sports_area": 4000.0, "equipment": 1.5e6, "multimedia": 20,
             "music_rooms": 1, "art_rooms": 1, "land_cost_yuan": 0.0, "site_stage": "", "max_classes": 0},
            {"unit_id": "B", "kind": "primary", "is_new": False, "public": True, "nine_year": False, "boarding": False,
             "classrooms": 12, "floor_area": 2000.0, "sports_area": 3200.0, "equipment": 1.0e6, "multimedia": 12,
             "music_rooms": 1, "art_rooms": 1, "land_cost_yuan": 0.0, "site_stage": "", "max_classes": 0},
            {"unit_id": "S1", "kind": "site", "is_new": True, "public": True, "nine_year": False, "boarding": False,
             "classrooms": 0, "floor_area": 0.0, "sports_area": 0.0, "equipment": 0.0, "multimedia": 0,
             "music_rooms": 0, "art_rooms": 0, "land_cost_yuan": 2e6, "site_stage": "primary", "max_classes": 12},
            {"unit_id": "S2", "kind": "site", "is_new": True, "public": True, "nine_year": False, "boarding": False,
             "classrooms": 0, "floor_area": 0.0, "sports_area": 0.0, "equipment": 0.0, "multimedia": 0,
             "music_rooms": 0, "art_rooms": 0, "land_cost_yuan": 1e6, "site_stage": "primary", "max_classes": 6},
        ]
    ).set_index("unit_id", drop=False)  # fmt: skip
    parts = pd.DataFrame(
        [
            {"unit_id": "A", "stage": "primary", "pupils": 600.0, "fixed_pupils": float("nan"), "included": True,
             "teachers": 40, "above_required": 40, "backbone": 10, "pe_art": 8},
            {"unit_id": "B", "stage": "primary", "pupils": 200.0, "fixed_pupils": float("nan"), "included": True,
             "teachers": 20, "above_required": 20, "backbone": 5, "pe_art": 4},
            {"unit_id": "S1", "stage": "primary", "pupils": 0.0, "fixed_pupils": float("nan"), "included": True,
             "teachers": 0, "above_required": 0, "backbone": 0, "pe_art": 0},
            {"unit_id": "S2", "stage": "primary", "pupils": 0.0, "fixed_pupils": float("nan"), "included": True,
             "teachers": 0, "above_required": 0, "backbone": 0, "pe_art": 0},
        ]
    ).set_index(["unit_id", "stage"])  # fmt: skip
    demand = pd.DataFrame(
        [
            {"settlement_id": "v1", "stage": "primary", "pupils": 250, "current_unit": "A"},
            {"settlement_id": "v2", "stage": "primary", "pupils": 200, "current_unit": "A"},
            {"settlement_id": "v3", "stage": "primary", "pupils": 150, "current_unit": "A"},
            {"settlement_id": "v4", "stage": "primary", "pupils": 120, "current_unit": "B"},
            {"settlement_id": "v5", "stage": "primary", "pupils": 80, "current_unit": "B"},
        ]
    )
    arcs = pd.DataFrame(
        [
            ("v1", "A", 5), ("v1", "S1", 12),
            ("v2", "A", 8), ("v2", "B", 20), ("v2", "S1", 10),
            ("v3", "A", 10), ("v3", "B", 14), ("v3", "S2", 6),
            ("v4", "B", 6), ("v4", "S2", 15),
            ("v5", "B", 9),
        ],
        columns=["settlement_id", "unit_id", "time_min"],
    )  # fmt: skip
    arcs["stage"] = "primary"
    arcs["distance_m"] = arcs["time_min"] * 70.0
    site_options = pd.DataFrame(
        [
            {"site_id": "", "option_id": "P6", "stage": "primary", "classes": 6, "floor_area": 1500.0, "sports_area": 2500.0,  # noqa: E501
             "equipment": 6e5, "multimedia": 7, "music_rooms": 1, "art_rooms": 1, "cost_yuan": 9e6},
            {"site_id": "", "option_id": "P12", "stage": "primary", "classes": 12, "floor_area": 3000.0, "sports_area": 5000.0,  # noqa: E501
             "equipment": 1.2e6, "multimedia": 13, "music_rooms": 1, "art_rooms": 1, "cost_yuan": 16e6},
        ]
    )  # fmt: skip
    expansions = pd.DataFrame(
        [
            {
                "option_id": "EA",
                "unit_id": "A",
                "added_classrooms": 4,
                "floor_area": 1000.0,
                "sports_area": 0.0,
                "cost_yuan": 5e6,
            }
        ]
    )
    return ModelInputs(
        standard=standard_frame(),
        rule_floor=0.85,
        rule_min_met=6,
        cv_max={"primary": cv_max, "junior": cv_max},
        class_limit={"primary": 45, "junior": 50},
        size_limit={"single": 2000, "nine_year": 2500},
        staffing_norm={"primary": 19, "junior": 13.5},
        units=units,
        parts=parts,
        demand=demand,
        arcs=arcs,
        site_options=site_options,
        expansions=expansions,
        teacher_types=pd.DataFrame(
            columns=["unit_id", "stage", "type_id", "count", "above_required", "backbone", "pe_art", "eligible"]
        ),
        hire_types=pd.DataFrame(columns=["type_id", "above_required", "backbone", "pe_art"]),
        unit_costs=UNIT_COSTS,
        capital_budget_yuan=capital_budget_yuan,
        recurrent_budget_yuan=0.0,
        school_times=pd.DataFrame(columns=["from_unit", "to_unit", "time_min"]),
    )


def two_school_teachers(eligible_backbone_a: int = 4, cap_min: float = 90.0) -> ModelInputs:
    """Primary schools A (strong, many backbone teachers) and B (weak, none), 20 min apart.

    B has 400 pupils and no backbone teacher (needs 4); A has 400 pupils and 8 backbone
    teachers, ``eligible_backbone_a`` of them eligible to rotate. Both schools have 21
    teachers: A has 10 eligible non-backbone above_required teachers too; B has 6.
    """
    inp = tiny_primary(capital_budget_yuan=0.0)
    units = inp.units.loc[["A", "B"]].copy()
    units["floor_area"] = 5000.0
    units["sports_area"] = 8000.0
    units["equipment"] = 1e6
    units["multimedia"] = 12
    units["classrooms"] = 12
    parts = pd.DataFrame(
        [
            {"unit_id": "A", "stage": "primary", "pupils": 400.0, "fixed_pupils": float("nan"), "included": True,
             "teachers": 21, "above_required": 21, "backbone": 8, "pe_art": 4},
            {"unit_id": "B", "stage": "primary", "pupils": 400.0, "fixed_pupils": float("nan"), "included": True,
             "teachers": 21, "above_required": 21, "backbone": 0, "pe_art": 4},
        ]
    ).set_index(["unit_id", "stage"])  # fmt: skip
    demand = pd.DataFrame(
        [
            {"settlement_id": "v1", "stage": "primary", "pupils": 400, "current_unit": "A"},
            {"settlement_id": "v2", "stage": "primary", "pupils": 400, "current_unit": "B"},
        ]
    )
    arcs = pd.DataFrame(
        [("v1", "primary", "A", 5.0, 350.0), ("v2", "primary", "B", 5.0, 350.0)],
        columns=["settlement_id", "stage", "unit_id", "time_min", "distance_m"],
    )
    types = pd.DataFrame(
        [
            {"unit_id": "A", "stage": "primary", "type_id": "p-QB-e", "count": eligible_backbone_a, "above_required": 1,
             "backbone": 1, "pe_art": 0, "eligible": True},
            {"unit_id": "A", "stage": "primary", "type_id": "p-Q-e", "count": 10, "above_required": 1, "backbone": 0,
             "pe_art": 0, "eligible": True},
            {"unit_id": "B", "stage": "primary", "type_id": "p-Q-e", "count": 6, "above_required": 1, "backbone": 0,
             "pe_art": 0, "eligible": True},
        ]
    )  # fmt: skip
    times = pd.DataFrame([("A", "B", 20.0), ("B", "A", 20.0)], columns=["from_unit", "to_unit", "time_min"])
    from dataclasses import replace

    return replace(
        inp,
        units=units,
        parts=parts,
        demand=demand,
        arcs=arcs,
        site_options=inp.site_options.iloc[0:0],
        expansions=inp.expansions.iloc[0:0],
        teacher_types=types,
        hire_types=pd.DataFrame(
            [
                {"type_id": "hire-Q", "above_required": 1, "backbone": 0, "pe_art": 0},
                {"type_id": "hire-QP", "above_required": 1, "backbone": 0, "pe_art": 1},
            ]
        ),
        recurrent_budget_yuan=1e6,
        school_times=times[times["time_min"] <= cap_min],
    )


def violations(prob: pulp.LpProblem, tol: float = 1e-6) -> list[str]:
    """Bounds, integrality and rows the variables' values break (empty: a feasible solution)."""
    bad = []
    for v in prob.variables():
        x = v.varValue
        if x is None:
            bad.append(f"{v.name}: no value")
            continue
        if (v.lowBound is not None and x < v.lowBound - tol) or (v.upBound is not None and x > v.upBound + tol):
            bad.append(f"{v.name}={x} outside [{v.lowBound}, {v.upBound}]")
        if v.cat == pulp.LpInteger and abs(x - round(x)) > tol:
            bad.append(f"{v.name}={x} not integral")
    for name, c in prob.constraints.items():
        lhs = sum(coef * (v.varValue or 0.0) for v, coef in c.items()) + c.constant
        scale = max(1.0, abs(c.constant))
        if c.sense == pulp.LpConstraintLE and lhs > tol * scale:
            bad.append(f"{name}: {lhs} > 0")
        elif c.sense == pulp.LpConstraintGE and lhs < -tol * scale:
            bad.append(f"{name}: {lhs} < 0")
        elif c.sense == pulp.LpConstraintEQ and abs(lhs) > tol * scale:
            bad.append(f"{name}: {lhs} != 0")
    return bad
