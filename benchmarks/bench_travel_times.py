"""Benchmark: road graph, snapping and settlement → school travel-time matrices.

Usage::

    python benchmarks/bench_travel_times.py                 # geodata/queshan if present, else synthetic
    python benchmarks/bench_travel_times.py --data DIR      # any county folder
    python benchmarks/bench_travel_times.py --synthetic     # county-sized synthetic network

Prints the seconds spent building the graph, snapping and computing the matrices of every
mode (walk for primary pupils, bicycle for junior pupils, car school-to-school), plus the
size of the network and of the output. No assertion: the figures are for people to read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.network import TravelModes, current_catchment_pairs, network_from_lines, travel_times  # noqa: E402


def synthetic_county(seed: int = 0, side_km: float = 40.0, junctions: int = 9000, settlements: int = 3000,
                     schools: int = 215, sites: int = 30) -> SimpleNamespace:  # fmt: skip
    """A county-sized planar road network (Delaunay edges among random junctions, long ones dropped)."""
    rng = np.random.default_rng(seed)
    side = side_km * 1000
    x0, y0 = 480_000.0, 3_600_000.0
    pts = rng.uniform(0, side, (junctions, 2)) + np.array([x0, y0])
    tri = Delaunay(pts)
    e = np.vstack([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    length = np.linalg.norm(pts[e[:, 0]] - pts[e[:, 1]], axis=1)
    e = e[length < np.quantile(length, 0.75)]
    # keep the largest connected part, as a real county's road layer is one network
    adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(junctions, junctions))
    _, label = connected_components(adj, directed=False)
    main_part = np.bincount(label).argmax()
    e = e[label[e[:, 0]] == main_part]
    pts_keep = np.flatnonzero(label == main_part)
    lines = shapely.linestrings(np.stack([pts[e[:, 0]], pts[e[:, 1]]], axis=1))
    cls = rng.choice(["village", "township", "county", "provincial"], len(lines), p=[0.6, 0.25, 0.1, 0.05])
    roads = gpd.GeoDataFrame({"road_id": [f"R{i}" for i in range(len(lines))], "road_class": cls},
                             geometry=lines, crs="EPSG:4547")  # fmt: skip

    def near_road(n: int) -> np.ndarray:
        anchor = pts[rng.choice(pts_keep, n)]
        return anchor + rng.normal(0, 150, (n, 2))

    sxy = near_road(settlements)
    sch = near_road(schools)
    sit = near_road(sites)
    school_ids = [f"S{i:03d}" for i in range(schools)]
    sett = gpd.GeoDataFrame(
        {"settlement_id": [f"V{i:04d}" for i in range(settlements)], "name_zh": "村",
         "school_primary_id": rng.choice(school_ids, settlements), "school_junior_id": rng.choice(school_ids[:25],
                                                                                                  settlements)},
        geometry=shapely.points(sxy), crs="EPSG:4547",
    )  # fmt: skip
    sch_gdf = gpd.GeoDataFrame({"school_id": school_ids, "name_zh": "学校"}, geometry=shapely.points(sch),
                               crs="EPSG:4547")  # fmt: skip
    sit_gdf = gpd.GeoDataFrame({"site_id": [f"C{i:02d}" for i in range(sites)], "name_zh": "地块"},
                               geometry=shapely.points(sit), crs="EPSG:4547")  # fmt: skip
    return SimpleNamespace(roads=roads, settlements=sett, schools=sch_gdf, candidate_sites=sit_gdf, crs="EPSG:4547",
                           name="synthetic")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="county folder (default geodata/queshan if present)")
    ap.add_argument("--synthetic", action="store_true", help="use a county-sized synthetic network")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    data = args.data or (ROOT / "geodata" / "queshan")
    if args.synthetic or not data.exists():
        county = synthetic_county()
        label = "synthetic county-sized network (geodata/queshan not found)" if not args.synthetic else "synthetic"
    else:
        from planner.loader import load_county

        t0 = time.perf_counter()
        county = load_county(data, check_network=False)
        print(f"load_county            {time.perf_counter() - t0:7.2f} s  ({data})")
        label = str(data)
    modes = TravelModes()
    print(f"county: {label}")
    print(f"settlements {len(county.settlements)}, schools {len(county.schools)}, candidate sites "
          f"{len(county.candidate_sites)}, road features {len(county.roads)}")  # fmt: skip
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        net = network_from_lines(county.roads, node_tolerance_m=modes.node_tolerance_m)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        tt = travel_times(net, county.settlements, county.schools, county.candidate_sites, modes=modes,
                          required=current_catchment_pairs(county.settlements))  # fmt: skip
        t_tt = time.perf_counter() - t0
        print(f"network: {net.n_nodes} nodes, {len(net.edges)} edges, {net.length_km:.0f} km")
        print(f"graph build (noding)   {t_build:7.2f} s")
        for k, v in tt.timings_s.items():
            print(f"  {k:<22}{v:7.2f} s")
        print(f"travel_times total     {t_tt:7.2f} s")
        print(f"build + travel_times   {t_build + t_tt:7.2f} s")
        counts = tt.pairs.groupby("mode").size()
        for m, n in counts.items():
            print(f"  pairs {m:<8} {n:>9,d}  (within {modes.cutoff_min:.0f} min)")
        print(f"  site pairs ({tt.school_mode}) {len(tt.site_pairs):,d}")
        far = tt.far_points
        print(f"  points beyond {modes.snap_max_m:.0f} m of a road: {far['id'].nunique()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
