"""Settlement adjacency (村居相邻关系): which villages and neighbourhoods border each other.

A catchment published for 划片范围公示 must be one connected area. "Connected" is measured
on the settlement adjacency graph built here: two settlements are adjacent when

1. **their cells touch** — each settlement's cell is its Voronoi cell (the land closer to it
   than to any other settlement, straight line), clipped to the county boundary; two cells
   touch when they share a boundary segment longer than :data:`MIN_SHARED_M` (touching at a
   single corner does not count); or
2. **they share a road link** — every road node is given to the settlement nearest to it
   along the roads (a network Voronoi partition, multi-source Dijkstra over road length
   from each settlement's nearest road node); two settlements are linked when a road edge
   joins a node of one to a node of the other. Settlements farther than ``snap_max_m`` from
   any road node take part only through their cells. Settlements sharing one nearest road
   node are linked to each other.

The graph's edges carry ``kind`` = ``cell``, ``road`` or ``cell+road``. Everything is a pure
function of the county's geodataframes (metric CRS).

Stage graphs: a settlement with no pupils of a stage is not assigned to any school of that
stage, so it cannot belong to a catchment. :func:`stage_graph` contracts such settlements
away: two settlements with pupils are adjacent in the stage graph when they are adjacent or
joined through a chain of pupil-less settlements (empty land between them, for the plan).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

log = logging.getLogger(__name__)

#: two cells must share at least this much boundary (metres) to be adjacent
MIN_SHARED_M = 1.0
#: a settlement farther than this from every road node has no road links (metres)
ROAD_SNAP_MAX_M = 1000.0


def settlement_cells(county: object) -> gpd.GeoDataFrame:
    """Voronoi cell of each settlement, clipped to the county boundary.

    Parameters
    ----------
    county : County
        Needs ``settlements`` (points) and ``boundary`` (one polygon), metric CRS.

    Returns
    -------
    GeoDataFrame
        Index ``settlement_id`` (settlements' order), columns ``settlement_id``, ``name_zh``,
        ``area_m2``, ``geometry`` (polygon; empty when the settlement lies outside the
        boundary).
    """
    st = county.settlements
    boundary = shapely.union_all(county.boundary.geometry.to_numpy())
    xy = shapely.get_coordinates(st.geometry.to_numpy())
    pts = shapely.points(xy)
    if len(st) == 1:
        cells = np.array([boundary], dtype=object)
    else:
        # equal points would share one cell: nudge duplicates by a millimetre, deterministically
        seen: dict[tuple[float, float], int] = {}
        xy = xy.copy()
        for i, (x, y) in enumerate(map(tuple, xy)):
            k = seen.get((x, y), 0)
            if k:
                xy[i] = (x + 1e-3 * k, y)
            seen[(x, y)] = k + 1
        pts = shapely.points(xy)
        region = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=boundary, ordered=True)
        polys = np.asarray(shapely.get_parts(region), dtype=object)
        if len(polys) != len(pts):  # pragma: no cover - shapely < 2.1 ignores ``ordered``
            tree = shapely.STRtree(polys)
            owner = tree.query(pts, predicate="within")
            order = np.full(len(pts), -1)
            order[owner[0]] = owner[1]
            polys = polys[order]
        cells = shapely.intersection(polys, boundary)
    out = gpd.GeoDataFrame(
        {"settlement_id": st.index.astype(str), "name_zh": st["name_zh"].to_numpy()},
        geometry=list(cells),
        crs=st.crs,
        index=st.index,
    )
    out["area_m2"] = out.geometry.area
    return out[["settlement_id", "name_zh", "area_m2", "geometry"]]


def cell_links(cells: gpd.GeoDataFrame, min_shared_m: float = MIN_SHARED_M) -> list[tuple[str, str]]:
    """Pairs of settlements whose cells share a boundary of at least ``min_shared_m`` metres."""
    geoms = cells.geometry.to_numpy()
    ids = cells.index.astype(str).to_numpy()
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[a]), shapely.boundary(geoms[b])))
    ok = shared >= min_shared_m
    return sorted((ids[i], ids[j]) if ids[i] < ids[j] else (ids[j], ids[i]) for i, j in zip(a[ok], b[ok], strict=True))


def road_links(county: object, snap_max_m: float = ROAD_SNAP_MAX_M) -> list[tuple[str, str]]:
    """Pairs of settlements whose road territories (network Voronoi) meet along a road edge.

    Parameters
    ----------
    county : County
        Needs ``settlements`` and ``roads`` (lines), metric CRS. No roads: no links.
    snap_max_m : float
        Settlements farther than this from every road node get no road links.
    """
    roads = getattr(county, "roads", None)
    if roads is None or len(roads) == 0:
        return []
    from planner.network import network_from_lines

    net = network_from_lines(roads)
    n = net.n_nodes
    if n == 0 or len(net.edges) == 0:
        return []
    st = county.settlements
    ids = st.index.astype(str).to_numpy()
    xy = shapely.get_coordinates(st.geometry.to_numpy())
    dist, node = cKDTree(net.nodes).query(xy)
    on = dist <= snap_max_m
    if not on.any():
        return []
    e = net.edges
    u, v, w = e["u"].to_numpy(), e["v"].to_numpy(), e["length_m"].to_numpy(dtype=float)
    g = csr_matrix((np.maximum(w, 1e-3), (u, v)), shape=(n, n))
    # owner of each road node: nearest snapped settlement along the roads (ties: lowest position)
    sources = np.unique(node[on])
    _d, _pred, src = dijkstra(g, directed=False, indices=sources, min_only=True, return_predecessors=True)
    owner_of_node: dict[int, int] = {}
    for i in np.flatnonzero(on):  # first settlement (input order) owns its snap node
        owner_of_node.setdefault(int(node[i]), int(i))
    label = np.array([owner_of_node.get(int(s), -1) if s >= 0 else -1 for s in src])
    pairs: set[tuple[str, str]] = set()
    la, lb = label[u], label[v]
    diff = (la >= 0) & (lb >= 0) & (la != lb)
    for i, j in zip(la[diff], lb[diff], strict=True):
        pairs.add((ids[i], ids[j]) if ids[i] < ids[j] else (ids[j], ids[i]))
    # settlements sharing a snap node with its owner
    for i in np.flatnonzero(on):
        o = owner_of_node[int(node[i])]
        if o != i:
            pairs.add((ids[i], ids[o]) if ids[i] < ids[o] else (ids[o], ids[i]))
    return sorted(pairs)


def adjacency_graph(county: object, *, roads: bool = True, cells: gpd.GeoDataFrame | None = None) -> nx.Graph:
    """The settlement adjacency graph of a county (cells touching or a shared road link).

    Parameters
    ----------
    county : County
    roads : bool
        Add road links (:func:`road_links`) to the cell links.
    cells : GeoDataFrame, optional
        Precomputed :func:`settlement_cells`.

    Returns
    -------
    networkx.Graph
        Nodes: settlement ids (attribute ``name_zh``), every settlement included; edges with
        ``kind`` ``cell``, ``road`` or ``cell+road``.
    """
    cells = settlement_cells(county) if cells is None else cells
    g = nx.Graph()
    st = county.settlements
    for sid, name in zip(st.index.astype(str), st["name_zh"], strict=True):
        g.add_node(sid, name_zh=name)
    for a, b in cell_links(cells):
        g.add_edge(a, b, kind="cell")
    if roads:
        for a, b in road_links(county):
            if g.has_edge(a, b):
                g.edges[a, b]["kind"] = "cell+road"
            else:
                g.add_edge(a, b, kind="road")
    log.info("settlement adjacency: %d settlements, %d links", g.number_of_nodes(), g.number_of_edges())
    return g


def stage_graph(graph: nx.Graph, with_pupils: set[str] | pd.Index) -> nx.Graph:
    """Contract settlements without pupils of a stage away (see module docstring)."""
    keep = {str(s) for s in with_pupils}
    h = nx.Graph()
    h.add_nodes_from(sorted(n for n in graph.nodes if n in keep))
    for a, b in graph.edges:
        if a in keep and b in keep:
            h.add_edge(a, b)
    empty = graph.subgraph([n for n in graph.nodes if n not in keep])
    for comp in nx.connected_components(empty):
        border = sorted({m for z in comp for m in graph.neighbors(z) if m in keep})
        for i, a in enumerate(border):
            for b in border[i + 1 :]:
                h.add_edge(a, b)
    return h


def own_settlements(county: object) -> dict[str, str]:
    """The settlement each school or candidate site stands in.

    Schools: their ``settlement_id``; candidate sites (no such field): the settlement whose
    cell contains the site, i.e. the nearest settlement in a straight line.
    """
    out = {str(k): str(v) for k, v in county.schools["settlement_id"].items() if isinstance(v, str) and v}
    sites = getattr(county, "candidate_sites", None)
    if sites is not None and len(sites):
        st = county.settlements
        tree = cKDTree(shapely.get_coordinates(st.geometry.to_numpy()))
        _d, idx = tree.query(shapely.get_coordinates(sites.geometry.to_numpy()))
        ids = st.index.astype(str).to_numpy()
        for site, i in zip(sites.index.astype(str), idx, strict=True):
            out[site] = str(ids[i])
    return out


@dataclass(frozen=True)
class CatchmentGraph:
    """What the contiguity and feeder rules need from the county's geography.

    Attributes
    ----------
    edges : DataFrame
        ``a``, ``b``, ``kind``: settlement adjacency links (:func:`adjacency_graph`).
    own : dict
        unit_id (school or candidate site) -> settlement it stands in.
    nodes : tuple of str
        Every settlement id.
    """

    edges: pd.DataFrame
    own: dict[str, str]
    nodes: tuple[str, ...] = ()

    def graph(self) -> nx.Graph:
        """The adjacency graph (every settlement a node)."""
        g = nx.Graph()
        g.add_nodes_from(self.nodes or sorted(set(self.own.values())))
        for a, b, k in self.edges[["a", "b", "kind"]].itertuples(index=False):
            g.add_edge(a, b, kind=k)
        return g


def catchment_graph(county: object, *, roads: bool = True) -> CatchmentGraph:
    """:class:`CatchmentGraph` of a county."""
    g = adjacency_graph(county, roads=roads)
    edges = pd.DataFrame([(a, b, d["kind"]) for a, b, d in g.edges(data=True)], columns=["a", "b", "kind"])
    edges = edges.sort_values(["a", "b"]).reset_index(drop=True)
    return CatchmentGraph(edges=edges, own=own_settlements(county), nodes=tuple(g.nodes))


def attach_catchment_graph(inp: Any, county: object) -> Any:
    """A copy of a ``ModelInputs`` with the county's :class:`CatchmentGraph` as its ``catchment_graph``.

    :func:`planner.plan.instance.model_inputs` does this itself when the scenario's contiguity rule
    is on; this is for instances prepared by hand.
    """
    return replace(inp, catchment_graph=catchment_graph(county))


__all__ = [
    "CatchmentGraph",
    "adjacency_graph",
    "attach_catchment_graph",
    "catchment_graph",
    "cell_links",
    "own_settlements",
    "road_links",
    "settlement_cells",
    "stage_graph",
]
