"""Access report on a one-road county, every figure worked by hand.

One village road along the x axis from (0,0) to (20000,0) (metres; origin (500000, 3600000)).
Walking 4 km/h = 66.667 m/min (primary pupils), cycling 12 km/h = 200 m/min (junior pupils),
every point on the road (no access leg) except V2, 300 m north of it (walked).

Schools: P1 primary (1000,0); P2 primary (6000,0); PR private primary (3000,0), not counted as
a "nearest" school; J1 junior (2000,0); N1 nine-year (9000,0), both stages; X1 special (5000,0).

settlement  area   x, y        pupils p/j  current p/j  nearest primary (walk)       nearest junior (cycle)
V1          urban  1400, 0     100 / 50    P2 / J1      P1 400 m 6 min               J1 600 m 3 min
V2          rural  3000, 300    40 / 0     P1 / -       P1 300+2000 m 34.5 min       -
V3          rural  7400, 0      60 / 30    N1 / N1      P2 1400 m 21 min             N1 1600 m 8 min
V4          rural  15100, 0     20 / 10    N1 / N1      N1 6100 m 91.5 min           N1 6100 m 30.5 min
V5          town   19000, 0     10 / 5     N1 / N1      N1 10000 m 150 min > cutoff  N1 10000 m 50 min

Current primary times: V1→P2 4600 m 69 min; V2→P1 34.5 min; V3→N1 1600 m 24 min; V4 91.5 min;
V5→N1 150 min (kept although beyond the 120 min cutoff: it is the current school).
"""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from planner.access import AccessCaps, AccessReport, access_summary, band_labels, format_access_summary, to_zh
from planner.network import county_travel_times

CRS = "EPSG:4547"
X0, Y0 = 500_000.0, 3_600_000.0

SCHOOLS = [
    ("P1", "一小", "primary", "public", 1000),
    ("P2", "二小", "primary", "public", 6000),
    ("PR", "民办小学", "primary", "private", 3000),
    ("J1", "一中", "junior", "public", 2000),
    ("N1", "九年制学校", "nine_year", "public", 9000),
    ("X1", "特教学校", "special", "public", 5000),
]
SETTLEMENTS = [
    ("V1", "城关社区", "urban", 1400, 0, 100, 50, "P2", "J1"),
    ("V2", "张庄", "rural", 3000, 300, 40, 0, "P1", ""),
    ("V3", "李庄", "rural", 7400, 0, 60, 30, "N1", "N1"),
    ("V4", "王岗", "rural", 15100, 0, 20, 10, "N1", "N1"),
    ("V5", "镇上", "town", 19000, 0, 10, 5, "N1", "N1"),
]


def _county(with_roads: bool = True) -> SimpleNamespace:
    roads = gpd.GeoDataFrame(
        {"road_id": ["R1"], "road_class": ["village"]},
        geometry=[LineString([(X0, Y0), (X0 + 20000, Y0)])],
        crs=CRS,
    )
    schools = gpd.GeoDataFrame(
        {
            "school_id": [s[0] for s in SCHOOLS],
            "name_zh": [s[1] for s in SCHOOLS],
            "kind": [s[2] for s in SCHOOLS],
            "ownership": [s[3] for s in SCHOOLS],
        },
        geometry=[Point(X0 + s[4], Y0) for s in SCHOOLS],
        crs=CRS,
    ).set_index("school_id", drop=False)
    st = gpd.GeoDataFrame(
        {
            "settlement_id": [s[0] for s in SETTLEMENTS],
            "name_zh": [s[1] for s in SETTLEMENTS],
            "township_id": "T1",
            "area_type": [s[2] for s in SETTLEMENTS],
            "pupils_primary": [s[5] for s in SETTLEMENTS],
            "pupils_junior": [s[6] for s in SETTLEMENTS],
            "school_primary_id": [s[7] for s in SETTLEMENTS],
            "school_junior_id": [s[8] for s in SETTLEMENTS],
        },
        geometry=[Point(X0 + s[3], Y0 + s[4]) for s in SETTLEMENTS],
        crs=CRS,
    ).set_index("settlement_id", drop=False)
    sites = gpd.GeoDataFrame({"site_id": [], "name_zh": []}, geometry=[], crs=CRS)
    return SimpleNamespace(
        crs=CRS, roads=roads if with_roads else roads.iloc[0:0], settlements=st, schools=schools, candidate_sites=sites
    )


@pytest.fixture(scope="module")
def report() -> AccessReport:
    c = _county()
    return access_summary(c, county_travel_times(c))


def _row(df: pd.DataFrame, stage: str, sid: str) -> pd.Series:
    return df[(df["stage"] == stage) & (df["settlement_id"] == sid)].iloc[0]


def test_nearest_and_current_school_per_settlement(report: AccessReport) -> None:
    s = report.settlements
    v1 = _row(s, "primary", "V1")
    assert (v1["nearest_school_id"], v1["current_school_id"]) == ("P1", "P2")
    assert v1["nearest_time_min"] == pytest.approx(400 / (4000 / 60))  # 6 min
    assert v1["current_time_min"] == pytest.approx(4600 / (4000 / 60))  # 69 min
    assert v1["nearest_band"] == "0-10" and v1["current_band"] == ">60"
    assert bool(v1["within_cap"]) and not bool(v1["current_within_cap"])  # urban 500 m
    v2 = _row(s, "primary", "V2")
    # the private school next door is not a catchment school: nearest is P1, walked 300 + 2000 m
    assert v2["nearest_school_id"] == "P1"
    assert v2["nearest_distance_m"] == pytest.approx(2300)
    assert v2["nearest_time_min"] == pytest.approx(34.5)
    assert v2["nearest_band"] == "30-45" and bool(v2["within_cap"])  # 2300 m ≤ 2500 m
    v3 = _row(s, "primary", "V3")
    assert (v3["nearest_school_id"], v3["nearest_time_min"], v3["current_time_min"]) == (
        "P2",
        pytest.approx(21),
        pytest.approx(24),
    )
    v5 = _row(s, "primary", "V5")
    assert v5["nearest_band"] == "none" and np.isnan(v5["nearest_time_min"])  # 150 min > cutoff
    assert v5["current_time_min"] == pytest.approx(150) and v5["current_band"] == ">60"
    j4 = _row(s, "junior", "V4")
    assert j4["nearest_school_id"] == "N1" and j4["nearest_time_min"] == pytest.approx(30.5)
    assert bool(j4["within_cap"])  # 6100 m > 5 km, but 30.5 min ≤ 60 min
    assert _row(s, "junior", "V1")["nearest_school_id"] == "J1"
    assert _row(s, "junior", "V3")["nearest_school_id"] == "N1"


def test_band_table(report: AccessReport) -> None:
    b = report.bands[report.bands["stage"] == "primary"].set_index("band")
    assert b["pupils_nearest"].to_dict() == {"0-10": 100, "10-20": 0, "20-30": 60, "30-45": 40, "45-60": 0,
                                             ">60": 20, "none": 10}  # fmt: skip
    assert b["pupils_current"].to_dict() == {"0-10": 0, "10-20": 0, "20-30": 60, "30-45": 40, "45-60": 0,
                                             ">60": 130, "none": 0}  # fmt: skip
    assert b["share_nearest"].sum() == pytest.approx(1.0)
    assert b.loc["0-10", "share_nearest"] == pytest.approx(100 / 230)
    j = report.bands[report.bands["stage"] == "junior"].set_index("band")
    assert j["pupils_nearest"].to_dict() == {"0-10": 80, "10-20": 0, "20-30": 0, "30-45": 10, "45-60": 5,
                                             ">60": 0, "none": 0}  # fmt: skip


def test_summary_and_beyond_cap(report: AccessReport) -> None:
    s = report.summary.set_index("stage")
    assert s.loc["primary", "pupils"] == 230 and s.loc["primary", "settlements"] == 5
    # V4 (6100 m, 91.5 min) and V5 (no school within the cutoff) are beyond the rural/town caps
    assert list(report.beyond_cap["settlement_id"]) == ["V4", "V5"]
    assert s.loc["primary", "pupils_beyond_cap"] == 30 and s.loc["primary", "settlements_beyond_cap"] == 2
    # by current school: V1 (4600 m > 500 m), V4, V5
    assert s.loc["primary", "pupils_current_beyond_cap"] == 130
    assert s.loc["primary", "pupils_no_school"] == 10
    # pupil-weighted mean over settlements reached: (6·100 + 34.5·40 + 21·60 + 91.5·20) / 220
    assert s.loc["primary", "mean_time_nearest_min"] == pytest.approx(5070 / 220)
    assert s.loc["junior", "pupils_beyond_cap"] == 0
    assert set(report.settlements["method"]) == {"network"}


def test_plan_catchments_replace_current() -> None:
    c = _county()
    tt = county_travel_times(c)
    plan = pd.DataFrame({"settlement_id": ["V1"], "stage": ["primary"], "school_id": ["P1"]})
    r = access_summary(c, tt, catchments=plan)
    v1 = _row(r.settlements, "primary", "V1")
    assert v1["current_school_id"] == "P1" and v1["current_band"] == "0-10"
    assert _row(r.settlements, "primary", "V2")["current_school_id"] == ""  # not in the plan table


def test_caps_are_settings() -> None:
    c = _county()
    caps = AccessCaps(
        distance_m={
            "primary": {"urban": 300, "town": 2500, "rural": 2000},
            "junior": AccessCaps().distance_m["junior"],
        },
        time_min={"primary": {"urban": None, "town": 30, "rural": None}, "junior": AccessCaps().time_min["junior"]},
    )
    r = access_summary(c, county_travel_times(c), caps=caps)
    beyond = set(r.beyond_cap.loc[r.beyond_cap["stage"] == "primary", "settlement_id"])
    assert beyond == {"V1", "V2", "V4", "V5"}  # V1 400 m > 300 m; V2 2300 m > 2000 m; V3 1400 m stays


def test_text_summary_and_chinese_headers(report: AccessReport) -> None:
    text = format_access_summary(report)
    assert "道路网络 road network" in text
    assert "小学 primary  ≤10分钟" in text
    assert "100  43.5%" in text  # V1's 100 of 230 primary pupils within 10 min of the nearest school
    assert "2 个居民点 settlements, 30 名学生 pupils" in text
    zh = report.tables()["bands"]
    assert "学段 (stage)" in zh.columns and "按最近学校计学生数 (pupils_nearest)" in zh.columns
    assert "居民点代码 (settlement_id)" in to_zh(report.settlements).columns
    assert [c for c, _ in band_labels()] == ["0-10", "10-20", "20-30", "30-45", "45-60", ">60", "none"]


def test_straight_line_fallback_is_labelled_in_report() -> None:
    c = _county(with_roads=False)
    tt = county_travel_times(c)
    r = access_summary(c, tt)
    assert r.method == "straight_line" and set(r.summary["method"]) == {"straight_line"}
    assert "直线距离估算 straight-line estimate" in format_access_summary(r)
    # V2 is 300 m from the private school but 2022 m in a straight line from P1
    assert _row(r.settlements, "primary", "V2")["nearest_distance_m"] == pytest.approx(np.hypot(2000, 300))
