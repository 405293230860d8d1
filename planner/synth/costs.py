"""Unit costs, budgets, standard new-school designs, candidate sites and expansion options.

Unit costs are derived from the figures in DOMAIN.md §3 (seeds 000-002) and are
documented with their derivation in ``geodata/README.md``:

- multimedia set: 兰考 spent 65 million yuan on 1,670 classroom sets, 38,922 yuan a set -> 39,000;
- building: 3,300 yuan/m² of gross floor area (county-level frame construction with fit-out,
  Henan 2023, in the 3,000-3,500 range); teaching and auxiliary rooms are 60% of a new
  school's gross floor area (the rest: canteen, dormitories, offices, corridors);
- a new school place then costs about 40,000 yuan before land and about 50,000 with county-seat
  land, against 90,000 in 济源 (720 million yuan / 7,980 places, a prefecture-level city with
  dearer land and building) and 75 million yuan a school in seed 001 篇2 (300 million / 4 schools).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point

from planner.synth.profile import CountyProfile

UNIT_COSTS: dict[str, float] = {
    "building_yuan_per_m2": 3300.0,
    "sports_ground_yuan_per_m2": 350.0,
    "equipment_yuan_per_yuan": 1.0,
    "multimedia_room_yuan": 39000.0,
    "music_room_yuan": 150000.0,
    "art_room_yuan": 80000.0,
    "teacher_hire_yuan_per_year": 96000.0,
    "rotation_allowance_yuan_per_year": 12000.0,
}
#: Teaching and auxiliary rooms as a share of a new school's gross floor area.
TEACHING_SHARE_OF_GROSS = 0.60
#: Design, supervision, site works and fees on top of construction (工程建设其他费用).
OVERHEAD = 0.10
#: Per class of a new design: teaching floor m², sports m², equipment yuan, pupils per class.
DESIGN_PER_CLASS = {
    "primary": {"floor": 240.0, "sports": 380.0, "equipment": 45 * 2300.0, "pupils": 45},
    "junior": {"floor": 330.0, "sports": 560.0, "equipment": 50 * 2900.0, "pupils": 50},
}
#: New-school designs (option id, stage, primary classes, junior classes).
DESIGNS = (
    ("P24", "primary", 24, 0), ("P36", "primary", 36, 0), ("P48", "primary", 48, 0),
    ("J24", "junior", 0, 24), ("J36", "junior", 0, 36), ("J48", "junior", 0, 48),
    ("N36", "nine_year", 24, 12), ("N54", "nine_year", 36, 18),
)  # fmt: skip
#: Capital budget of the 3-year programme and the recurrent budget for hires and rotation, at scale 1.
CAPITAL_BUDGET_YUAN = 300_000_000.0
RECURRENT_BUDGET_YUAN_PER_YEAR = 12_000_000.0


def building_cost(floor_m2: float) -> float:
    """Construction cost of ``floor_m2`` of teaching and auxiliary rooms (gross floor built), yuan."""
    return floor_m2 / TEACHING_SHARE_OF_GROSS * UNIT_COSTS["building_yuan_per_m2"]


def new_school_options() -> list[dict[str, Any]]:
    """The standard designs of ``parameters.yaml`` with areas, rooms, equipment and cost (land excluded)."""
    out = []
    for oid, stage, cp, cj in DESIGNS:
        p, j = DESIGN_PER_CLASS["primary"], DESIGN_PER_CLASS["junior"]
        classes = cp + cj
        floor = cp * p["floor"] + cj * j["floor"]
        sports = cp * p["sports"] + cj * j["sports"]
        equipment = cp * p["equipment"] + cj * j["equipment"]
        mm = classes + math.ceil(classes / 6)
        music = art = math.ceil(classes / 12)
        cost = (
            building_cost(floor)
            + sports * UNIT_COSTS["sports_ground_yuan_per_m2"]
            + equipment
            + mm * UNIT_COSTS["multimedia_room_yuan"]
            + music * UNIT_COSTS["music_room_yuan"]
            + art * UNIT_COSTS["art_room_yuan"]
        ) * (1 + OVERHEAD)
        out.append({
            "option_id": oid, "stage": stage, "classes": classes, "floor_area_m2": floor, "sports_area_m2": sports,
            "multimedia_rooms": mm, "music_rooms": music, "art_rooms": art, "equipment_value_yuan": equipment,
            "cost_yuan": float(round(cost, -4)),
        })  # fmt: skip
    return out


def design_places(option: dict[str, Any]) -> int:
    """Pupil places of a design at the standard class sizes (45 primary, 50 junior)."""
    cid = option["option_id"]
    _, _, cp, cj = next(d for d in DESIGNS if d[0] == cid)
    return cp * 45 + cj * 50


#: illustrative funding shares of a generated county (central / provincial transfers, county match)
FUNDING_SHARES: tuple[tuple[str, float], ...] = (("中央财政", 0.4), ("省级财政", 0.3), ("县级财政", 0.3))


def parameters_dict(profile: CountyProfile, data_source: str) -> dict[str, Any]:
    """Content of ``parameters.yaml`` (see :mod:`planner.parameters`)."""
    return {
        "county": {"adcode": profile.adcode, "name_zh": profile.name_zh, "name_en": profile.name_en,
                   "province_zh": profile.province_zh, "city_zh": profile.city_zh},
        "synthetic": True,
        "data_source": data_source,
        "datum": "wgs84",
        "budget": {"capital_yuan": float(round(CAPITAL_BUDGET_YUAN * profile.factor, -6)),
                   "recurrent_yuan_per_year": float(round(RECURRENT_BUDGET_YUAN_PER_YEAR * profile.factor, -5))},
        "issuer": {"unit_zh": f"{profile.name_zh}教育体育局"},
        "funding": [{"source_zh": k, "share": v} for k, v in FUNDING_SHARES],
        "unit_costs": dict(UNIT_COSTS),
        "new_school_options": new_school_options(),
    }  # fmt: skip


# --------------------------------------------------------------------------- candidate sites


def candidate_sites(
    st: pd.DataFrame,
    townships: pd.DataFrame,
    polys: list[Any],
    seat: NDArray[np.float64],
    r_urban: float,
    profile: CountyProfile,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Land parcels for new schools: on the county seat's fringe and in the largest town seats.

    Returns site_id, name_zh, township_id, stage, land_area_m2, max_classes, land_cost_yuan,
    x, y and ``access`` (index of the settlement its access road joins).
    """
    from planner.synth.geo import farthest_points, sample_in

    inner = {tid: p.buffer(-80.0) for tid, p in zip(townships["township_id"], polys, strict=True)}
    rows: list[dict[str, Any]] = []
    sub = townships[townships["kind"] == "subdistrict"]
    fringe = shapely.union_all([inner[t] for t in sub["township_id"]]).intersection(
        Point(seat).buffer(r_urban * 1.3).difference(Point(seat).buffer(r_urban * 0.75))
    )
    cand = sample_in(fringe, 600, rng) if not fringe.is_empty else np.zeros((0, 2))
    seat_stages = ("primary", "junior", "primary", "nine_year")
    for i, j in enumerate(farthest_points(cand, profile.n_candidate_sites_seat) if len(cand) else []):
        x, y = cand[j]
        tid = next(t for t in sub["township_id"] if shapely.contains_xy(inner[t], x, y))
        ang = np.degrees(np.arctan2(y - seat[1], x - seat[0])) % 360
        side = ("城东", "城北", "城西", "城南")[int(((ang + 45) % 360) // 90)]
        rows.append(_site(rows, tid, f"{side}新区{i + 1}号地块", seat_stages[i % 4], x, y, True, rng))
    towns = townships[townships["kind"] == "town"]
    town_pop = st[st["area_type"] == "town"].groupby("township_id")["population"].sum()
    big = town_pop.reindex(towns["township_id"]).fillna(0).sort_values(ascending=False, kind="stable").index
    town_stages = ("primary", "junior", "nine_year", "primary")
    tname = dict(zip(townships["township_id"], townships["name_zh"], strict=True))
    for i in range(min(profile.n_candidate_sites_town, len(big))):
        tid = big[i]
        sx, sy = towns.loc[towns["township_id"] == tid, ["seat_x", "seat_y"]].to_numpy()[0]
        ring = inner[tid].intersection(Point(sx, sy).buffer(900).difference(Point(sx, sy).buffer(350)))
        if ring.is_empty:
            continue
        x, y = sample_in(ring, 1, rng)[0]
        rows.append(_site(rows, tid, f"{tname[tid]}镇区地块", town_stages[i % 4], x, y, False, rng))
    df = pd.DataFrame(rows)
    if len(df) == 0:
        return pd.DataFrame(
            columns=[
                "site_id",
                "name_zh",
                "township_id",
                "stage",
                "land_area_m2",
                "max_classes",
                "land_cost_yuan",
                "x",
                "y",
                "access",
            ]
        )
    sxy = st[["x", "y"]].to_numpy()
    access = []
    for r in df.itertuples(index=False):
        same = np.flatnonzero(st["township_id"].to_numpy() == r.township_id)
        access.append(int(same[np.argmin(np.hypot(sxy[same, 0] - r.x, sxy[same, 1] - r.y))]))
    df["access"] = access
    df.insert(0, "site_id", [f"C{i + 1:02d}" for i in range(len(df))])
    return df


def _site(
    rows: list[dict[str, Any]],
    tid: str,
    name: str,
    stage: str,
    x: float,
    y: float,
    urban: bool,
    rng: np.random.Generator,
) -> dict[str, Any]:
    max_classes = {"primary": (36, 24), "junior": (36, 30), "nine_year": (54, 36)}[stage][0 if urban else 1]
    per_class = {"primary": (750, 900), "junior": (850, 1000), "nine_year": (800, 950)}[stage]
    land = round(max_classes * rng.uniform(*per_class), -1)
    price = rng.uniform(480, 650) if urban else rng.uniform(150, 260)
    del rows
    return {
        "name_zh": name,
        "township_id": tid,
        "stage": stage,
        "land_area_m2": float(land),
        "max_classes": max_classes,
        "land_cost_yuan": float(round(land * price, -4)),
        "x": x,
        "y": y,
    }


# --------------------------------------------------------------------------- expansion options


def expansion_options(sch: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One or two ways to expand each crowded or under-built public school, priced from the unit costs."""
    rows = []
    for r in sch.itertuples(index=False):
        if r.ownership != "public" or r.kind in ("special", "teaching_point") or r.ctx == "village":
            continue
        pupils = r.pupils_primary + r.pupils_junior
        if pupils == 0:
            continue
        std_floor = 4.5 * r.pupils_primary + 5.8 * r.pupils_junior
        std_sports = 7.5 * r.pupils_primary + 10.2 * r.pupils_junior
        urban = r.ctx in ("urban", "urban_junior", "urban_nine")
        crowded = (r.classes_primary and r.pupils_primary / r.classes_primary > 45) or (
            r.classes_junior and r.pupils_junior / r.classes_junior > 50
        )
        if r.floor_area_m2 < std_floor or crowded:
            rooms = int(rng.choice([12, 18, 24])) if urban else int(rng.choice([6, 8, 12]))
            floor = float(round(rooms * rng.uniform(140, 160), -1))
            rows.append(
                {
                    "school_id": r.school_id,
                    "description_zh": f"新建教学综合楼（{rooms}间普通教室）",
                    "added_classrooms": rooms,
                    "added_floor_area_m2": floor,
                    "added_sports_area_m2": 0.0,
                    "cost_yuan": float(round(building_cost(floor) * (1 + OVERHEAD), -4)),
                }
            )
        if r.sports_area_m2 < std_sports:
            if urban:  # no land for a field: an indoor sports hall on the existing site
                hall = float(round(rng.uniform(1200, 2000), -1))
                cost = building_cost(hall) * TEACHING_SHARE_OF_GROSS * (1 + OVERHEAD)
                rows.append(
                    {
                        "school_id": r.school_id,
                        "description_zh": "新建风雨操场（室内体育馆）",
                        "added_classrooms": 0,
                        "added_floor_area_m2": 0.0,
                        "added_sports_area_m2": hall,
                        "cost_yuan": float(round(cost, -4)),
                    }
                )
            else:
                field = float(round(min(std_sports - r.sports_area_m2 + 500, 8000) * rng.uniform(0.8, 1.1), -1))
                cost = field * UNIT_COSTS["sports_ground_yuan_per_m2"] * (1 + OVERHEAD)
                rows.append(
                    {
                        "school_id": r.school_id,
                        "description_zh": "扩建运动场（塑胶跑道、球场）",
                        "added_classrooms": 0,
                        "added_floor_area_m2": 0.0,
                        "added_sports_area_m2": field,
                        "cost_yuan": float(round(cost, -4)),
                    }
                )
    df = pd.DataFrame(
        rows,
        columns=[
            "school_id",
            "description_zh",
            "added_classrooms",
            "added_floor_area_m2",
            "added_sports_area_m2",
            "cost_yuan",
        ],
    )
    df.insert(0, "option_id", [f"E{i + 1:03d}" for i in range(len(df))])
    return df
