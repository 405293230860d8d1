"""A tiny, hand-made, valid county folder for tests.

Square county of 0.1° × 0.1° near Queshan, two townships (west, east), six settlements,
six schools (a primary school, a teaching point, a junior school, a nine-year school, a
private primary school, a special school), a cross of two roads, a few teachers, one
candidate site and one expansion option. Every number is chosen so the data contract's
rules hold; tests copy the folder and break one rule at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import yaml
from shapely.geometry import LineString, box

from planner.schema import AGE_FIELDS

WEST, EAST, SOUTH, NORTH = 113.95, 114.05, 32.75, 32.85

PARAMETERS = {
    "county": {"adcode": "999001", "name_zh": "测试县", "name_en": "Test County"},
    "synthetic": True,
    "data_source": "hand-made test county",
    "datum": "wgs84",
    "budget": {"capital_yuan": 50_000_000, "recurrent_yuan_per_year": 2_000_000},
    "unit_costs": {
        "building_yuan_per_m2": 3200,
        "sports_ground_yuan_per_m2": 300,
        "multimedia_room_yuan": 39000,
        "music_room_yuan": 150000,
        "art_room_yuan": 120000,
        "teacher_hire_yuan_per_year": 90000,
        "rotation_allowance_yuan_per_year": 12000,
    },
    "new_school_options": [
        {
            "option_id": "P24",
            "stage": "primary",
            "classes": 24,
            "floor_area_m2": 6000,
            "sports_area_m2": 9000,
            "multimedia_rooms": 26,
            "music_rooms": 2,
            "art_rooms": 2,
            "equipment_value_yuan": 2_400_000,
            "cost_yuan": 60_000_000,
        }
    ],
}


def _ages(primary: int, junior: int, young: int) -> dict[str, int]:
    """Spread children over single years so ages 6-11 hold ≥ primary and 12-14 ≥ junior."""
    out = {}
    for f in AGE_FIELDS:
        a = int(f.name.split("_")[1])
        if a < 6:
            out[f.name] = young
        elif a < 12:
            out[f.name] = -(-primary // 6)
        else:
            out[f.name] = -(-junior // 3)
    return out


SETTLEMENTS = [
    # id, name, township, kind, area_type, lon, lat, population, primary, junior, school_p, school_j
    ("V1", "东街社区", "T2", "neighbourhood", "urban", 114.010, 32.801, 4000, 300, 150, "P1", "J1"),
    ("V2", "西街社区", "T1", "neighbourhood", "urban", 113.990, 32.799, 3000, 200, 100, "P1", "J1"),
    ("V3", "张庄村", "T1", "village", "rural", 113.960, 32.801, 800, 30, 20, "TP1", "N1"),
    ("V4", "李庄村", "T2", "village", "rural", 114.040, 32.802, 900, 60, 30, "N1", "N1"),
    ("V5", "王岗村", "T2", "village", "rural", 114.001, 32.830, 700, 40, 25, "N1", "J1"),
    ("V6", "赵湾村", "T1", "village", "rural", 113.999, 32.770, 600, 0, 0, "", ""),
]

SCHOOLS = [
    # id, name, township, settlement, kind, ownership, boarding, places, lon, lat,
    # pupils_p, pupils_j, classes_p, classes_j, classrooms, staff,
    # floor, sports, equipment, multimedia, music, music_area, art, art_area
    (
        "P1",
        "城关小学",
        "T2",
        "V1",
        "primary",
        "public",
        False,
        0,
        114.0105,
        32.8012,
        500,
        0,
        10,
        0,
        12,
        30,
        2000.0,
        3000.0,
        900000.0,
        11,
        1,
        100.0,
        1,
        92.0,
    ),
    (
        "TP1",
        "张庄教学点",
        "T1",
        "V3",
        "teaching_point",
        "public",
        False,
        0,
        113.9605,
        32.8012,
        30,
        0,
        3,
        0,
        3,
        3,
        300.0,
        800.0,
        50000.0,
        1,
        0,
        0.0,
        0,
        0.0,
    ),
    (
        "J1",
        "城关初中",
        "T2",
        "V1",
        "junior",
        "public",
        True,
        200,
        114.0095,
        32.8008,
        0,
        275,
        0,
        6,
        8,
        28,
        1800.0,
        3000.0,
        800000.0,
        7,
        1,
        96.0,
        1,
        90.0,
    ),
    (
        "N1",
        "李庄九年一贯制学校",
        "T2",
        "V4",
        "nine_year",
        "public",
        False,
        0,
        114.0395,
        32.8018,
        100,
        50,
        6,
        3,
        10,
        20,
        900.0,
        1500.0,
        300000.0,
        4,
        1,
        96.0,
        1,
        90.0,
    ),
    (
        "R1",
        "育才民办小学",
        "T1",
        "V2",
        "primary",
        "private",
        False,
        0,
        113.9905,
        32.7992,
        120,
        0,
        4,
        0,
        6,
        9,
        500.0,
        800.0,
        250000.0,
        3,
        1,
        96.0,
        1,
        90.0,
    ),
    (
        "X1",
        "特殊教育学校",
        "T1",
        "V2",
        "special",
        "public",
        True,
        40,
        113.9895,
        32.7988,
        20,
        10,
        3,
        1,
        4,
        12,
        600.0,
        400.0,
        200000.0,
        2,
        1,
        96.0,
        1,
        90.0,
    ),
]

TEACHERS = [
    # school, stage, education, backbone, subject, years
    ("P1", "primary", "bachelor", "county", "chinese", 8),
    ("P1", "primary", "college", "none", "math", 3),
    ("P1", "primary", "college", "none", "pe", 7),
    ("P1", "primary", "secondary", "school", "music", 12),
    ("TP1", "primary", "secondary", "none", "other", 20),
    ("J1", "junior", "bachelor", "city", "math", 10),
    ("J1", "junior", "college", "none", "english", 2),
    ("J1", "junior", "bachelor", "none", "pe", 6),
    ("N1", "primary", "college", "none", "chinese", 9),
    ("N1", "junior", "bachelor", "county", "physics", 4),
    ("N1", "junior", "master", "none", "art", 1),
    ("R1", "primary", "bachelor", "none", "english", 2),
    ("X1", "primary", "bachelor", "none", "other", 5),
]


def write_tiny_county(folder: Path) -> Path:
    """Write the tiny county into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "county.gpkg"
    gpd.GeoDataFrame(
        {"adcode": ["999001"], "name_zh": ["测试县"]}, geometry=[box(WEST, SOUTH, EAST, NORTH)], crs="EPSG:4326"
    ).to_file(gpkg, layer="boundary", driver="GPKG")
    gpd.GeoDataFrame(
        {"township_id": ["T1", "T2"], "name_zh": ["西镇", "城关街道"], "kind": ["town", "subdistrict"]},
        geometry=[box(WEST, SOUTH, 114.0, NORTH), box(114.0, SOUTH, EAST, NORTH)],
        crs="EPSG:4326",
    ).to_file(gpkg, layer="townships", driver="GPKG")
    gpd.GeoDataFrame(
        {
            "road_id": ["R1", "R2"],
            "road_class": ["county", "township"],
            "name_zh": ["东西大道", "南北路"],
            "speed_kmh": [None, None],
        },
        geometry=[LineString([(113.955, 32.80), (114.045, 32.80)]), LineString([(114.0, 32.755), (114.0, 32.845)])],
        crs="EPSG:4326",
    ).to_file(gpkg, layer="roads", driver="GPKG")

    rows = []
    for sid, name, tid, kind, area, lon, lat, pop, pp, pj, sp, sj in SETTLEMENTS:
        rows.append(
            {
                "settlement_id": sid, "name_zh": name, "township_id": tid, "kind": kind, "area_type": area,
                "lon": lon, "lat": lat, "population": pop, **_ages(pp, pj, 20),
                "pupils_primary": pp, "pupils_junior": pj, "school_primary_id": sp, "school_junior_id": sj,
            }
        )  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "settlements.csv", index=False)

    cols = [
        "school_id", "name_zh", "township_id", "settlement_id", "kind", "ownership", "is_boarding",
        "boarding_places", "lon", "lat", "pupils_primary", "pupils_junior", "classes_primary", "classes_junior",
        "classrooms", "staff_total", "floor_area_m2", "sports_area_m2", "equipment_value_yuan", "multimedia_rooms",
        "music_rooms", "music_rooms_area_m2", "art_rooms", "art_rooms_area_m2",
    ]  # fmt: skip
    pd.DataFrame(SCHOOLS, columns=cols).to_csv(folder / "schools.csv", index=False)

    pd.DataFrame(
        [
            {"teacher_id": f"TCH{i:03d}", "school_id": s, "stage": st, "education": ed, "backbone_level": bb,
             "subject": sub, "years_at_school": y}
            for i, (s, st, ed, bb, sub, y) in enumerate(TEACHERS, start=1)
        ]
    ).to_csv(folder / "teachers.csv", index=False)  # fmt: skip

    pd.DataFrame(
        [{"site_id": "C1", "name_zh": "城东地块", "township_id": "T2", "stage": "primary", "lon": 114.02,
          "lat": 32.8005, "land_area_m2": 30000.0, "max_classes": 36, "land_cost_yuan": 9_000_000}]
    ).to_csv(folder / "candidate_sites.csv", index=False)  # fmt: skip
    pd.DataFrame(
        [{"option_id": "E1", "school_id": "P1", "description_zh": "新建教学楼", "added_classrooms": 6,
          "added_floor_area_m2": 1500.0, "added_sports_area_m2": 0.0, "cost_yuan": 4_800_000}]
    ).to_csv(folder / "expansion_options.csv", index=False)  # fmt: skip

    (folder / "parameters.yaml").write_text(yaml.safe_dump(PARAMETERS, allow_unicode=True, sort_keys=False), "utf-8")
    return folder


def straight_line_travel(county, speed_kmh: float = 4.0, school_speed_kmh: float = 30.0):
    """Settlement→school/site and school↔school times on straight lines (test stand-in for the network)."""
    targets = pd.concat(
        [
            county.schools[["geometry"]].assign(unit_id=county.schools.index),
            county.candidate_sites[["geometry"]].assign(unit_id=county.candidate_sites.index),
        ]
    )
    rows = []
    for sid, s in county.settlements.iterrows():
        for stage in ("primary", "junior"):
            for t in targets.itertuples():
                d = s.geometry.distance(t.geometry)
                rows.append((sid, stage, t.unit_id, d / 1000 / speed_kmh * 60, d))
    travel = pd.DataFrame(rows, columns=["settlement_id", "stage", "unit_id", "time_min", "distance_m"])
    pairs = [
        (a.unit_id, b.unit_id, a.geometry.distance(b.geometry) / 1000 / school_speed_kmh * 60)
        for a in targets.itertuples()
        for b in targets.itertuples()
        if a.unit_id != b.unit_id
    ]
    return travel, pd.DataFrame(pairs, columns=["from_unit", "to_unit", "time_min"])


def tiny_plan(folder: Path, scenario: str = "combined", weights: dict[str, float] | None = None) -> tuple[Any, Any]:
    """The tiny county written to ``folder``/c and its plan under ``scenarios/<scenario>.yaml``.

    Travel is straight-line (the tiny county's roads are a bare cross); returns ``(county, plan)``. ``weights``
    overrides objective weights (the map tests lift the no-worse rule, ``cv_worse: 0``, to get a plan that re-zones:
    the tiny county's only re-zoning, junior V3 from N1 at 112 min to the boarding school J1 at 70 min, raises its
    two-school junior backbone CV from 0.96 to 1.41).
    """
    from planner.loader import load_county
    from planner.plan.pipeline import plan_county
    from planner.scenario import load_scenario, scenario_from_dict

    county = load_county(write_tiny_county(folder / "c"), check_network=False)
    travel, school_times = straight_line_travel(county)
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / f"{scenario}.yaml")
    if weights:
        raw = sc.model_dump()
        raw["weights"].update(weights)
        sc = scenario_from_dict(raw)
    return county, plan_county(county, sc, travel, school_times, distance_method="straight_line")
