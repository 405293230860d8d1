"""Road network, snapping and travel times, checked against hand computation.

The hand-made network (metres, a projected CRS; origin O = (500000, 3600000))::

        C (2000,1500)
        /|
   R3  / |  R2 village
national |
      /  * S1 (2050,1400) → joins R2 at (2000,1400), 50 m
     /   |
    /  G |(500,300)
   /   | |
  A----X----D--*--*---B (2000,0)       R1 county road A→B
 (0,0) |    |  V2  C1                  V2 (1300,-40) → (1300,0), 40 m; C1 (1500,30) → (1500,0), 30 m
   S2* F    * V1 (1060,-600) → R4 at (1000,-600), 60 m
 (450,-300) |
   (500,-300) E (1000,-800)            R4 township D→E (a T-junction: R1 must be split at D)
   R5 village F→G crosses R1 at X (500,0) (an X-crossing: both lines split at X)
   S2 (450,-300) → joins R5 at F, 50 m

Speeds: walking 4 km/h = 66.667 m/min everywhere; car (defaults) national 60 = 1000 m/min,
county 45 = 750 m/min, township 35 = 583.333 m/min, village 25 = 416.667 m/min; every access
leg walked at 4 km/h.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from planner.network import (
    NetworkError,
    RoadNetwork,
    TravelModes,
    TravelTimes,
    county_travel_times,
    network_from_graphml,
    network_from_lines,
    normalise_road_class,
    parse_maxspeed,
    straight_line_travel_times,
    travel_times,
    unreachable_points,
)

CRS = "EPSG:4547"
X0, Y0 = 500_000.0, 3_600_000.0
DATA = Path(__file__).parent / "data"
WALK = 4000 / 60  # metres per minute


def _xy(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def _roads(extra: list[tuple[str, str, list[tuple[float, float]]]] | None = None) -> gpd.GeoDataFrame:
    rows = [
        ("R1", "county", [(0, 0), (2000, 0)]),
        ("R2", "village", [(2000, 0), (2000, 1500)]),
        ("R3", "national", [(0, 0), (2000, 1500)]),
        ("R4", "township", [(1000, 0), (1000, -800)]),
        ("R5", "village", [(500, -300), (500, 300)]),
        *(extra or []),
    ]
    return gpd.GeoDataFrame(
        {"road_id": [r[0] for r in rows], "road_class": [r[1] for r in rows], "speed_kmh": np.nan},
        geometry=[LineString([_xy(*p) for p in r[2]]) for r in rows],
        crs=CRS,
    )


def _points(kind: str, rows: list[tuple[str, str, float, float]]) -> gpd.GeoDataFrame:
    idcol = {"settlements": "settlement_id", "schools": "school_id", "candidate_sites": "site_id"}[kind]
    gdf = gpd.GeoDataFrame(
        {idcol: [r[0] for r in rows], "name_zh": [r[1] for r in rows]},
        geometry=[Point(_xy(r[2], r[3])) for r in rows],
        crs=CRS,
    )
    return gdf.set_index(idcol, drop=False)


SETTLEMENTS = [("V1", "张庄村", 1060, -600), ("V2", "李庄村", 1300, -40)]
SCHOOLS = [("S1", "北岗小学", 2050, 1400), ("S2", "西街小学", 450, -300)]
SITES = [("C1", "城东地块", 1500, 30)]


def _times(tt: TravelTimes, mode: str) -> dict[tuple[str, str], tuple[float, float]]:
    p = tt.for_mode(mode)
    return {(a, b): (t, d) for a, b, t, d in zip(p.settlement_id, p.site_id, p.time_min, p.distance_m, strict=True)}


@pytest.fixture(scope="module")
def net() -> RoadNetwork:
    return network_from_lines(_roads())


@pytest.fixture(scope="module")
def tt(net: RoadNetwork) -> TravelTimes:
    return travel_times(
        net,
        _points("settlements", SETTLEMENTS),
        _points("schools", SCHOOLS),
        _points("candidate_sites", SITES),
        compute=("walk", "car"),
    )


def test_lines_are_noded_at_t_junctions_and_crossings(net: RoadNetwork) -> None:
    # nodes A, B, C, D, E, F, G, X; edges A-X, X-D, D-B, B-C, A-C, D-E, F-X, X-G
    assert net.n_nodes == 8
    assert len(net.edges) == 8
    assert sorted(np.round(net.edges["length_m"], 6)) == [300, 300, 500, 500, 800, 1000, 1500, 2500]
    by_len = dict(zip(np.round(net.edges["length_m"], 6), net.edges["road_class"], strict=True))
    assert by_len[2500] == "national" and by_len[800] == "township" and by_len[1500] == "village"
    assert net.length_km == pytest.approx(7.4)
    g = net.to_networkx()
    assert g.number_of_nodes() == 8 and g.number_of_edges() == 8
    assert g.graph["crs"] == CRS


def test_walking_times_match_hand_computation(tt: TravelTimes) -> None:
    w = _times(tt, "walk")
    # V1 → S1: 60 access + 600 (R4 up to D) + 1000 (D→B) + 1400 (B up R2) + 50 access = 3110 m
    # (via A and the national road: 60 + 600 + 1000 + 2500 + 100 + 50 = 4310 m)
    assert w[("V1", "S1")] == pytest.approx((3110 / WALK, 3110))
    # V1 → S2: 60 + 600 + 500 (D→X) + 300 (X down R5 to F) + 50 = 1510 m
    assert w[("V1", "S2")] == pytest.approx((1510 / WALK, 1510))
    # V1 → C1: 60 + 600 + 500 (D→(1500,0)) + 30 = 1190 m
    assert w[("V1", "C1")] == pytest.approx((1190 / WALK, 1190))
    # V2 and C1 join the same edge D-B: straight along it, 40 + 200 + 30 = 270 m (not via D or B)
    assert w[("V2", "C1")] == pytest.approx((270 / WALK, 270))
    # V2 → S2: 40 + 300 (to D) + 500 + 300 + 50 = 1190 m
    assert w[("V2", "S2")] == pytest.approx((1190 / WALK, 1190))
    assert set(tt.pairs["method"]) == {"network"}
    assert tt.for_mode("walk").set_index(["settlement_id", "site_id"]).loc[("V1", "C1"), "site_type"] == (
        "candidate_site"
    )


def test_car_takes_the_faster_longer_road(tt: TravelTimes) -> None:
    c = _times(tt, "car")
    # by car, V1 → S1 via B: 0.9 walk + 600/583.333 + 1000/750 + 1400/416.667 + 0.75 walk = 7.371905 min
    # via A and the national road: 0.9 + 600/583.333 + 1000/750 + 2500/1000 + 100/416.667 + 0.75 = 6.751905 min
    via_national = 60 / WALK + 600 / (35000 / 60) + 1000 / 750 + 2500 / 1000 + 100 / (25000 / 60) + 50 / WALK
    t, d = c[("V1", "S1")]
    assert t == pytest.approx(via_national)
    assert t == pytest.approx(6.751905, abs=1e-6)
    # distance_m is the shortest road distance (the walking route), not the car's longer route
    assert d == pytest.approx(3110)


def test_school_to_school_times_in_school_mode(tt: TravelTimes) -> None:
    s = tt.site_pairs.set_index(["from_id", "to_id"])
    # S1 → S2 by car: 0.75 + 100/416.667 (to C) + 2500/1000 (to A) + 500/750 (to X) + 300/416.667 (to F) + 0.75
    expected = 50 / WALK + 100 / (25000 / 60) + 2.5 + 500 / 750 + 300 / (25000 / 60) + 50 / WALK
    assert s.loc[("S1", "S2"), "time_min"] == pytest.approx(expected)
    assert s.loc[("S2", "S1"), "time_min"] == pytest.approx(expected)  # no one-way streets here
    assert ("S1", "S1") not in s.index
    st = tt.school_times()
    assert list(st.columns) == ["from_unit", "to_unit", "time_min"]
    assert set(st["from_unit"]) == {"S1", "S2", "C1"}


def test_cutoff_drops_far_pairs_but_keeps_required_ones(net: RoadNetwork) -> None:
    modes = TravelModes(cutoff_min=30)
    args = (net, _points("settlements", SETTLEMENTS), _points("schools", SCHOOLS), _points("candidate_sites", SITES))
    tt = travel_times(*args, modes=modes, compute=("walk",))
    w = _times(tt, "walk")
    assert ("V1", "S1") not in w  # 46.65 min
    assert w[("V1", "S2")][0] == pytest.approx(1510 / WALK)  # 22.65 min
    req = pd.DataFrame({"settlement_id": ["V1"], "site_id": ["S1"]})
    w2 = _times(travel_times(*args, modes=modes, compute=("walk",), required=req), "walk")
    assert w2[("V1", "S1")] == pytest.approx((3110 / WALK, 3110))
    m = tt.matrix("walk")
    assert m.shape == (2, 3)
    assert m[0, tt.site_ids.index("S2")] == pytest.approx(1510 / WALK)
    assert m[0, tt.site_ids.index("S1")] == 0  # absent, beyond the cutoff
    near = tt.nearest("walk", ["S1", "S2"])
    assert near.loc["V1", "site_id"] == "S2" and near.loc["V2", "site_id"] == "S2"


def test_stage_pairs_use_each_stage_mode(tt: TravelTimes) -> None:
    modes = TravelModes.from_dict({"stage_modes": {"junior": "car"}})
    tt2 = travel_times(
        network_from_lines(_roads()), _points("settlements", SETTLEMENTS), _points("schools", SCHOOLS), modes=modes
    )
    sp = tt2.stage_pairs().set_index(["settlement_id", "stage", "unit_id"])
    assert sp.loc[("V1", "primary", "S1"), "time_min"] == pytest.approx(3110 / WALK)
    assert sp.loc[("V1", "junior", "S1"), "time_min"] == pytest.approx(6.751905, abs=1e-6)


def test_disconnected_settlement_is_a_clear_error() -> None:
    roads = _roads(extra=[("R9", "village", [(5000, 5000), (6000, 5000)])])
    sett = _points("settlements", [*SETTLEMENTS, ("V9", "孤村", 5500, 5040)])
    with pytest.raises(NetworkError, match=r"settlement V9 \(孤村\) has no road path to any school"):
        travel_times(network_from_lines(roads), sett, _points("schools", SCHOOLS))


def test_small_gap_is_closed_only_within_tolerance() -> None:
    # R4 stops 3 m short of R1: joined with the default 5 m tolerance, not with 0
    roads = _roads()
    roads.loc[3, "geometry"] = LineString([_xy(1000, -3), _xy(1000, -800)])
    sett, sch = _points("settlements", SETTLEMENTS[:1]), _points("schools", SCHOOLS)
    w = _times(travel_times(network_from_lines(roads), sett, sch, compute=("walk",)), "walk")
    # 60 + 597 (up R4 to its end) + 3 (the joining leg) + 500 + 300 + 50 = 1510 m, to within the 1 cm overshoot
    assert w[("V1", "S2")][1] == pytest.approx(1510, abs=0.05)
    with pytest.raises(NetworkError, match="V1"):
        travel_times(network_from_lines(roads, node_tolerance_m=0), sett, sch, compute=("walk",))


def test_far_points_are_reported_not_hidden() -> None:
    sett = _points("settlements", [*SETTLEMENTS, ("V3", "王岗村", 3500, 1400)])  # 1500 m east of R2
    tt = travel_times(network_from_lines(_roads()), sett, _points("schools", SCHOOLS), compute=("walk",))
    far = tt.far_points
    assert list(far["id"].unique()) == ["V3"]
    assert far["distance_to_road_m"].iloc[0] == pytest.approx(1500)
    # joined anyway, with the 1500 m walk to the road counted: 1500 + 0 + 50 to S1 at (2000,1400)
    assert _times(tt, "walk")[("V3", "S1")] == pytest.approx((1550 / WALK, 1550))


def _county(settlements: gpd.GeoDataFrame, roads: gpd.GeoDataFrame) -> SimpleNamespace:
    return SimpleNamespace(
        crs=CRS,
        roads=roads,
        settlements=settlements,
        schools=_points("schools", SCHOOLS),
        candidate_sites=_points("candidate_sites", SITES),
    )


def test_unreachable_points_lists_far_and_disconnected() -> None:
    roads = _roads(extra=[("R9", "village", [(5000, 5000), (6000, 5000)])])
    sett = _points("settlements", [*SETTLEMENTS, ("V3", "王岗村", 3500, 1400), ("V9", "孤村", 5500, 5040)])
    bad = unreachable_points(_county(sett, roads))
    assert list(bad["id"]) == ["V3", "V9"]
    assert list(bad["table"]) == ["settlements", "settlements"]
    assert "1500 m from the nearest road" in bad.iloc[0]["reason"]
    assert "not connected" in bad.iloc[1]["reason"]
    assert unreachable_points(_county(_points("settlements", SETTLEMENTS), _roads())).empty


def test_straight_line_fallback_is_labelled() -> None:
    sett = _points("settlements", SETTLEMENTS)
    roads = _roads().iloc[0:0]
    tt = county_travel_times(_county(sett, roads))
    assert tt.method == "straight_line"
    assert set(tt.pairs["method"]) == {"straight_line"} and set(tt.site_pairs["method"]) == {"straight_line"}
    w = _times(tt, "walk")
    d = np.hypot(1060 - 450, -600 + 300)
    assert w[("V1", "S2")] == pytest.approx((d / WALK, d))
    sl = straight_line_travel_times(sett, _points("schools", SCHOOLS), modes=TravelModes(), detour_factor=1.3)
    assert _times(sl, "walk")[("V1", "S2")][1] == pytest.approx(1.3 * d)


def test_osmnx_graphml_loads_without_osmnx_and_honours_oneway() -> None:
    net = network_from_graphml(DATA / "tiny_osmnx.graphml", CRS)
    assert net.n_nodes == 4 and len(net.edges) == 10
    e = net.edges
    assert set(e["road_class"]) == {"county", "provincial", "urban", "village", "path", "expressway"}
    assert e.loc[e["road_class"] == "village", "speed_kmh"].iloc[0] == pytest.approx(30 * 1.609344)
    assert e.loc[e["road_class"] == "expressway", "speed_kmh"].iloc[0] == pytest.approx(110)  # mean of 100, 120
    assert int(e["oneway"].sum()) == 2
    lon_lat = gpd.GeoSeries.from_xy([114.0, 114.01], [32.8, 32.81], crs="EPSG:4326").to_crs(CRS)
    sett = gpd.GeoDataFrame({"settlement_id": ["V1"], "name_zh": ["村"]}, geometry=[lon_lat.iloc[0]], crs=CRS)
    sch = gpd.GeoDataFrame(
        {"school_id": ["S1", "S2"], "name_zh": ["东北小学", "西南小学"]},
        geometry=[lon_lat.iloc[1], lon_lat.iloc[0]],
        crs=CRS,
    )
    tt = travel_times(net, sett, sch, compute=("walk", "car"))
    # walking takes the 1500 m footway diagonal from node 1 to node 3
    assert _times(tt, "walk")[("V1", "S1")] == pytest.approx((1500 / WALK, 1500))
    # car 1 → 3: secondary 936.5 m at 45 km/h + one-way primary 1113.2 m at its maxspeed 60 km/h
    car = _times(tt, "car")[("V1", "S1")]
    assert car[0] == pytest.approx(936.5 / 750 + 1113.2 / 1000)
    # shortest drivable distance: 1 → 4 → 3 = 1113.2 + 936.4 = 2049.6 m (the footway is closed to cars)
    assert car[1] == pytest.approx(2049.6)
    s = tt.site_pairs.set_index(["from_id", "to_id"])["time_min"]
    # S2 (node 1) → S1 (node 3) as above; back 3 → 1 cannot use the one-way primary road:
    # 3 → 4 urban 936.4 m at 30 km/h + 4 → 1 track 1113.2 m at 30 mph
    assert s[("S2", "S1")] == pytest.approx(936.5 / 750 + 1113.2 / 1000)
    assert s[("S1", "S2")] == pytest.approx(936.4 / 500 + 1113.2 / (30 * 1.609344 * 1000 / 60))


def test_graphml_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="does not exist"):
        network_from_graphml(tmp_path / "nope.graphml", CRS)
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><graph", encoding="utf-8")
    with pytest.raises(NetworkError, match="not a readable GraphML file"):
        network_from_graphml(bad, CRS)


def test_travel_modes_settings() -> None:
    m = TravelModes.from_dict({"walk_kmh": 5, "bus_kmh": {"village": 15}, "stage_modes": {"junior": "bus"}})
    assert m.class_speeds("walk")["village"] == 5 and m.class_speeds("walk")["expressway"] == 0
    assert m.bus_kmh["village"] == 15 and m.bus_kmh["county"] == 40  # completed from the defaults
    assert m.stage_modes == {"primary": "walk", "junior": "bus"}
    with pytest.raises(NetworkError, match="key bus_kmh"):
        TravelModes.from_dict({"bus_kmh": {"lane": 10}})
    with pytest.raises(NetworkError, match="key speed: unknown key"):
        TravelModes.from_dict({"speed": 3})
    with pytest.raises(NetworkError, match="key walk_kmh"):
        TravelModes.from_dict({"walk_kmh": 0})
    with pytest.raises(Exception):  # noqa: B017 - frozen
        m.walk_kmh = 3  # type: ignore[misc]


def test_road_class_and_speed_parsing() -> None:
    assert normalise_road_class("县道") == "county"
    assert normalise_road_class("trunk") == "national"
    assert normalise_road_class("['residential', 'tertiary']") == "urban"
    assert parse_maxspeed("['40', '60']") == pytest.approx(50)
    assert parse_maxspeed("20 mph") == pytest.approx(32.18688)
    assert np.isnan(parse_maxspeed("signals"))
    assert np.isnan(parse_maxspeed(None))


def test_tiny_county_end_to_end(tmp_path: Path) -> None:
    from tiny_county import write_tiny_county

    from planner.loader import load_county

    county = load_county(write_tiny_county(tmp_path / "c"), check_network=False)
    assert unreachable_points(county).empty
    tt = county_travel_times(county)
    assert tt.method == "network"
    assert set(tt.settlement_ids) == set(county.settlements.index)
    # every settlement reaches its current catchment schools
    sp = tt.stage_pairs()
    have = set(zip(sp["settlement_id"], sp["stage"], sp["unit_id"], strict=True))
    for sid, row in county.settlements.iterrows():
        for stage in ("primary", "junior"):
            if row[f"school_{stage}_id"]:
                assert (sid, stage, row[f"school_{stage}_id"]) in have
    # V1 (东街社区) and P1 (城关小学) are 50 m apart, both south of nothing but the east-west road
    w = tt.nearest("walk", ["P1", "TP1", "N1"])
    assert w.loc["V1", "site_id"] == "P1"
    assert w.loc["V1", "distance_m"] < 400
