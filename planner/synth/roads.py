"""Road network of a synthetic county: noded, connected, reaching every settlement and school.

Every road segment runs between two network nodes (settlements, schools, candidate sites,
points where trunk roads leave the county) whose coordinates are exactly the lon/lat
written to the tables, so the segments share endpoints and the network is connected by
construction:

- village roads (村道): a spanning tree of each township's settlements plus some short
  extra links (a mesh, so there are alternative routes);
- township roads (乡道): a tree joining each town seat to its largest villages;
- county roads (县道): joining the county seat and the town seats (tree plus short links);
- one national road (国道) north-south and one provincial road (省道) east-west through
  the county seat, along chains of town seats, ending at the county boundary;
- urban streets (城市道路): a dense mesh over the county-seat neighbourhoods;
- access roads from each school and candidate site to its settlement.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay
from shapely.geometry import LineString

log = logging.getLogger(__name__)

CLASS_RANK = {"national": 0, "provincial": 1, "county": 2, "urban": 3, "township": 4, "village": 5}
CLASS_SPEED_KMH = {"national": 80.0, "provincial": 70.0}


def _delaunay_edges(xy: NDArray[np.float64]) -> NDArray[np.int64]:
    """Unique undirected Delaunay edges (i < j) of the points, sorted."""
    n = len(xy)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    if n < 4:
        return np.array([(i, j) for i in range(n) for j in range(i + 1, n)], np.int64)
    try:
        tri = Delaunay(xy, qhull_options="QJ Qbb Qc")
    except Exception:  # degenerate (collinear) input: a chain along x
        order = np.argsort(xy[:, 0], kind="stable")
        return np.sort(np.column_stack([order[:-1], order[1:]]), axis=1)
    s = tri.simplices
    e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0)


def _mst_edges(xy: NDArray[np.float64], edges: NDArray[np.int64]) -> NDArray[np.int64]:
    """Euclidean minimum spanning tree (as edges i < j) over candidate ``edges``."""
    n = len(xy)
    if n < 2 or len(edges) == 0:
        return np.zeros((0, 2), np.int64)
    w = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T) + 1e-9
    m = coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    t = minimum_spanning_tree(m).tocoo()
    out = np.sort(np.column_stack([t.row, t.col]), axis=1).astype(np.int64)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


class RoadBuilder:
    """Collects road segments between nodes; a pair of nodes holds at most one segment.

    Parameters
    ----------
    nodes : ndarray (n × 2)
        Metric coordinates of every network node.
    """

    def __init__(self, nodes: NDArray[np.float64]) -> None:
        self.nodes = nodes
        self.edges: dict[tuple[int, int], tuple[str, str]] = {}

    def add(self, a: int, b: int, road_class: str, name: str = "") -> None:
        """Add (or upgrade to a higher class) the segment between nodes ``a`` and ``b``."""
        if a == b:
            return
        key = (min(a, b), max(a, b))
        old = self.edges.get(key)
        if old is None or CLASS_RANK[road_class] < CLASS_RANK[old[0]]:
            self.edges[key] = (road_class, name)

    def add_node(self, xy: NDArray[np.float64]) -> int:
        """Append a node (e.g. where a trunk road leaves the county) and return its index."""
        self.nodes = np.vstack([self.nodes, np.asarray(xy, float)[None, :]])
        return len(self.nodes) - 1

    def n_components(self) -> int:
        """Connected components of the network (1 when every node is reachable)."""
        if not self.edges:
            return len(self.nodes)
        e = np.array(list(self.edges))
        m = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(len(self.nodes), len(self.nodes)))
        return int(connected_components(m, directed=False)[0])


def _exit_point(boundary: Any, origin: NDArray[np.float64], direction: NDArray[np.float64]) -> NDArray[np.float64]:
    """Point 150 m inside the boundary where a ray from ``origin`` first meets it."""
    d = direction / np.hypot(*direction)
    ray = LineString([tuple(origin), tuple(origin + d * 1e6)])
    hit = ray.intersection(boundary.boundary)
    pts = [np.array(p.coords[0]) for p in getattr(hit, "geoms", [hit]) if not p.is_empty]
    if not pts:
        return origin + d * 1000
    p = min(pts, key=lambda q: float(np.hypot(*(q - origin))))
    dist = float(np.hypot(*(p - origin)))
    return origin + (p - origin) * max(0.0, (dist - 150.0) / dist)


def _chain(
    seats: NDArray[np.float64], start: NDArray[np.float64], direction: NDArray[np.float64], max_steps: int = 4
) -> list[int]:
    """Greedy chain of seats heading roughly in ``direction`` from ``start`` (within 50°)."""
    chain: list[int] = []
    cur = start
    d = direction / np.hypot(*direction)
    for _ in range(max_steps):
        v = seats - cur
        dist = np.hypot(v[:, 0], v[:, 1])
        cos = (v @ d) / np.maximum(dist, 1e-9)
        ok = (cos > np.cos(np.radians(50))) & (dist > 1000)
        ok[chain] = False
        if not ok.any():
            break
        j = int(np.flatnonzero(ok)[np.argmin(dist[ok])])
        chain.append(j)
        cur = seats[j]
    return chain


def build_roads(
    boundary: Any,
    st: pd.DataFrame,
    sch: pd.DataFrame,
    sites: pd.DataFrame,
    townships: pd.DataFrame,
    seat_node: int,
    town_seat_nodes: dict[str, int],
    rng: np.random.Generator,
) -> tuple[RoadBuilder, int, int]:
    """Build the network over settlements (nodes 0..n-1), schools and sites (the next nodes).

    Returns the builder and the index of the first school node and the first site node.
    """
    st_xy = st[["x", "y"]].to_numpy()
    n_st = len(st)
    nodes = np.vstack([st_xy, sch[["x", "y"]].to_numpy(), sites[["x", "y"]].to_numpy().reshape(-1, 2)])
    rb = RoadBuilder(nodes)
    first_school, first_site = n_st, n_st + len(sch)
    area = st["area_type"].to_numpy()
    pop = st["population"].to_numpy()

    # village roads and town streets: per-township spanning tree plus short extra links
    for tid in townships["township_id"]:
        idx = np.flatnonzero(st["township_id"].to_numpy() == tid)
        xy = st_xy[idx]
        cand = _delaunay_edges(xy)
        for a, b in _mst_edges(xy, cand):
            ga, gb = int(idx[a]), int(idx[b])
            rb.add(ga, gb, _local_class(area[ga], area[gb]))
        if len(cand):
            length = np.hypot(*(xy[cand[:, 0]] - xy[cand[:, 1]]).T)
            urban_pair = (area[idx[cand[:, 0]]] != "rural") & (area[idx[cand[:, 1]]] != "rural")
            keep = (urban_pair & (length < 1100)) | ((length < 900) & (rng.random(len(cand)) < 0.3))
            for a, b in cand[keep]:
                ga, gb = int(idx[a]), int(idx[b])
                rb.add(ga, gb, _local_class(area[ga], area[gb]))
        # township roads: the seat to its largest villages
        if tid in town_seat_nodes:
            rural = idx[area[idx] == "rural"]
            if len(rural):
                k = max(2, len(rural) // 8)
                big = rural[np.argsort(-pop[rural], kind="stable")[:k]]
                hub = np.concatenate([[town_seat_nodes[tid]], big])
                for a, b in _mst_edges(st_xy[hub], _delaunay_edges(st_xy[hub])):
                    rb.add(int(hub[a]), int(hub[b]), "township")

    # village links across township borders and the remaining short gaps: neighbouring villages
    # are joined by a road when close (as field roads and village roads do), so the walk to the
    # nearest school is not forced round through the township seats
    cand = _delaunay_edges(st_xy)
    if len(cand):
        length = np.hypot(*(st_xy[cand[:, 0]] - st_xy[cand[:, 1]]).T)
        keep = (length < 1000) | ((length < 1800) & (rng.random(len(cand)) < 0.4))
        for a, b in cand[keep]:
            rb.add(int(a), int(b), _local_class(area[int(a)], area[int(b)]))

    # county roads between the county seat and the town seats
    seat_ids = [seat_node, *town_seat_nodes.values()]
    sxy = st_xy[seat_ids]
    cand = _delaunay_edges(sxy)
    mst = _mst_edges(sxy, cand)
    for a, b in mst:
        rb.add(seat_ids[a], seat_ids[b], "county")
    if len(cand) and len(mst):
        lim = 1.3 * float(np.median(np.hypot(*(sxy[mst[:, 0]] - sxy[mst[:, 1]]).T)))
        for a, b in cand:
            if np.hypot(*(sxy[a] - sxy[b])) < lim:
                rb.add(seat_ids[a], seat_ids[b], "county")
    # sub-district seats join the county seat by urban streets already (same mesh)

    # national road north-south and provincial road east-west through the county seat
    towns_xy = st_xy[list(town_seat_nodes.values())]
    town_nodes = list(town_seat_nodes.values())
    origin = st_xy[seat_node]
    for road_class, name, dirs in (
        ("national", "G107国道", ((0.0, 1.0), (0.0, -1.0))),
        ("provincial", "S333省道", ((-1.0, 0.0), (1.0, 0.0))),
    ):
        for dvec in dirs:
            dvec_arr = np.array(dvec)
            chain = [seat_node] + [town_nodes[j] for j in _chain(towns_xy, origin, dvec_arr)]
            end = _exit_point(boundary, st_xy[chain[-1]] if len(chain) > 1 else origin, dvec_arr)
            end_node = rb.add_node(end)
            chain.append(end_node)
            for a, b in itertools.pairwise(chain):
                rb.add(a, b, road_class, name)

    # access roads: schools and candidate sites to their settlement
    for i, h in enumerate(sch["host"].to_numpy()):
        rb.add(first_school + i, int(h), _local_class(area[int(h)], area[int(h)]))
    for i, h in enumerate(sites["access"].to_numpy() if len(sites) else []):
        rb.add(first_site + i, int(h), _local_class(area[int(h)], area[int(h)]))
    _stitch(rb, n_st, area)
    _school_paths(rb, n_st, first_school, sch, area)
    n_comp = rb.n_components()
    if n_comp != 1:
        raise RuntimeError(f"synthetic road network has {n_comp} components")
    return rb, first_school, first_site


def _stitch(rb: RoadBuilder, n_st: int, area: NDArray[np.str_]) -> None:
    """Join any component not reaching the main one by its shortest settlement-to-settlement link."""
    from scipy.spatial import cKDTree

    for _ in range(1000):
        e = np.array(list(rb.edges))
        m = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(len(rb.nodes), len(rb.nodes)))
        n_comp, label = connected_components(m, directed=False)
        if n_comp == 1:
            return
        sizes = np.bincount(label[:n_st], minlength=n_comp)
        main = int(np.argmax(sizes))
        other = int(next(c for c in range(n_comp) if c != main and sizes[c] > 0))
        a_idx = np.flatnonzero(label[:n_st] == main)
        b_idx = np.flatnonzero(label[:n_st] == other)
        d, j = cKDTree(rb.nodes[a_idx]).query(rb.nodes[b_idx])
        k = int(np.argmin(d))
        a, b = int(a_idx[j[k]]), int(b_idx[k])
        rb.add(a, b, _local_class(area[a], area[b]))


#: walk (metres along the network) beyond which a village gets a direct road to its nearest
#: primary school's village: the rural primary norm of about 2.5 km (DOMAIN.md §2; 40 min at the
#: 4 km/h walking speed is 2.67 km, which leaves room for the curves of :func:`road_geometries`)
SCHOOL_WALK_MAX_M = 2500.0


def _school_paths(rb: RoadBuilder, n_st: int, first_school: int, sch: pd.DataFrame, area: NDArray[np.str_]) -> None:
    """Give a village a road to its nearest primary school's village when its walk is too long.

    Counties keep a road from every village to a school within the walking norm (通校路);
    a village whose shortest walk to any public primary school (teaching points included)
    exceeds :data:`SCHOOL_WALK_MAX_M` is joined by a village road to the village hosting the
    straight-line nearest such school, when that is within the norm.
    """
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    serving = np.flatnonzero(
        (sch["ownership"].to_numpy() == "public") & np.isin(sch["kind"].to_numpy(), ("primary", "teaching_point",
                                                                                     "nine_year"))
    )  # fmt: skip
    if not len(serving):
        return
    e = np.array(sorted(rb.edges))
    w = np.hypot(*(rb.nodes[e[:, 0]] - rb.nodes[e[:, 1]]).T)
    n = len(rb.nodes)
    g = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    dist = dijkstra(g, directed=False, indices=first_school + serving, min_only=True)
    hosts = sch["host"].to_numpy()[serving].astype(int)
    d_line, j = cKDTree(rb.nodes[hosts]).query(rb.nodes[:n_st])
    for v in np.flatnonzero((dist[:n_st] > SCHOOL_WALK_MAX_M) & (area[:n_st] == "rural")):
        if d_line[v] <= SCHOOL_WALK_MAX_M:
            h = int(hosts[j[v]])
            rb.add(int(v), h, _local_class(area[int(v)], area[h]))


def _local_class(a: str, b: str) -> str:
    if a == "urban" and b == "urban":
        return "urban"
    if a == "town" and b == "town":
        return "township"
    return "village"


def road_geometries(
    rb: RoadBuilder, node_lonlat: NDArray[np.float64], to_lonlat: Any, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per segment: road_id, road_class, name_zh, speed_kmh and a WGS-84 LineString.

    Endpoints are the nodes' lon/lat exactly; long segments get gently curved intermediate
    vertices (perpendicular offsets of a few percent of their length).
    """
    keys = sorted(rb.edges, key=lambda k: (CLASS_RANK[rb.edges[k][0]], k))
    mids_of: list[NDArray[np.float64]] = []
    for a, b in keys:
        pa, pb = rb.nodes[a], rb.nodes[b]
        length = float(np.hypot(*(pb - pa)))
        k = int(min(6, length // 1200))
        mids = np.zeros((k, 2))
        if k:
            v = pb - pa
            perp = np.array([-v[1], v[0]]) / max(length, 1e-9)
            bend = rng.normal(0, 0.035) * length
            t = np.arange(1, k + 1) / (k + 1)
            off = bend * np.sin(np.pi * t) + rng.normal(0, 0.01, k) * length
            mids = pa + v * t[:, None] + perp * off[:, None]
        mids_of.append(mids)
    counts = [len(m) for m in mids_of]
    all_mids = to_lonlat(np.vstack(mids_of)) if sum(counts) else np.zeros((0, 2))
    starts = np.concatenate([[0], np.cumsum(counts)])
    rows = []
    county_no = township_no = 0
    for n, (a, b) in enumerate(keys, start=1):
        road_class, name = rb.edges[(a, b)]
        coords = [tuple(node_lonlat[a]), *map(tuple, all_mids[starts[n - 1] : starts[n]]), tuple(node_lonlat[b])]
        if road_class == "county" and not name:
            county_no += 1
            name = f"X{county_no:03d}县道"
        elif road_class == "township" and not name:
            township_no += 1
            name = f"Y{township_no:03d}乡道"
        rows.append(
            {
                "road_id": f"R{n:05d}",
                "road_class": road_class,
                "name_zh": name,
                "speed_kmh": CLASS_SPEED_KMH.get(road_class, np.nan),
                "geometry": LineString(coords),
            }
        )
    return pd.DataFrame(rows)
